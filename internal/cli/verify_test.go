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
	"github.com/istio-workshop/istio-workshop/stages"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`

// verifyEngine holds a live step3 on provider, its probes exported as the program exports them
// for its settings (the CLI reads them back through JSON, as from the Automation API).
func verifyEngine(t *testing.T, provider string) *fakeEngine {
	settings := map[string]string{"workshop:stage": "3", "workshop:clusterProvider": provider}
	cfg, err := stages.Load("step3", settings)
	require.NoError(t, err)
	var probes []any
	raw, err := json.Marshal(stages.Probes(cfg))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &probes))
	return &fakeEngine{
		outputs: map[string]map[string]any{"step3": {"stage": 3.0, "settings": map[string]any{"workshop:stage": "3", "workshop:clusterProvider": provider},
			"clusterProvider": provider, "kubeconfig": kubeconfig, "probes": probes, "rootCa": "CA", "tokens": map[string]any{"alice": "eyJ.alice"}}},
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
	code, stdout, stderr := runCLI([]string{"verify", "--stack", "step3"}, verifyEngine(t, "local"))
	require.Equal(t, OK, code, stderr)
	assert.Equal(t, []verify.Object{{APIVersion: "v1", Kind: "Namespace", Name: "bookinfo"}, {APIVersion: "apps/v1", Kind: "Deployment", Namespace: "bookinfo", Name: "details-v1"}}, *checked,
		"the Kubernetes objects of the state, not charts or the workshop's own resources")
	assert.Contains(t, stdout, "Objects: 2 in the stack, 0 missing")
	assert.Contains(t, stdout, "not run: on the local control plane objects exist but no container runs")
	assert.Contains(t, stdout, "skipped  stage 3 plaintext from outside the mesh is refused: from outside-mesh http://productpage.bookinfo:9080/productpage -> connection refused or reset",
		"the real probes it would run")

	fakeChecks(t, []verify.Object{{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "bookinfo", Name: "details-v1"}}, nil, probe.Answered)
	code, stdout, stderr = runCLI([]string{"verify", "--stack", "step3"}, verifyEngine(t, "local"))
	assert.Equal(t, Failed, code)
	assert.Contains(t, stdout, "missing: Deployment bookinfo/details-v1 (deleted behind the stack's back")
	assert.Contains(t, stderr, "1 object(s) missing")

	fakeChecks(t, nil, map[string][]string{"PeerAuthentication istio-system/default": {`spec.mtls.mode: want "STRICT", got "PERMISSIVE"`}}, probe.Answered)
	code, stdout, stderr = runCLI([]string{"verify", "--stack", "step3"}, verifyEngine(t, "local"))
	assert.Equal(t, Failed, code)
	assert.Contains(t, stdout, "changed: PeerAuthentication istio-system/default (edited behind the stack's back")
	assert.Contains(t, stdout, `    spec.mtls.mode: want "STRICT", got "PERMISSIVE"`)
	assert.Contains(t, stderr, "0 object(s) missing, 1 changed")
}

func TestVerifyRunsTheProbesOnARealCluster(t *testing.T) {
	fakeChecks(t, nil, nil, probe.Answered)
	code, stdout, _ := runCLI([]string{"verify", "--stack", "step3", "--json"}, verifyEngine(t, "kind"))
	assert.Equal(t, Failed, code, "the plaintext probe expects a refusal and got 200")
	var rep verifyReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	pass := map[string]bool{}
	for _, r := range rep.Probes {
		pass[r.Probe.Name] = r.Pass
	}
	assert.Equal(t, map[string]bool{"product page over HTTPS": true, "plain HTTP is redirected": false,
		"plaintext from outside the mesh is refused": false, "mutual TLS inside the mesh passes": true}, pass, "every probe of step 3 ran, each judged")
	assert.False(t, rep.Pass)
	assert.Equal(t, "checked", rep.Traffic)

	fakeChecks(t, nil, nil, probe.Refused)
	code, stdout, _ = runCLI([]string{"verify", "--stack", "step3"}, verifyEngine(t, "kind"))
	assert.Equal(t, Failed, code)
	assert.Contains(t, stdout, "FAIL  stage 2 product page over HTTPS")
	assert.Contains(t, stdout, "PASS  stage 3 plaintext from outside the mesh is refused")

	fakeChecks(t, nil, nil, probe.CouldNotProbe)
	code, stdout, stderr := runCLI([]string{"verify", "--stack", "step3"}, verifyEngine(t, "kind"))
	assert.Equal(t, Failed, code)
	assert.Contains(t, stdout, "FAIL  stage 3 plaintext", "a probe that could not run never passes, even where a refusal is promised")
	assert.Contains(t, stderr, "4 probe(s) failed (4 of them could not probe)")

	code, _, stderr = runCLI([]string{"verify", "--stack", "nope"}, verifyEngine(t, "kind"))
	assert.Equal(t, Failed, code)
	assert.Contains(t, stderr, "reading stack nope")
}

func TestVerifyObjectsOnlySendsNoTraffic(t *testing.T) {
	checked := fakeChecks(t, nil, nil, probe.Answered) // a probe that ran would fail (plaintext expects a refusal)
	code, stdout, stderr := runCLI([]string{"verify", "--stack", "step3", "--objects-only", "--json"}, verifyEngine(t, "kind"))
	require.Equal(t, OK, code, stderr)
	var rep verifyReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	assert.Len(t, *checked, 2, "the objects are checked")
	assert.Empty(t, rep.Probes, "no probe ran")
	assert.Len(t, rep.Skipped, 4)
	assert.Equal(t, "not run: --objects-only", rep.Traffic)
	assert.True(t, rep.Pass)

	code, _, _ = runCLI([]string{"up", "3", "--objects-only"}, verifyEngine(t, "kind"))
	assert.Equal(t, Usage, code, "only verify takes --objects-only")
}

func TestVerifyRefusesProbesItCannotReadBeforeAnyRuns(t *testing.T) {
	ran := false
	fakeChecks(t, nil, nil, probe.Answered)
	hostProbe = func(_ context.Context, p probe.Probe, _ verify.Credentials) probe.Result {
		ran = true
		return probe.Got(p, 200)
	}
	eng := verifyEngine(t, "kind")
	eng.outputs["step3"]["probes"] = append(eng.outputs["step3"]["probes"].([]any), map[string]any{})
	code, _, stderr := runCLI([]string{"verify", "--stack", "step3"}, eng)
	assert.Equal(t, Failed, code)
	assert.Contains(t, stderr, "stack step3: the stack's probes output is not usable")
	assert.Contains(t, stderr, `expect.outcome "" is neither`)
	assert.False(t, ran, "nothing runs")
}

func TestVerifyHoldsTheExportedProbesToTheStagesDefinition(t *testing.T) {
	fakeChecks(t, nil, nil, probe.Answered)
	eng := verifyEngine(t, "local")
	probes := eng.outputs["step3"]["probes"].([]any)
	probes[0].(map[string]any)["expect"] = map[string]any{"outcome": "answered", "status": 201}
	eng.outputs["step3"]["probes"] = probes[:len(probes)-1]
	code, stdout, stderr := runCLI([]string{"verify", "--stack", "step3"}, eng)
	assert.Equal(t, Failed, code, "on the local control plane too: no traffic, but the probes are the stages' own")
	assert.Contains(t, stdout, `differs: probe "product page over HTTPS" of stage 2: the stack expects HTTP 201, the stage defines HTTP 200`)
	assert.Contains(t, stdout, `differs: stage 3 defines probe "mutual TLS inside the mesh passes", the stack does not export it`)
	assert.Contains(t, stderr, "2 probe(s) not as the stages define")
}
