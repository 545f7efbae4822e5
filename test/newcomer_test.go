package test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/infra/controlplane"
	"github.com/istio-workshop/istio-workshop/internal/paths"
	"github.com/istio-workshop/istio-workshop/test/harness"
)

// TestNewcomersFirstHour follows the README's path without Docker, literally, on a real clone of
// the repository and with no network but loopback: config set, up, verify, diff, token, reset.
// The clone stays clean throughout (no tracked file is written or deleted), the charts come from
// the offline copies without being asked, and after the reset stack step4 is still stage 4.
func TestNewcomersFirstHour(t *testing.T) {
	harness.Require(t)
	clone := filepath.Join(t.TempDir(), "istio-workshop")
	out, err := exec.Command("git", "clone", "--quiet", harness.Root(), clone).CombinedOutput()
	require.NoError(t, err, string(out))
	const cluster = "e2e-newcomer" // not the default name, which a user of this machine may have
	t.Cleanup(func() {
		dir := filepath.Join(paths.ControlPlanes(), cluster)
		if cp, err := controlplane.New(cluster, controlplane.WithDir(dir)); err == nil {
			_ = cp.Stop(context.Background())
		}
	})
	// The user's environment: none of the tests' Pulumi settings, a passphrase of their own.
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "PULUMI_") && !strings.HasPrefix(k, "WORKSHOP_") {
			env = append(env, kv)
		}
	}
	env = append(env, "XDG_CONFIG_HOME="+t.TempDir())
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir, cmd.Env = clone, env
		start := time.Now()
		out, err := cmd.CombinedOutput()
		t.Logf("%s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
		require.NoError(t, err, "%s:\n%s", strings.Join(args, " "), out)
		return string(out)
	}
	clean := func(after string) {
		t.Helper()
		assert.Empty(t, run("git", "status", "--porcelain"), "the clone is clean after %s", after)
	}

	run("scripts/pulumi", "config", "set", "workshop:clusterProvider", "local", "--stack", "step4")
	run("scripts/pulumi", "config", "set", "workshop:clusterName", cluster, "--stack", "step4")
	clean("config set")
	up := run("scripts/pulumi", "up", "--yes", "--skip-preview", "--stack", "step4")
	assert.Contains(t, up, "workshop:chartSource auto: charts from the pinned Go modules, as the official repositories do not answer", "offline, without being told")
	clean("up")
	assert.Contains(t, run("scripts/workshop", "verify", "--stack", "step4"), "0 missing from the cluster, 0 changed")
	assert.Contains(t, run("scripts/workshop", "diff", "4", "5"), "Moving stack step4 from stage 4 to stage 5")
	assert.True(t, strings.HasPrefix(run("scripts/workshop", "token", "alice", "--stack", "step4"), "eyJ"))
	clean("verify, diff and token")
	run("scripts/workshop", "reset", "--yes")
	clean("reset")

	// After the reset, step4 is still stage 4: its preview plans stage 4's components.
	var preview struct {
		Steps []struct {
			URN string `json:"urn"`
		} `json:"steps"`
	}
	raw := run("scripts/pulumi", "preview", "--json", "--stack", "step4")
	require.NoError(t, json.Unmarshal([]byte(raw[strings.Index(raw, "{"):]), &preview), raw)
	var planned []string
	for _, s := range preview.Steps {
		planned = append(planned, s.URN)
	}
	assert.Contains(t, strings.Join(planned, "\n"), "istio-workshop:components:EndUserAuth::end-user-auth", "stage 4")
	assert.NotContains(t, strings.Join(planned, "\n"), "istio-workshop:components:Authorization", "not stage 5")
	clean("a preview after the reset")
}
