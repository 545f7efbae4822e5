package cli

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExplainPrintsTheStagesGuide(t *testing.T) {
	code, stdout, _ := runCLI([]string{"explain", "5"}, nil)
	require.Equal(t, OK, code)
	assert.Contains(t, stdout, "Best practices:")
	assert.Contains(t, stdout, "istioctl waypoint status -n bookinfo")
	assert.Contains(t, stdout, "(ambient mode)")
}

func TestTroubleshootRunsTheReadOnlyCommandsOfTheStacksStagesAndMode(t *testing.T) {
	defer func(l func(string) (string, error), r func(context.Context, []string, string, ...string) (string, error)) {
		lookPath, runCommand = l, r
	}(lookPath, runCommand)
	lookPath = func(name string) (string, error) {
		if name == "istioctl" {
			return "", errors.New("not found")
		}
		return "/usr/bin/" + name, nil
	}
	var ran []string
	runCommand = func(_ context.Context, env []string, name string, args ...string) (string, error) {
		require.Len(t, env, 1)
		kc, err := os.ReadFile(strings.TrimPrefix(env[0], "KUBECONFIG="))
		require.NoError(t, err, "the stack's kubeconfig is in a file while the commands run")
		assert.Equal(t, "apiVersion: v1\n", string(kc))
		line := name + " " + strings.Join(args, " ")
		ran = append(ran, line)
		if strings.Contains(line, "certificates") {
			return "error: the server doesn't have a resource type", errors.New("exit status 1")
		}
		return "ok", nil
	}
	eng := &fakeEngine{outputs: map[string]map[string]any{"step2": {"stage": 2.0, "meshMode": "sidecar", "kubeconfig": "apiVersion: v1\n"}}}
	code, stdout, stderr := runCLI([]string{"troubleshoot", "--stack", "step2"}, eng)
	assert.Equal(t, Failed, code)
	assert.Equal(t, []string{
		"kubectl get nodes",
		"kubectl get crd -o name",
		"kubectl get pods -n istio-system",
		"kubectl get namespace bookinfo --show-labels",
		"kubectl get certificates.cert-manager.io -n istio-ingress",
	}, ran, "read-only commands of stages 0-2, not curl or exec; istioctl is skipped")
	assert.Contains(t, stdout, "skipped: istioctl is not installed")
	assert.NotContains(t, stdout, "ztunnel", "no ambient-mode command on a sidecar stack")
	assert.Contains(t, stdout, "5 command(s) run, 1 failed, 4 skipped")
	assert.Contains(t, stderr, "kubectl get certificates.cert-manager.io -n istio-ingress")

	code, _, stderr = runCLI([]string{"troubleshoot"}, eng)
	assert.Equal(t, Usage, code)
	assert.Contains(t, stderr, "needs --stack")
}

func TestShellJoinQuotes(t *testing.T) {
	assert.Equal(t, `sh -c 'a | b' x`, shellJoin([]string{"sh", "-c", "a | b", "x"}))
}
