package test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/test/harness"
)

// TestKilledUpRecovers: `pulumi up` of stage 5 is killed with SIGKILL at a random point; the
// documented recovery (`workshop recover`) converges to a clean stage 5, and destroy returns the
// cluster to its snapshot, with an object that was there before and is not ours intact.
func TestKilledUpRecovers(t *testing.T) {
	harness.Require(t)
	cp := harness.SharedControlPlane(t, "e2e-faults", 1)
	kc := cp.KubeconfigPath()
	// Not ours, in a default namespace (stage 0 refuses a cluster with other namespaces).
	harness.Kubectl(t, kc, "create", "configmap", "-n", "default", "keep-me", "--from-literal=k=v")
	before := harness.Snapshot(t, kc)

	p := harness.NewProject(t)
	p.WriteStack("step5", stackOn(kc, "5", "ambient"))
	p.MustPulumi("stack", "init", "step5")

	after := time.Duration(10+rand.IntN(40)) * time.Second
	t.Logf("killing pulumi up %s after it starts", after)
	run := p.Start("up", "--yes", "--stack", "step5")
	time.Sleep(after)
	require.Nil(t, run.Cmd.ProcessState, "the up was still running when killed:\n%s", run.Stdout)
	run.Kill()
	t.Logf("output when killed:\n%s", tail(run.Stdout.String(), 15))

	r := p.Workshop("recover", "--stack", "step5")
	require.NoError(t, r.Err, r.String())
	p.MustPulumi("preview", "--expect-no-changes", "--stack", "step5")
	deploys := harness.Kubectl(t, kc, "get", "deployments", "-A", "-o", "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}={.status.readyReplicas} {end}")
	for _, d := range []string{"istio-system/istiod=1", "bookinfo/productpage-v1=1", "cert-manager/cert-manager=1"} {
		assert.Contains(t, deploys, d)
	}
	assert.Contains(t, harness.Kubectl(t, kc, "get", "authorizationpolicies.security.istio.io", "-n", "bookinfo", "-o", "name"), "deny-all")

	p.MustPulumi("destroy", "--yes", "--stack", "step5")
	assert.Equal(t, before, harness.Snapshot(t, kc), "destroy after recovery leaves the cluster as it was")
	assert.Equal(t, "v", harness.Kubectl(t, kc, "get", "configmap", "-n", "default", "keep-me", "-o", "jsonpath={.data.k}"), "what was not ours is intact")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
