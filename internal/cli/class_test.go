package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/class"
)

// classEngine is the fake engine, safe for participants run side by side, counting how many
// run at once.
type classEngine struct {
	*fakeEngine
	mu            sync.Mutex
	running, peak int
}

func (c *classEngine) Run(ctx context.Context, op Operation, stack string, o Options) ([]Step, error) {
	c.mu.Lock()
	c.running++
	c.peak = max(c.peak, c.running)
	c.mu.Unlock()
	time.Sleep(20 * time.Millisecond) // long enough for the others to start if they may
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running--
	steps, err := c.fakeEngine.Run(ctx, op, stack, o)
	if op == Up && err == nil {
		c.outputs[stack] = map[string]any{"stage": 1.0}
		if !slices.Contains(c.stacks, stack) {
			c.stacks = append(c.stacks, stack)
		}
	}
	return steps, err
}

func (c *classEngine) Outputs(ctx context.Context, stack string) (map[string]any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fakeEngine.Outputs(ctx, stack)
}

func (c *classEngine) Stacks(ctx context.Context) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fakeEngine.Stacks(ctx)
}

func (c *classEngine) RemoveStack(ctx context.Context, stack string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fakeEngine.RemoveStack(ctx, stack)
}

// A class of four local participants: each gets a stack of its own at the stage, at most
// --parallel at a time; one participant's failure leaves the others' runs alone, is recorded,
// and the next run retries it.
func TestClassUpRunsEveryParticipantBoundedAndContinuesPastAFailure(t *testing.T) {
	// ada's file still has the cluster of an earlier roster (an existing one): the roster owns those keys.
	stackFiles(t, map[string]string{"class-ada": "encryptionsalt: v1:keep\nconfig:\n  workshop:personas: '{\"ada\": [\"bookinfo-readers\"]}'\n  workshop:kubeconfig: /old/kubeconfig\n  workshop:kubeContext: old\n"})
	require.NoError(t, os.WriteFile("class.yaml", []byte("settings: {meshMode: sidecar}\nparticipants:\n- {name: ada, provider: local}\n- {name: bo, provider: local}\n- {name: cy, provider: local}\n- {name: di, provider: local}\n"), 0o600))
	eng := &classEngine{fakeEngine: &fakeEngine{outputs: map[string]map[string]any{}, runErr: map[string]error{"class-cy": errors.New("cluster unreachable")}}}

	code, stdout, stderr := runCLI([]string{"class", "up", "1", "--roster", "class.yaml", "--parallel", "2"}, eng)
	assert.Equal(t, Failed, code, stdout)
	assert.Contains(t, stderr, "1 of 4 participants failed to reach stage 1: run `workshop class up 1 --roster class.yaml` again to retry them")
	assert.Contains(t, stdout, "cy                   FAILED reach stage 1")
	assert.Contains(t, stdout, "di                   reach stage 1 in")
	assert.ElementsMatch(t, []string{"up class-ada", "up class-bo", "up class-cy", "up class-di"}, eng.ran)
	assert.Equal(t, 2, eng.peak, "two at a time, as --parallel says")

	raw, err := os.ReadFile(filepath.Join(StacksDir, "Pulumi.class-ada.yaml"))
	require.NoError(t, err)
	assert.Contains(t, string(raw), "encryptionsalt: v1:keep", "Pulumi's salt kept")
	assert.Contains(t, string(raw), "workshop:personas", "and the participant's own settings")
	for _, want := range []string{`workshop:stage: "1"`, "workshop:clusterProvider: local", "workshop:meshMode: sidecar"} {
		assert.Contains(t, string(raw), want)
	}
	assert.NotContains(t, string(raw), "workshop:kubeconfig", "the earlier roster's cluster is gone with it")
	assert.NotContains(t, string(raw), "workshop:kubeContext")

	code, stdout, _ = runCLI([]string{"class", "status", "--roster", "class.yaml", "--json"}, eng)
	require.Equal(t, OK, code)
	var lines []classStatus
	require.NoError(t, json.Unmarshal([]byte(stdout), &lines))
	require.Len(t, lines, 4)
	assert.Equal(t, 1, lines[0].Stage)
	assert.Equal(t, -1, lines[2].Stage, "cy is not up")
	assert.False(t, lines[2].Last.OK)
	assert.Equal(t, "cluster unreachable", lines[2].Last.Error)

	// The next run retries cy; the others' ups change nothing.
	delete(eng.runErr, "class-cy")
	eng.ran = nil
	code, _, stderr = runCLI([]string{"class", "up", "1", "--roster", "class.yaml"}, eng)
	assert.Equal(t, OK, code, stderr)
	assert.Contains(t, eng.ran, "up class-cy")
	code, stdout, _ = runCLI([]string{"class", "status", "--roster", "class.yaml"}, eng)
	assert.Equal(t, OK, code)
	assert.Regexp(t, `cy +class-cy +1 +up 1 ok`, stdout)

	// Reset destroys every participant's stack and forgets it.
	code, _, stderr = runCLI([]string{"class", "reset", "--roster", "class.yaml"}, eng)
	assert.Equal(t, Usage, code)
	assert.Contains(t, stderr, "add --yes")
	code, _, stderr = runCLI([]string{"class", "reset", "--roster", "class.yaml", "--yes"}, eng)
	assert.Equal(t, OK, code, stderr)
	assert.ElementsMatch(t, []string{"class-ada", "class-bo", "class-cy", "class-di"}, eng.removed)
	rec, err := class.OpenRecord("class.yaml")
	require.NoError(t, err)
	assert.Equal(t, "reset", rec.Entries["ada"].Op)
}

// A bad setting of any participant stops the class before any stack file is written or any
// stack runs.
func TestClassUpChecksEveryParticipantFirst(t *testing.T) {
	stackFiles(t, nil)
	require.NoError(t, os.WriteFile("class.yaml", []byte("settings: {meshMode: istio}\nparticipants:\n- {name: ada, provider: local}\n- {name: bo, provider: local}\n"), 0o600))
	eng := &classEngine{fakeEngine: &fakeEngine{outputs: map[string]map[string]any{}}}
	code, _, stderr := runCLI([]string{"class", "up", "4", "--roster", "class.yaml"}, eng)
	assert.Equal(t, Usage, code)
	assert.Contains(t, stderr, "participant ada:")
	assert.Contains(t, stderr, `workshop:meshMode: "istio" must be ambient or sidecar`)
	assert.Empty(t, eng.ran, "no stack ran")
	_, err := os.Stat(filepath.Join(StacksDir, "Pulumi.class-ada.yaml"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no stack file written")

	code, _, stderr = runCLI([]string{"class", "up", "4", "--roster", "class.yaml", "--parallel", "0"}, eng)
	assert.Equal(t, Usage, code)
	assert.Contains(t, stderr, "--parallel 0: run 1–32 participants at a time")
	code, _, stderr = runCLI([]string{"class", "diff", "4", "5", "--roster", "class.yaml", "--full"}, eng)
	assert.Equal(t, Failed, code, "no participant is up, and the flags parse")
	assert.Contains(t, stderr, "no participant's stack is at stage 4")
	code, _, stderr = runCLI([]string{"class", "up", "4"}, eng)
	assert.Equal(t, Usage, code)
	assert.Contains(t, stderr, "needs --roster FILE")
}

func TestChangeCountSaysWhatAnUpDid(t *testing.T) {
	assert.Equal(t, "2 created, 1 updated, 1 deleted", changeCount([]Step{{Op: "create"}, {Op: "create"}, {Op: "update"}, {Op: "same"}, {Op: "delete"}}))
	assert.Equal(t, "no change", changeCount([]Step{{Op: "same"}}))
}
