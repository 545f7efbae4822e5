package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// AutoEngine is the Engine of the Pulumi Automation API, over the project in Dir: the same
// program, stack files and state that `scripts/pulumi` uses (it runs the same CLI).
type AutoEngine struct {
	Dir string
	// PolicyPack is the policy pack directory previews and ups run ("" = none).
	PolicyPack string
}

func (a AutoEngine) stack(ctx context.Context, name string, create bool) (auto.Stack, error) {
	if create {
		return auto.UpsertStackLocalSource(ctx, name, a.Dir)
	}
	return auto.SelectStackLocalSource(ctx, name, a.Dir)
}

// Outputs reads a stack's outputs, secrets shown.
func (a AutoEngine) Outputs(ctx context.Context, stack string) (map[string]any, error) {
	s, err := a.stack(ctx, stack, false)
	if err != nil {
		return nil, err
	}
	out, err := s.Outputs(ctx)
	if err != nil {
		return nil, err
	}
	values := make(map[string]any, len(out))
	for k, v := range out {
		values[k] = v.Value
	}
	return values, nil
}

// Run runs op; previews and ups run the policy pack.
func (a AutoEngine) Run(ctx context.Context, op Operation, stack string, o Options) ([]Step, error) {
	s, err := a.stack(ctx, stack, op == Up || op == Preview)
	if err != nil {
		return nil, err
	}
	ch := make(chan events.EngineEvent)
	var steps []Step
	collected := make(chan struct{})
	policy := newPolicyCollector(o.Policy)
	go func() {
		defer close(collected)
		for e := range ch {
			policy.add(e)
			if e.ResourcePreEvent != nil {
				st := step(e.ResourcePreEvent.Metadata)
				steps = append(steps, st)
				if o.OnStep != nil {
					o.OnStep(st, false)
				}
			}
			if e.ResOutputsEvent != nil && o.OnStep != nil {
				o.OnStep(step(e.ResOutputsEvent.Metadata), true)
			}
		}
	}()
	var packs []string
	if a.PolicyPack != "" {
		packs = []string{a.PolicyPack}
	}
	diff := o.Diff
	if diff == nil {
		diff = io.Discard
	}
	switch op {
	case Preview:
		opts := []optpreview.Option{optpreview.EventStreams(ch), optpreview.PolicyPacks(packs...), optpreview.Diff(), optpreview.ProgressStreams(diff)}
		if o.ConfigFile != "" {
			opts = append(opts, optpreview.ConfigFile(a.path(o.ConfigFile)))
		}
		_, err = s.Preview(ctx, opts...)
	case Up, Recover:
		opts := []optup.Option{optup.EventStreams(ch), optup.PolicyPacks(packs...), optup.Diff(), optup.ProgressStreams(diff)}
		if o.ConfigFile != "" {
			opts = append(opts, optup.ConfigFile(a.path(o.ConfigFile)))
		}
		if op == Recover {
			// A killed run keeps its lock; with none, Cancel's error says so and is not ours.
			_ = s.Cancel(ctx)
			if _, err = s.Refresh(ctx, optrefresh.ClearPendingCreates(), optrefresh.ProgressStreams(diff)); err != nil {
				close(ch)
				break
			}
		}
		_, err = s.Up(ctx, opts...)
	case Destroy:
		// A destroy killed half-way (a reset interrupted) leaves its lock: re-running finishes it.
		if staleLocked(os.Getenv("PULUMI_BACKEND_URL"), stack) {
			_ = s.Cancel(ctx)
		}
		_, err = s.Destroy(ctx, optdestroy.EventStreams(ch), optdestroy.ProgressStreams(diff))
	default:
		close(ch)
		err = fmt.Errorf("unknown operation %q", op)
	}
	// The SDK closes the event stream once the CLI has streamed its last event, which it has
	// delivered by the time the operation returns. A CLI that fails before it streams anything
	// (a stack locked by a live run, a bad flag) leaves the stream open for ever: waiting for it
	// then hung the command.
	select {
	case <-collected:
		policy.done()
	case <-time.After(streamGrace):
	}
	return steps, err
}

// streamGrace is how long a finished operation waits for its event stream to close.
const streamGrace = 3 * time.Second

func step(m apitype.StepEventMetadata) Step {
	var old, new map[string]any
	if m.Old != nil {
		old = m.Old.Inputs
	}
	if m.New != nil {
		new = m.New.Inputs
	}
	st := Step{Op: string(m.Op), Type: m.Type, URN: m.URN, Object: objectName(new)}
	if st.Object == "" {
		st.Object = objectName(old)
	}
	if m.Op == apitype.OpUpdate || m.Op == apitype.OpReplace {
		st.Changed = fieldChanges(m, old, new)
	}
	if m.Op == apitype.OpReplace {
		st.ReplaceBecause = m.Keys
	}
	return st
}

// Resources lists the resources of a stack's state (from `pulumi stack export`).
func (a AutoEngine) Resources(ctx context.Context, stack string) ([]Resource, error) {
	s, err := a.stack(ctx, stack, false)
	if err != nil {
		return nil, err
	}
	exp, err := s.Export(ctx)
	if err != nil {
		return nil, err
	}
	var d apitype.DeploymentV3
	if err := json.Unmarshal(exp.Deployment, &d); err != nil {
		return nil, fmt.Errorf("reading the state of %s: %w", stack, err)
	}
	out := make([]Resource, 0, len(d.Resources))
	for _, r := range d.Resources {
		out = append(out, Resource{Type: string(r.Type), URN: string(r.URN), Outputs: r.Outputs, Inputs: r.Inputs})
	}
	return out, nil
}

// Stacks lists the project's stacks.
func (a AutoEngine) Stacks(ctx context.Context) ([]string, error) {
	ws, err := auto.NewLocalWorkspace(ctx, auto.WorkDir(a.Dir))
	if err != nil {
		return nil, err
	}
	list, err := ws.ListStacks(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(list))
	for _, s := range list {
		names = append(names, s.Name)
	}
	return names, nil
}

// path is file relative to the project, unless it is absolute.
func (a AutoEngine) path(file string) string {
	if filepath.IsAbs(file) {
		return file
	}
	return filepath.Join(a.Dir, file)
}

// RemoveStack forgets a destroyed stack and keeps its stack file: the file holds the stage and
// the user's own settings, and the next `up` of that stack must find them (the Automation API's
// RemoveStack has no way to say so, hence the CLI's own --preserve-config).
func (a AutoEngine) RemoveStack(ctx context.Context, stack string) error {
	ws, err := auto.NewLocalWorkspace(ctx, auto.WorkDir(a.Dir))
	if err != nil {
		return err
	}
	_, stderr, _, err := ws.PulumiCommand().Run(ctx, a.Dir, nil, nil, nil, nil, "stack", "rm", "--yes", "--preserve-config", stack)
	if err != nil {
		return fmt.Errorf("removing stack %s: %w: %s", stack, err, strings.TrimSpace(stderr))
	}
	return nil
}
