package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/paths"
	"github.com/istio-workshop/istio-workshop/stages"
	"github.com/istio-workshop/istio-workshop/test/harness"
)

// TestStep0OnLocalControlPlane applies stack step0 with provider local through the real CLI:
// up starts the control plane and checks it, a second preview changes nothing, destroy leaves no
// process, port, directory or state behind.
func TestStep0OnLocalControlPlane(t *testing.T) {
	harness.Require(t)
	p := harness.NewProject(t)
	p.WriteStack("step0", map[string]string{
		"workshop:stage":           "0",
		"workshop:clusterProvider": "local",
		"workshop:clusterName":     "e2e-step0",
	})
	p.MustPulumi("stack", "init", "step0")
	home, _ := os.UserHomeDir()
	userKubeconfig := filepath.Join(home, ".kube", "config")
	kubeconfigBefore, _ := os.ReadFile(userKubeconfig)

	up := p.MustPulumi("up", "--yes", "--stack", "step0")
	assert.NotContains(t, up.Stdout+up.Stderr, "downloading", "no plugin download is attempted")
	// The engine's automatic debug log costs two thirds of its CPU (scripts/toolchain): the
	// workshop's Pulumi home keeps it from being written.
	logs, err := os.Stat(filepath.Join(paths.PulumiHome(), "logs"))
	require.NoError(t, err)
	assert.False(t, logs.IsDir(), "no automatic debug log directory in the workshop's Pulumi home")

	var outputs map[string]any
	out := p.MustPulumi("stack", "output", "--json", "--stack", "step0")
	require.NoError(t, json.Unmarshal([]byte(out.Stdout), &outputs))
	assert.Equal(t, true, outputs["defaultState"], "stage 0 checked the cluster's default state")
	assert.Equal(t, "e2e-step0", outputs["clusterName"])
	assert.Equal(t, "local-e2e-step0", outputs["contextName"])
	assert.Equal(t, "[secret]", outputs["kubeconfig"], "the kubeconfig output is secret")

	cpDir := filepath.Join(p.Cache, "controlplanes", "e2e-step0")
	cpState := harness.ReadControlPlaneState(t, cpDir) // under the workshop cache
	require.NotEmpty(t, harness.Processes(cpDir), "the control plane runs")

	export := p.MustPulumi("stack", "export", "--stack", "step0")
	assert.NotContains(t, export.Stdout, "BEGIN EC PRIVATE KEY", "no private key in plain state")
	assert.NotContains(t, export.Stdout, "client-key-data", "no kubeconfig in plain state")

	p.MustPulumi("preview", "--expect-no-changes", "--stack", "step0")
	second := p.MustPulumi("up", "--yes", "--stack", "step0")
	assert.Contains(t, second.Stdout, "unchanged", "a second up is a no-op")
	assert.NotContains(t, second.Stdout, "updated")

	p.MustPulumi("destroy", "--yes", "--stack", "step0")
	assert.Empty(t, harness.Processes(cpDir), "no process of the control plane is left")
	_, err = os.Stat(cpDir)
	assert.True(t, os.IsNotExist(err), "the control plane directory is removed")
	for name, port := range cpState.Ports {
		assert.False(t, harness.Listening(port), "port %d (%s) is closed", port, name)
	}
	ls := p.MustPulumi("stack", "ls", "--json")
	assert.Contains(t, ls.Stdout, `"resourceCount": 0`, "destroy leaves no resource in state")
	kubeconfigAfter, _ := os.ReadFile(userKubeconfig)
	assert.Equal(t, string(kubeconfigBefore), string(kubeconfigAfter), "the user's kubeconfig gains and keeps no context")
}

// TestBadConfigChangesNothing: validation fails the preview and the up with every problem named,
// and nothing is created.
func TestBadConfigChangesNothing(t *testing.T) {
	harness.Require(t)
	p := harness.NewProject(t)
	p.WriteStack("bad", map[string]string{
		"workshop:stage":           fmt.Sprint(stages.Last() + 1),
		"workshop:meshMode":        "istio",
		"workshop:clusterProvider": "local",
		"workshop:httpPort":        "70000",
	})
	p.MustPulumi("stack", "init", "bad")
	for _, cmd := range [][]string{{"preview"}, {"up", "--yes"}} {
		r := p.Pulumi(append(cmd, "--stack", "bad")...)
		require.Error(t, r.Err, r.String())
		all := r.Stdout + r.Stderr
		for _, want := range []string{"workshop:stage", fmt.Sprintf("is not a stage (0–%d)", stages.Last()), "workshop:meshMode", "ambient or sidecar", "workshop:httpPort", "nothing was changed"} {
			assert.Contains(t, all, want)
		}
	}
	ls := p.MustPulumi("stack", "ls", "--json")
	assert.True(t, strings.Contains(ls.Stdout, `"resourceCount": 0`) || !strings.Contains(ls.Stdout, "resourceCount"), ls.Stdout)
	assert.NoDirExists(t, filepath.Join(p.Cache, "controlplanes"), "no control plane was started")
}

// TestAnalyzeFindsABrokenReference: the analysis the stage tests rely on does report an error
// (a VirtualService bound to a Gateway that does not exist), so its "clean" means something.
func TestAnalyzeFindsABrokenReference(t *testing.T) {
	harness.Require(t)
	list := `apiVersion: v1
kind: List
items:
- apiVersion: networking.istio.io/v1
  kind: VirtualService
  metadata: {name: vs, namespace: bookinfo}
  spec:
    hosts: [bookinfo.localhost]
    gateways: [nonexistent]
    http: [{route: [{destination: {host: productpage}}]}]
`
	report, clean := harness.AnalyzeList(t, list)
	assert.False(t, clean, report)
	assert.Contains(t, report, "IST0101")
}
