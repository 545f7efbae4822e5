package cli

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func fakeOutputs(out map[string]any, err error) Outputs {
	return func(context.Context, string) (map[string]any, error) { return out, err }
}

func runCLI(args []string, outputs Outputs) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, &stdout, &stderr, outputs)
	return code, stdout.String(), stderr.String()
}

func TestTokenPrintsOnePersonasToken(t *testing.T) {
	out := fakeOutputs(map[string]any{"tokens": map[string]any{"alice": "eyJ.a.s", "bob": "eyJ.b.s"}}, nil)
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

	code, _, stderr = runCLI([]string{"token", "alice"}, fakeOutputs(nil, errors.New("no stack named 'step4' found")))
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
	assert.Contains(t, stdout, "an unregistered external host is refused: from egress-demo https://example.com/ -> connection refused or reset")
	assert.NotContains(t, stdout, "Not available")
}

func TestBadCommandLinesExitTwoWithUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"deploy"}, {"explain"}, {"explain", "9"}, {"explain", "-1"}, {"explain", "four"}, {"token"}, {"token", "alice", "extra"}, {"token", "alice", "--colour"}} {
		code, _, stderr := runCLI(args, fakeOutputs(nil, nil))
		assert.Equal(t, Usage, code, "%v", args)
		assert.Contains(t, stderr, "usage:", "%v", args)
	}
	_, _, stderr := runCLI([]string{"explain", "9"}, nil)
	assert.Contains(t, stderr, "stages are 0–7")
}
