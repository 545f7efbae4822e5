package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/test/harness"
)

// TestWorkshopCLI drives a stack through the presenter's CLI (Automation API, real engine, local
// control plane): up, verify, a deletion behind the stack's back that verify catches, a diff to
// the next stage, then reset, which leaves no stack, process, port or directory behind.
func TestWorkshopCLI(t *testing.T) {
	harness.Require(t)
	p := harness.NewProject(t)
	for _, n := range []string{"1", "2"} {
		p.WriteStack("step"+n, map[string]string{
			"workshop:stage":           n,
			"workshop:meshMode":        "sidecar",
			"workshop:clusterProvider": "local",
			"workshop:clusterName":     "e2e-cli",
			"workshop:chartSource":     "module",
		})
	}
	must := func(args ...string) harness.Result {
		t.Helper()
		r := p.Workshop(args...)
		require.NoError(t, r.Err, r.String())
		return r
	}

	up := must("up", "1", "--json")
	var applied struct {
		Changes []struct {
			Kind   string `json:"kind"`
			Create int    `json:"create"`
		} `json:"changes"`
		NotCreates []any `json:"notCreates"`
	}
	require.NoError(t, json.Unmarshal([]byte(up.Stdout), &applied), up.String())
	creates := map[string]int{}
	for _, c := range applied.Changes {
		creates[c.Kind] = c.Create
	}
	assert.Equal(t, 1, creates["LocalControlPlane"])
	assert.GreaterOrEqual(t, creates["Deployment"], 6, "Bookinfo's deployments")
	assert.Empty(t, applied.NotCreates, "an up from empty only creates")

	v := must("verify", "--stack", "step1")
	assert.Contains(t, v.Stdout, "0 missing from the cluster, 0 not checked")
	assert.Contains(t, v.Stdout, "not run: on the local control plane")

	cpDir := filepath.Join(p.Cache, "controlplanes", "e2e-cli")
	kc := filepath.Join(cpDir, "kubeconfig")
	harness.Kubectl(t, kc, "delete", "deployment", "-n", "bookinfo", "details-v1")
	v = p.Workshop("verify", "--stack", "step1")
	require.Error(t, v.Err, "an object deleted behind the stack's back fails verify")
	assert.Contains(t, v.Stdout, "missing: Deployment bookinfo/details-v1")

	d := must("diff", "1", "2", "--json")
	var moved struct {
		Changes    []map[string]any `json:"changes"`
		NotCreates []struct {
			Op   string `json:"op"`
			Type string `json:"type"`
		} `json:"notCreates"`
	}
	require.NoError(t, json.Unmarshal([]byte(d.Stdout), &moved), d.String())
	assert.NotEmpty(t, moved.Changes)
	for _, s := range moved.NotCreates {
		// The ingress Gateway gains HTTPS; the deleted Deployment is put back.
		assert.Contains(t, []string{"kubernetes:networking.istio.io/v1:Gateway", "kubernetes:apps/v1:Deployment"}, s.Type, "%+v", s)
	}

	stateBefore, err := os.ReadFile(filepath.Join(cpDir, "state.json"))
	require.NoError(t, err)
	var cp struct {
		Ports map[string]int `json:"ports"`
	}
	require.NoError(t, json.Unmarshal(stateBefore, &cp))
	r := must("reset", "--yes")
	assert.Contains(t, r.Stdout, "1 stack(s) destroyed; no stack, cluster, control plane")
	assert.Empty(t, harness.Processes(cpDir), "no control plane process is left")
	for name, port := range cp.Ports {
		assert.False(t, harness.Listening(port), "port %d (%s) is closed", port, name)
	}
	_, err = os.Stat(cpDir)
	assert.True(t, os.IsNotExist(err), "the control plane's directory is removed")
	assert.Contains(t, must("reset", "--yes").Stdout, "0 stack(s) destroyed", "a second reset finds nothing to do")
}
