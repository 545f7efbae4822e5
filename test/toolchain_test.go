package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/paths"
	"github.com/istio-workshop/istio-workshop/test/harness"
)

// The README's first command on a fresh machine without internet fails in the toolchain's first
// build: it ends in one message that says why and what to do.
func TestAFirstRunOfflineSaysWhatToDo(t *testing.T) {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "PATH" && k != "GOFLAGS" && k != "GOPROXY" && !strings.HasPrefix(k, "WORKSHOP_") && !strings.HasPrefix(k, "PULUMI_") {
			env = append(env, kv)
		}
	}
	goBin, err := exec.LookPath("go")
	require.NoError(t, err)
	fresh := t.TempDir()
	env = append(env, "PATH="+filepath.Dir(goBin)+":/usr/bin:/bin", "WORKSHOP_CACHE="+filepath.Join(fresh, "cache"),
		"GOMODCACHE="+filepath.Join(fresh, "gomod"), "GOPROXY=off", "GOFLAGS=-mod=mod", "XDG_CONFIG_HOME="+filepath.Join(fresh, "config"))
	cmd := exec.Command(filepath.Join(harness.Root(), "scripts", "toolchain"), "install", "core")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.Error(t, err, string(out))
	last := strings.TrimSpace(string(out))
	last = last[strings.LastIndex(last, "\n")+1:]
	assert.Contains(t, last, "toolchain: error: building pulumi failed")
	assert.Contains(t, last, "A first run builds from the Go module proxy (off): without internet it cannot; run it once while online")
}

// A user who already has the official Pulumi CLI (with its Go language host) and Kubernetes plugin
// of the pinned versions gets them used, not rebuilt: here the toolchain's own builds stand in for
// them, installed where a user's would be (~/.pulumi), and a fresh cache builds only the
// workshop's provider, offline.
func TestAUsersOwnPulumiAtThePinnedVersionsIsUsed(t *testing.T) {
	harness.Require(t)
	home := t.TempDir()
	bin := filepath.Join(home, ".pulumi", "bin")
	pulumiVersion := requiredVersion(t, "tools/pulumi/go.mod", "github.com/pulumi/pulumi/pkg/v3")
	k8sPlugin := filepath.Join(home, ".pulumi", "plugins", "resource-kubernetes-"+requiredVersion(t, "tools/kubernetes-provider/go.mod", "github.com/pulumi/pulumi-kubernetes/sdk/v4"))
	require.NoError(t, os.MkdirAll(bin, 0o700))
	require.NoError(t, os.MkdirAll(k8sPlugin, 0o700))
	for _, f := range []string{"pulumi", "pulumi-language-go"} {
		copyFile(t, filepath.Join(paths.ToolsBin(), f), filepath.Join(bin, f))
	}
	copyFile(t, filepath.Join(paths.Cache(), "plugins", "pulumi-resource-kubernetes"), filepath.Join(k8sPlugin, "pulumi-resource-kubernetes"))

	goBin, err := exec.LookPath("go")
	require.NoError(t, err)
	goEnv := func(k string) string {
		out, err := exec.Command("go", "env", k).Output()
		require.NoError(t, err)
		return strings.TrimSpace(string(out))
	}
	fresh := t.TempDir()
	env := []string{"HOME=" + home, "PATH=" + bin + ":" + filepath.Dir(goBin) + ":/usr/bin:/bin",
		"WORKSHOP_CACHE=" + filepath.Join(fresh, "cache"), "XDG_CONFIG_HOME=" + filepath.Join(fresh, "config"),
		"GOMODCACHE=" + goEnv("GOMODCACHE"), "GOCACHE=" + goEnv("GOCACHE"), "GOPROXY=off", "GOFLAGS=-mod=mod"}
	cmd := exec.Command(filepath.Join(harness.Root(), "scripts", "toolchain"), "install", "core")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "toolchain: using your Pulumi CLI "+pulumiVersion+" at "+filepath.Join(bin, "pulumi"))
	assert.Contains(t, string(out), "toolchain: using your Kubernetes plugin at "+filepath.Join(k8sPlugin, "pulumi-resource-kubernetes"))
	assert.NotContains(t, string(out), "building pulumi")
	assert.NotContains(t, string(out), "building langhost")
	assert.NotContains(t, string(out), "building kubernetes_provider")
	assert.Contains(t, string(out), "building workshop_provider", "only what the user cannot have")

	// The workshop's environment then runs the user's CLI, with both plugins installed for it.
	cmd = exec.Command("bash", "-c", `eval "$(scripts/toolchain env)" && command -v pulumi && pulumi plugin ls`)
	cmd.Dir, cmd.Env = harness.Root(), env
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), filepath.Join(bin, "pulumi"))
	assert.Contains(t, string(out), "kubernetes")
	assert.Contains(t, string(out), "workshop")
}

// requiredVersion is the version the go.mod at file (relative to the repo) requires of module.
func requiredVersion(t *testing.T, file, module string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(harness.Root(), file))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^\s*(?:require )?` + regexp.QuoteMeta(module) + ` (v\S+)`).FindStringSubmatch(string(raw))
	require.NotNil(t, m, "%s requires no %s", file, module)
	return m[1]
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	raw, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, raw, 0o755))
}
