package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/istio-workshop/istio-workshop/stages"
	"github.com/stretchr/testify/assert"
)

// fakeEngine answers like a project with some stacks; it records what it was asked to run.
type fakeEngine struct {
	outputs   map[string]map[string]any // stack -> outputs
	err       error                     // Outputs' error
	steps     []Step                    // what Run reports
	runErr    map[string]error          // stack -> Run's error
	resources []Resource
	stacks    []string
	ran       []string // "op stack [with the settings file it ran with]"
	policy    Policy   // what the policy pack says
	removed   []string
}

func (f *fakeEngine) Outputs(_ context.Context, stack string) (map[string]any, error) {
	if f.err != nil {
		return nil, f.err
	}
	if o, ok := f.outputs[stack]; ok {
		return o, nil
	}
	return nil, errors.New("no stack named '" + stack + "' found")
}

func (f *fakeEngine) Run(_ context.Context, op Operation, stack string, o Options) ([]Step, error) {
	ran := string(op) + " " + stack
	if o.ConfigFile != "" { // what the run's settings are
		raw, err := os.ReadFile(o.ConfigFile)
		if err != nil {
			return nil, err
		}
		ran += " with " + strings.TrimSpace(string(raw))
	}
	f.ran = append(f.ran, ran)
	if o.Policy != nil {
		*o.Policy = f.policy
	}
	if o.Diff != nil {
		fmt.Fprintln(o.Diff, "(pulumi's diff)")
	}
	for _, s := range f.steps {
		if o.OnStep != nil {
			o.OnStep(s, false)
			o.OnStep(s, true)
		}
	}
	if op == Destroy && f.runErr[stack] == nil {
		delete(f.outputs, stack)
	}
	return f.steps, f.runErr[stack]
}

func (f *fakeEngine) Resources(context.Context, string) ([]Resource, error) { return f.resources, nil }

func (f *fakeEngine) Stacks(context.Context) ([]string, error) { return slices.Clone(f.stacks), nil }

func (f *fakeEngine) RemoveStack(_ context.Context, stack string) error {
	f.removed = append(f.removed, stack)
	f.stacks = slices.DeleteFunc(f.stacks, func(s string) bool { return s == stack })
	return nil
}

func fakeOutputs(out map[string]any, err error) *fakeEngine {
	return &fakeEngine{outputs: map[string]map[string]any{"step4": out, "step5": out}, err: err}
}

func runCLI(args []string, eng Engine) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, IO{Stdout: &stdout, Stderr: &stderr}, eng)
	return code, stdout.String(), stderr.String()
}

func TestTokenPrintsOnePersonasToken(t *testing.T) {
	out := fakeOutputs(map[string]any{"stage": 4, "tokens": map[string]any{"alice": "eyJ.a.s", "bob": "eyJ.b.s"}}, nil)
	code, stdout, _ := runCLI([]string{"token", "alice", "--stack", "step5"}, out)
	assert.Equal(t, OK, code)
	assert.Equal(t, "eyJ.a.s\n", stdout, "just the token, for $(workshop token alice)")

	code, _, stderr := runCLI([]string{"token", "mallory"}, out)
	assert.Equal(t, Usage, code)
	assert.Contains(t, stderr, `no persona "mallory" (it has: alice, bob)`)
}

func TestTokenBeforeStage4SaysWhatToDo(t *testing.T) {
	code, _, stderr := runCLI([]string{"token", "alice"}, fakeOutputs(map[string]any{"stage": 3}, nil))
	assert.Equal(t, Failed, code)
	assert.Contains(t, stderr, "tokens are minted from stage 4")

	code, _, stderr = runCLI([]string{"token", "alice"}, &fakeEngine{})
	assert.Equal(t, Failed, code)
	assert.Contains(t, stderr, "reading stack step4: no stack named")
}

func TestExplainPrintsThePromiseAndTheChecks(t *testing.T) {
	code, stdout, _ := runCLI([]string{"explain", "4"}, nil)
	assert.Equal(t, OK, code)
	assert.Contains(t, stdout, "Stage 4: End-user JWT authentication")
	assert.Contains(t, stdout, "a request without a token is refused")
	assert.Contains(t, stdout, "HTTP 401")

	code, stdout, _ = runCLI([]string{"explain", "7"}, nil)
	assert.Equal(t, OK, code)
	assert.Contains(t, stdout, "Stage 7: NetworkPolicy")
	assert.Contains(t, stdout, "an unregistered external host is refused: from egress-demo https://example.com/ -> connection refused, reset or dropped")
	assert.NotContains(t, stdout, "Not available")
}

func TestBadCommandLinesExitTwoWithUsage(t *testing.T) {
	past, beyond := fmt.Sprint(stages.Last()+1), fmt.Sprint(stages.Last()+2)
	for _, args := range [][]string{nil, {"deploy"}, {"explain"}, {"explain", beyond}, {"explain", "-1"}, {"explain", "four"}, {"token"}, {"token", "alice", "extra"},
		{"token", "alice", "--colour"}, {"up"}, {"up", past}, {"preview", "1", "2"}, {"diff", "3"}, {"diff", "3", "x"}, {"verify"}, {"verify", "4"}, {"reset", "now"}} {
		code, _, stderr := runCLI(args, fakeOutputs(nil, nil))
		assert.Equal(t, Usage, code, "%v", args)
		assert.Contains(t, stderr, "usage:", "%v", args)
	}
	_, _, stderr := runCLI([]string{"explain", beyond}, nil)
	assert.Contains(t, stderr, fmt.Sprintf("stages are 0–%d", stages.Last()))
}
