package cli

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/internal/verify"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`

func verifyEngine(provider string) *fakeEngine {
	probes := []any{
		map[string]any{"stage": 2, "name": "https", "from": "host", "url": "https://bookinfo.localhost/productpage", "caCert": true, "persona": "alice", "expect": map[string]any{"outcome": "answered", "status": 200}},
		map[string]any{"stage": 3, "name": "plaintext", "from": "outside-mesh", "url": "http://productpage.bookinfo:9080/productpage", "expect": map[string]any{"outcome": "refused"}},
	}
	return &fakeEngine{
		outputs: map[string]map[string]any{"step3": {"stage": 3.0, "clusterProvider": provider, "kubeconfig": kubeconfig, "probes": probes,
			"rootCa": "CA", "tokens": map[string]any{"alice": "eyJ.alice"}}},
		resources: []Resource{
			{Type: "kubernetes:core/v1:Namespace", Outputs: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "bookinfo"}}},
			{Type: "kubernetes:helm.sh/v4:Chart", Outputs: map[string]any{"resources": []any{}}},
			{Type: "kubernetes:apps/v1:Deployment", Outputs: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "details-v1", "namespace": "bookinfo"}}},
			{Type: "workshop:index:LocalControlPlane", Outputs: map[string]any{"name": "x"}},
		},
	}
}

// fakeChecks replaces verify's checks; missing are the objects to report gone, drifted the
// edited ones, got the outcome every probe gets (an answer with status 200).
func fakeChecks(t *testing.T, missing []verify.Object, drifted map[string][]string, got probe.Outcome) *[]verify.Object {
	t.Helper()
	m, h, c := checkObjects, hostProbe, clusterProbe
	t.Cleanup(func() { checkObjects, hostProbe, clusterProbe = m, h, c })
	var checked []verify.Object
	checkObjects = func(_ context.Context, cfg *rest.Config, objs []verify.Object) (verify.Checked, error) {
		assert.Equal(t, "https://127.0.0.1:6443", cfg.Host, "the stack's own cluster")
		checked = objs
		res := verify.Checked{Missing: missing}
		if len(missing) == 0 && drifted != nil {
			res.Drifted = drifted
		}
		return res, nil
	}
	answer := func(p probe.Probe, c verify.Credentials) probe.Result {
		assert.Equal(t, "eyJ.alice", c.Tokens["alice"])
		status := 0
		if got == probe.Answered {
			status = 200
		}
		return probe.Judge(p, got, status, false, "")
	}
	hostProbe = func(_ context.Context, p probe.Probe, c verify.Credentials) probe.Result { return answer(p, c) }
	clusterProbe = func(_ context.Context, _ *rest.Config, p probe.Probe, c verify.Credentials) probe.Result {
		return answer(p, c)
	}
	return &checked
}

func TestVerifyOnTheLocalControlPlaneChecksObjectsOnly(t *testing.T) {
	checked := fakeChecks(t, nil, nil, probe.Answered)
	code, stdout, stderr := runCLI([]string{"verify", "--stack", "step3"}, verifyEngine("local"))
	require.Equal(t, OK, code, stderr)
	assert.Equal(t, []verify.Object{{APIVersion: "v1", Kind: "Namespace", Name: "bookinfo"}, {APIVersion: "apps/v1", Kind: "Deployment", Namespace: "bookinfo", Name: "details-v1"}}, *checked,
		"the Kubernetes objects of the state, not charts or the workshop's own resources")
	assert.Contains(t, stdout, "Objects: 2 in the stack, 0 missing")
	assert.Contains(t, stdout, "not run: on the local control plane objects exist but no container runs")
	assert.Contains(t, stdout, "skipped  stage 3 plaintext")

	fakeChecks(t, []verify.Object{{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "bookinfo", Name: "details-v1"}}, nil, probe.Answered)
	code, stdout, stderr = runCLI([]string{"verify", "--stack", "step3"}, verifyEngine("local"))
	assert.Equal(t, Failed, code)
	assert.Contains(t, stdout, "missing: Deployment bookinfo/details-v1 (deleted behind the stack's back")
	assert.Contains(t, stderr, "1 object(s) missing")

	fakeChecks(t, nil, map[string][]string{"PeerAuthentication istio-system/default": {`spec.mtls.mode: want "STRICT", got "PERMISSIVE"`}}, probe.Answered)
	code, stdout, stderr = runCLI([]string{"verify", "--stack", "step3"}, verifyEngine("local"))
	assert.Equal(t, Failed, code)
	assert.Contains(t, stdout, "changed: PeerAuthentication istio-system/default (edited behind the stack's back")
	assert.Contains(t, stdout, `    spec.mtls.mode: want "STRICT", got "PERMISSIVE"`)
	assert.Contains(t, stderr, "0 object(s) missing, 1 changed")
}

func TestVerifyRunsTheProbesOnARealCluster(t *testing.T) {
	fakeChecks(t, nil, nil, probe.Answered)
	code, stdout, _ := runCLI([]string{"verify", "--stack", "step3", "--json"}, verifyEngine("kind"))
	assert.Equal(t, Failed, code, "the plaintext probe expects a refusal and got 200")
	var rep verifyReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	require.Len(t, rep.Probes, 2)
	assert.True(t, rep.Probes[0].Pass)
	assert.False(t, rep.Probes[1].Pass)
	assert.False(t, rep.Pass)
	assert.Equal(t, "checked", rep.Traffic)

	fakeChecks(t, nil, nil, probe.Refused)
	code, stdout, _ = runCLI([]string{"verify", "--stack", "step3"}, verifyEngine("kind"))
	assert.Equal(t, Failed, code)
	assert.Contains(t, stdout, "FAIL  stage 2 https")
	assert.Contains(t, stdout, "PASS  stage 3 plaintext")

	fakeChecks(t, nil, nil, probe.CouldNotProbe)
	code, stdout, stderr := runCLI([]string{"verify", "--stack", "step3"}, verifyEngine("kind"))
	assert.Equal(t, Failed, code)
	assert.Contains(t, stdout, "FAIL  stage 3 plaintext", "a probe that could not run never passes, even where a refusal is promised")
	assert.Contains(t, stderr, "2 probe(s) failed (2 of them could not probe)")

	code, _, stderr = runCLI([]string{"verify", "--stack", "nope"}, verifyEngine("kind"))
	assert.Equal(t, Failed, code)
	assert.Contains(t, stderr, "reading stack nope")
}

func TestVerifyObjectsOnlySendsNoTraffic(t *testing.T) {
	checked := fakeChecks(t, nil, nil, probe.Answered) // a probe that ran would fail (plaintext expects a refusal)
	code, stdout, stderr := runCLI([]string{"verify", "--stack", "step3", "--objects-only", "--json"}, verifyEngine("kind"))
	require.Equal(t, OK, code, stderr)
	var rep verifyReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	assert.Len(t, *checked, 2, "the objects are checked")
	assert.Empty(t, rep.Probes, "no probe ran")
	assert.Len(t, rep.Skipped, 2)
	assert.Equal(t, "not run: --objects-only", rep.Traffic)
	assert.True(t, rep.Pass)

	code, _, _ = runCLI([]string{"up", "3", "--objects-only"}, verifyEngine("kind"))
	assert.Equal(t, Usage, code, "only verify takes --objects-only")
}

func TestVerifyRefusesProbesItCannotReadBeforeAnyRuns(t *testing.T) {
	ran := false
	fakeChecks(t, nil, nil, probe.Answered)
	hostProbe = func(_ context.Context, p probe.Probe, _ verify.Credentials) probe.Result {
		ran = true
		return probe.Got(p, 200)
	}
	eng := verifyEngine("kind")
	eng.outputs["step3"]["probes"] = []any{map[string]any{}}
	code, _, stderr := runCLI([]string{"verify", "--stack", "step3"}, eng)
	assert.Equal(t, Failed, code)
	assert.Contains(t, stderr, "stack step3: the stack's probes output is not usable")
	assert.Contains(t, stderr, `expect.outcome "" is neither`)
	assert.False(t, ran, "nothing runs")
}
