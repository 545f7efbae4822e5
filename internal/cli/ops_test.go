package cli

import (
	"strings"

	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/leftovers"
)

const ns = "kubernetes:core/v1:Namespace"

func urn(typ, name string) string { return "urn:pulumi:step3::istio-workshop::" + typ + "::" + name }

const authz = "istio-workshop:components:Authorization$"

var stageMoveSteps = []Step{
	{Op: "same", Type: "pulumi:pulumi:Stack", URN: urn("pulumi:pulumi:Stack", "istio-workshop-step3")},
	{Op: "create", Type: "istio-workshop:components:Authorization", URN: urn("istio-workshop:components:Authorization", "authorization")},
	{Op: "create", Type: "kubernetes:security.istio.io/v1:AuthorizationPolicy", URN: urn(authz+"kubernetes:security.istio.io/v1:AuthorizationPolicy", "bookinfo-deny-all"), Object: "bookinfo/deny-all"},
	{Op: "create", Type: "kubernetes:security.istio.io/v1:AuthorizationPolicy", URN: urn(authz+"kubernetes:security.istio.io/v1:AuthorizationPolicy", "bookinfo-allow-details"), Object: "bookinfo/allow-details"},
	{Op: "update", Type: ns, URN: urn("istio-workshop:components:Bookinfo$"+ns, "bookinfo"), Object: "bookinfo",
		Changed: []FieldChange{{Path: `metadata.labels["istio.io/use-waypoint"]`, Kind: "add", New: `"waypoint"`}}},
	{Op: "replace", Type: "workshop:index:Token", URN: urn("istio-workshop:components:EndUserAuth$workshop:index:Token", "alice"), ReplaceBecause: []string{"claims"},
		Changed: []FieldChange{{Path: "claims.groups", Kind: "update-replace", Old: `["bookinfo-readers"]`, New: `["bookinfo-readers","beta-testers"]`}}},
	{Op: "create-replacement", Type: "workshop:index:Token", URN: urn("istio-workshop:components:EndUserAuth$workshop:index:Token", "alice")},
	{Op: "delete", Type: "kubernetes:apps/v1:Deployment", URN: urn("kubernetes:apps/v1:Deployment", "old"), Object: "bookinfo/old"},
	{Op: "same", Type: ns, URN: urn(ns, "istio-system")},
}

func TestSummarizeCountsChangesByKind(t *testing.T) {
	assert.Equal(t, []Changes{
		{Kind: "AuthorizationPolicy", Create: 2},
		{Kind: "Deployment", Delete: 1},
		{Kind: "Namespace", Update: 1},
		{Kind: "Token", Replace: 1},
	}, Summarize(stageMoveSteps), "components and the stack are not kinds; a replacement counts once")
	var names []string
	for _, s := range Changing(stageMoveSteps) {
		names = append(names, s.Op+" "+s.Name())
	}
	assert.Equal(t, []string{"update bookinfo", "replace alice", "delete old"}, names)
}

// inProject runs the test in a project directory holding a user's stack files: step3 with a
// setting of its own, dev at stage 4.
func inProject(t *testing.T) {
	t.Helper()
	stackFiles(t, map[string]string{
		"dev":   "config:\n  workshop:stage: \"4\"\n",
		"step3": "encryptionsalt: v1:abc\nconfig:\n  workshop:meshMode: sidecar\n",
	})
}

func TestStacksAtAnotherStageAreRefusedBeforeTheEngineRuns(t *testing.T) {
	inProject(t)
	file := func(stack string) string { return filepath.Join(StacksDir, "Pulumi."+stack+".yaml") }
	require.NoError(t, os.WriteFile(file("step5"), []byte("config:\n  workshop:stage: \"5\"\n   workshop:meshMode: ambient\n"), 0o644))
	require.NoError(t, os.WriteFile(file("step6"), []byte("config:\n  workshop:stage: \"7\"\n"), 0o644))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"up", "5"}, "stacks/Pulumi.step5.yaml is not a valid stack file: error converting YAML to JSON: yaml: line 2: did not find expected key (fix the YAML, or delete the file to start again from the defaults)"},
		{[]string{"preview", "6"}, "stacks/Pulumi.step6.yaml sets workshop:stage 7, not 6: name stage 7 in the command, or `scripts/pulumi config rm workshop:stage --stack step6` (stack stepN is stage N)"},
		{[]string{"up", "3", "--stack", "dev"}, "stacks/Pulumi.dev.yaml sets workshop:stage 4, not 3"},
		{[]string{"up", "3", "--stack", "step4"}, "stack step4 is stage 4 by its name, not 3: name stage 4 in the command, or use stack step3"},
		{[]string{"up", "4", "--stack", "mine"}, "stack mine is not named stepN and sets no workshop:stage: `scripts/pulumi config set workshop:stage 4 --stack mine` first"},
		{[]string{"diff", "4", "5", "--stack", "dev"}, "stacks/Pulumi.dev.yaml"},
	} {
		if c.args[0] == "diff" {
			require.NoError(t, os.WriteFile(file("dev"), []byte("config: [\n"), 0o644))
		}
		eng := &fakeEngine{outputs: map[string]map[string]any{"step4": {"stage": 4.0}, "dev": {"stage": 4.0}}}
		code, _, stderr := runCLI(c.args, eng)
		assert.Equal(t, Usage, code, "%v", c.args)
		assert.Contains(t, stderr, c.want, "%v", c.args)
		assert.Empty(t, eng.ran, "%v: the engine never ran", c.args)
		assert.NotContains(t, stderr, "usage:", "%v: the command line was right", c.args)
	}
}

func TestAStageStackNeedsNoFile(t *testing.T) {
	inProject(t)
	eng := &fakeEngine{}
	code, _, stderr := runCLI([]string{"up", "2"}, eng)
	require.Equal(t, OK, code, stderr)
	assert.Equal(t, []string{"up step2"}, eng.ran, "Pulumi makes the file on first use; the name is the stage")
}

func TestDiffPreviewsTheLiveStackWithTheOtherStagesFile(t *testing.T) {
	inProject(t)
	eng := &fakeEngine{outputs: map[string]map[string]any{"step3": {"stage": 3.0, "clusterName": "istio-workshop-step3", "clusterProvider": "local"}}, steps: stageMoveSteps}
	code, stdout, stderr := runCLI([]string{"diff", "3", "5"}, eng)
	require.Equal(t, OK, code, stderr)
	assert.Equal(t, []string{"preview step3 with config:\n  workshop:meshMode: sidecar\n  workshop:stage: \"5\"\nencryptionsalt: v1:abc"}, eng.ran,
		"the stack keeps its name (so its cluster), its settings and Pulumi's salt; only the stage changes")
	_, err := os.Stat(filepath.Join(StacksDir, "Pulumi.step5.yaml"))
	assert.True(t, os.IsNotExist(err), "no stack file is written in the project")
	raw, err := os.ReadFile(filepath.Join(StacksDir, "Pulumi.step3.yaml"))
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "workshop:stage", "the stack's own file is not touched")
	assert.NotContains(t, stdout, "(pulumi's diff)", "Pulumi's whole diff only with --full")
	assert.Contains(t, stdout, "Moving stack step3 from stage 3 to stage 5 (Authorization policies), on cluster istio-workshop-step3 (local): a preview, nothing is changed")
	assert.Regexp(t, `AuthorizationPolicy\s+2\s+0\s+0\s+0`, stdout)
	assert.Regexp(t, `total\s+2\s+1\s+1\s+1`, stdout)
	assert.Contains(t, stdout, "update Namespace bookinfo")

	_, full, _ := runCLI([]string{"diff", "3", "5", "--full"}, eng)
	assert.Contains(t, full, "(pulumi's diff)")

	eng.ran = nil
	code, stdout, _ = runCLI([]string{"diff", "3", "5", "--json"}, eng)
	assert.Contains(t, stdout, `"changed"`, "each update's fields, for scripts too")
	require.Equal(t, OK, code)
	assert.NotContains(t, stdout, "(pulumi's diff)", "JSON only, for scripts")
	var got struct {
		Stack      string    `json:"stack"`
		To         int       `json:"to"`
		Changes    []Changes `json:"changes"`
		NotCreates []Step    `json:"notCreates"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &got), stdout)
	assert.Equal(t, "step3", got.Stack)
	assert.Equal(t, 5, got.To)
	assert.Len(t, got.Changes, 4)
	assert.Len(t, got.NotCreates, 3)

	code, _, stderr = runCLI([]string{"diff", "2", "5"}, eng)
	assert.Equal(t, Failed, code)
	assert.Contains(t, stderr, "run `workshop up` first")
}

func TestUpAndPreviewRunTheStagesStack(t *testing.T) {
	inProject(t)
	eng := &fakeEngine{steps: stageMoveSteps[:3]}
	code, stdout, stderr := runCLI([]string{"up", "5"}, eng)
	require.Equal(t, OK, code, stderr)
	code, _, _ = runCLI([]string{"preview", "4", "--stack", "dev"}, eng)
	require.Equal(t, OK, code)
	assert.Equal(t, []string{"up step5", "preview dev"}, eng.ran)
	assert.Contains(t, stdout, "Stack step5 at stage 5 (Authorization policies): what up changed")

	eng.runErr = map[string]error{"step1": errors.New("policy violations")}
	code, _, stderr = runCLI([]string{"up", "1"}, eng)
	assert.Equal(t, Failed, code)
	assert.Contains(t, stderr, "up of stack step1: policy violations")
}

func TestProgressOnlyOnATerminal(t *testing.T) {
	var lines []string
	out := IO{Terminal: true, Stderr: writerFunc(func(p []byte) { lines = append(lines, string(p)) })}
	p := progress(out)
	for _, s := range stageMoveSteps[:3] {
		p(s, false)
	}
	p(stageMoveSteps[2], true)
	require.Len(t, lines, 2, "resources only, not the stack or components")
	assert.Contains(t, lines[1], "[1/1 done] create AuthorizationPolicy bookinfo-deny-all")
	assert.Nil(t, progress(IO{Terminal: false}), "quiet in pipes")
}

type writerFunc func([]byte)

func (w writerFunc) Write(p []byte) (int, error) { w(p); return len(p), nil }

func TestResetDestroysEveryStackThenLooksForLeftovers(t *testing.T) {
	defer func(f func(context.Context, []string) []leftovers.Leftover) { findLeftovers = f }(findLeftovers)
	var looked []string
	findLeftovers = func(_ context.Context, names []string) []leftovers.Leftover { looked = names; return nil }
	eng := &fakeEngine{stacks: []string{"step0", "step4"}, outputs: map[string]map[string]any{
		"step0": {"clusterName": "istio-workshop-step0"}, "step4": {"clusterName": "my-cluster"}}}

	code, stdout, _ := runCLI([]string{"reset"}, eng)
	assert.Equal(t, Usage, code, "reset destroys: it asks for --yes")
	assert.Contains(t, stdout, "step0, step4")
	assert.Empty(t, eng.ran, "nothing destroyed without --yes")

	code, stdout, stderr := runCLI([]string{"reset", "--yes"}, eng)
	require.Equal(t, OK, code, stderr)
	assert.Equal(t, []string{"destroy step0", "destroy step4"}, eng.ran)
	assert.Equal(t, []string{"step0", "step4"}, eng.removed)
	assert.Equal(t, []string{"istio-workshop-step0", "my-cluster"}, looked, "leftovers of the stacks' own clusters, custom names too")
	assert.Contains(t, stdout, "2 stack(s) destroyed; no stack, cluster")
}

func TestResetReportsWhatItCouldNotFinish(t *testing.T) {
	defer func(f func(context.Context, []string) []leftovers.Leftover) { findLeftovers = f }(findLeftovers)
	findLeftovers = func(context.Context, []string) []leftovers.Leftover {
		return []leftovers.Leftover{{What: "kind cluster istio-workshop-old", Fix: "kind delete cluster --name istio-workshop-old"}}
	}
	eng := &fakeEngine{stacks: []string{"step1", "step2"}, runErr: map[string]error{"step1": errors.New("cluster unreachable")}}
	code, stdout, stderr := runCLI([]string{"reset", "--yes"}, eng)
	assert.Equal(t, Failed, code)
	assert.Equal(t, []string{"destroy step1", "destroy step2"}, eng.ran, "one failure does not stop the others")
	assert.Equal(t, []string{"step2"}, eng.removed, "a stack whose destroy failed is kept, so a re-run finishes it")
	assert.Contains(t, stdout, "failed: step1: cluster unreachable")
	assert.Contains(t, stdout, "left: stack step1 (re-run `workshop reset --yes`)")
	assert.Contains(t, stdout, "left: kind cluster istio-workshop-old (kind delete cluster --name istio-workshop-old)")
	assert.Contains(t, stderr, "re-running it finishes the job")
}

func TestRecoverRunsTheRecoveryOnTheNamedStack(t *testing.T) {
	eng := &fakeEngine{steps: stageMoveSteps[:3]}
	code, stdout, stderr := runCLI([]string{"recover", "--stack", "step5"}, eng)
	require.Equal(t, OK, code, stderr)
	assert.Equal(t, []string{"recover step5"}, eng.ran)
	assert.Contains(t, stdout, "Stack step5 recovered")
	code, _, stderr = runCLI([]string{"recover"}, eng)
	assert.Equal(t, Usage, code)
	assert.Contains(t, stderr, "recover needs --stack S")
}

// A reviewer's diff: the summary first, the changes to what runs in full, each creation on one
// line grouped by stage, then the policy pack's verdict; nothing else.
func TestTheDiffReadsInAReviewersOrder(t *testing.T) {
	inProject(t)
	eng := &fakeEngine{outputs: map[string]map[string]any{"step3": {"stage": 3.0, "clusterName": "c", "clusterProvider": "kind"}}, steps: stageMoveSteps,
		policy: Policy{Pack: "istio-workshop", Rules: []string{"a", "b"}}}
	code, stdout, stderr := runCLI([]string{"diff", "3", "5"}, eng)
	require.Equal(t, OK, code, stderr)
	order := []string{
		"Moving stack step3 from stage 3 to stage 5",
		"AuthorizationPolicy",
		"total",
		"Changes to what already runs (read these first):",
		"  update Namespace bookinfo  (Bookinfo)",
		`      metadata.labels["istio.io/use-waypoint"]: (none) -> "waypoint"`,
		"  replace Token alice  (EndUserAuth)",
		"      replaced because these change: claims",
		`      claims.groups: ["bookinfo-readers"] -> ["bookinfo-readers","beta-testers"]`,
		"  delete Deployment bookinfo/old",
		"Created (2), by the stage of the component that owns each:",
		"  stage 5, Authorization policies (2):",
		"    + AuthorizationPolicy bookinfo/deny-all  (Authorization)",
		"    + AuthorizationPolicy bookinfo/allow-details  (Authorization)",
		"Policy pack istio-workshop: 2 rule(s), no violation",
	}
	at := 0
	for _, want := range order {
		i := strings.Index(stdout[at:], want)
		require.GreaterOrEqual(t, i, 0, "%q after position %d in:\n%s", want, at, stdout)
		at += i + len(want)
	}
	lines := strings.Count(stdout, "\n")
	assert.LessOrEqual(t, lines, 12+len(Summarize(stageMoveSteps))+3*len(Changing(stageMoveSteps))+len(creates(stageMoveSteps)), "one line per creation:\n%s", stdout)

	eng.policy = Policy{Pack: "istio-workshop", Rules: []string{"a"}, Violations: []string{"mandatory strict-mtls-only: PERMISSIVE (default)"}}
	_, stdout, _ = runCLI([]string{"diff", "3", "5"}, eng)
	assert.Contains(t, stdout, "Policy pack istio-workshop: 1 violation(s)\n  mandatory strict-mtls-only: PERMISSIVE (default)")
}

func TestAStepSaysWhatChangesField(t *testing.T) {
	weights := func(w ...any) map[string]any {
		routes := []any{}
		for _, x := range w {
			routes = append(routes, map[string]any{"weight": x})
		}
		return map[string]any{"metadata": map[string]any{"name": "reviews", "namespace": "bookinfo"},
			"spec": map[string]any{"http": []any{map[string]any{"route": routes}}}, "token": "[secret]"}
	}
	st := step(apitype.StepEventMetadata{Op: apitype.OpUpdate, Type: "kubernetes:networking.istio.io/v1:VirtualService",
		URN: urn("istio-workshop:components:Bookinfo$kubernetes:networking.istio.io/v1:VirtualService", "reviews"),
		Old: &apitype.StepEventStateMetadata{Inputs: weights(90, 10)}, New: &apitype.StepEventStateMetadata{Inputs: weights(50, 50)},
		DetailedDiff: map[string]apitype.PropertyDiff{"spec.http[0].route[0].weight": {Kind: apitype.DiffUpdate}, "spec.http[0].route[1].weight": {Kind: apitype.DiffUpdate}, "token": {Kind: apitype.DiffUpdate}}})
	assert.Equal(t, "VirtualService bookinfo/reviews", st.Label())
	assert.Equal(t, "Bookinfo", st.Owner())
	assert.Equal(t, []FieldChange{
		{Path: "spec.http[0].route[0].weight", Kind: "update", Old: "90", New: "50"},
		{Path: "spec.http[0].route[1].weight", Kind: "update", Old: "10", New: "50"},
		{Path: "token", Kind: "update", Old: `"[secret]"`, New: `"[secret]"`},
	}, st.Changed, "a canary's weight is one field; a secret stays masked")

	st = step(apitype.StepEventMetadata{Op: apitype.OpUpdate, Type: ns, URN: urn(ns, "x"), Diffs: []string{"metadata"},
		Old: &apitype.StepEventStateMetadata{Inputs: map[string]any{"metadata": map[string]any{"name": "x"}}},
		New: &apitype.StepEventStateMetadata{Inputs: map[string]any{"metadata": map[string]any{"name": "x", "labels": map[string]any{"a": "b"}}}}})
	assert.Equal(t, []FieldChange{{Path: "metadata", Kind: "update", Old: `{"name":"x"}`, New: `{"labels":{"a":"b"},"name":"x"}`}}, st.Changed, "no detailed diff: the top-level keys")
}

func TestTheWholeConfigurationIsCheckedBeforeTheEngineRuns(t *testing.T) {
	inProject(t)
	require.NoError(t, os.WriteFile(filepath.Join(StacksDir, "Pulumi.step4.yaml"), []byte("config:\n  workshop:meshMod: sidecar\n  istio-workshop:httpPort: \"8080\"\n"), 0o600))
	eng := &fakeEngine{}
	code, _, stderr := runCLI([]string{"up", "4"}, eng)
	assert.Equal(t, Usage, code)
	assert.Contains(t, stderr, `workshop:meshMod: "sidecar" is not a workshop setting (did you mean workshop:meshMode?)`)
	assert.Contains(t, stderr, `istio-workshop:httpPort: "8080" is under the project's name, where nothing reads it`)
	assert.Empty(t, eng.ran, "the engine never ran")
}

func TestANegativeStageSaysTheRange(t *testing.T) {
	code, _, stderr := runCLI([]string{"up", "-1"}, &fakeEngine{})
	assert.Equal(t, Usage, code)
	assert.Contains(t, stderr, `"-1" is not a stage: stages are 0–`)
	assert.NotContains(t, stderr, "flag provided but not defined")
}

func TestALiveStackIsAskedForOnlyWhenItIsMissing(t *testing.T) {
	code, _, stderr := runCLI([]string{"verify", "--stack", "step4"}, &fakeEngine{})
	assert.Equal(t, Failed, code)
	assert.Contains(t, stderr, "a live stack is needed: run `workshop up` first")
	code, _, stderr = runCLI([]string{"verify", "--stack", "step4"}, &fakeEngine{err: errors.New("the stack is currently locked by 1 lock(s)")})
	assert.Equal(t, Failed, code)
	assert.Contains(t, stderr, "locked")
	assert.NotContains(t, stderr, "a live stack is needed", "the lock is the cause")
}
