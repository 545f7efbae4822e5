package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/leftovers"
	"github.com/istio-workshop/istio-workshop/internal/outputs"
	"github.com/istio-workshop/istio-workshop/stages"
)

// StacksDir is where the stack files are, relative to the project (the working directory).
const StacksDir = "stacks"

// progress reports steps on a terminal as they start and finish: which resource, how many done.
// Nothing when no one watches.
func progress(out IO) func(Step, bool) {
	if !out.Terminal {
		return nil
	}
	var mu sync.Mutex
	started, done := 0, 0
	return func(s Step, finished bool) {
		if s.Kind() == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if finished {
			done++
		} else {
			started++
		}
		fmt.Fprintf(out.Stderr, "\r\033[K[%d/%d done] %s %s %s", done, started, s.Op, s.Kind(), s.Name())
	}
}

func endProgress(out IO) {
	if out.Terminal {
		fmt.Fprint(out.Stderr, "\r\033[K")
	}
}

// report prints what an operation did or would do, for a reviewer: the per-kind table, then
// every change to what already runs with its fields (old -> new), then every creation on one
// line grouped by stage, then the policy pack's verdict. JSON carries the same.
func report(w io.Writer, asJSON bool, title string, head map[string]any, steps []Step, policy Policy) error {
	changes, changing := Summarize(steps), Changing(steps)
	if asJSON {
		head["changes"] = changes
		if changing == nil {
			changing = []Step{}
		}
		head["notCreates"] = changing
		head["creates"] = creates(steps)
		head["policy"] = policy
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(head)
	}
	fmt.Fprintf(w, "\n%s\n", title)
	if len(changes) == 0 {
		fmt.Fprintln(w, "  no changes")
	} else {
		fmt.Fprintf(w, "  %-32s %7s %7s %8s %7s\n", "kind", "create", "update", "replace", "delete")
		total := Changes{}
		for _, c := range changes {
			fmt.Fprintf(w, "  %-32s %7d %7d %8d %7d\n", c.Kind, c.Create, c.Update, c.Replace, c.Delete)
			total.Create, total.Update, total.Replace, total.Delete = total.Create+c.Create, total.Update+c.Update, total.Replace+c.Replace, total.Delete+c.Delete
		}
		fmt.Fprintf(w, "  %-32s %7d %7d %8d %7d\n", "total", total.Create, total.Update, total.Replace, total.Delete)
	}
	if len(changing) > 0 {
		fmt.Fprintln(w, "\nChanges to what already runs (read these first):")
		for _, s := range changing {
			fmt.Fprintf(w, "  %s %s%s\n", s.Op, s.Label(), ownedBy(s))
			if len(s.ReplaceBecause) > 0 {
				fmt.Fprintf(w, "      replaced because these change: %s\n", strings.Join(s.ReplaceBecause, ", "))
			}
			for _, c := range s.Changed {
				fmt.Fprintf(w, "      %s: %s -> %s\n", c.Path, orNone(c.Old), orNone(c.New))
			}
		}
	}
	if made := creates(steps); len(made) > 0 {
		fmt.Fprintf(w, "\nCreated (%d), by the stage of the component that owns each:\n", len(made))
		byStage := map[config.Stage][]Step{}
		for _, s := range made {
			byStage[stages.OwnerOf(s.Owner())] = append(byStage[stages.OwnerOf(s.Owner())], s)
		}
		for _, st := range slices.Sorted(maps.Keys(byStage)) {
			fmt.Fprintf(w, "  stage %d, %s (%d):\n", st, stageTitle(st), len(byStage[st]))
			for _, s := range byStage[st] {
				fmt.Fprintf(w, "    + %s%s\n", s.Label(), ownedBy(s))
			}
		}
	}
	switch {
	case policy.Pack == "":
		fmt.Fprintln(w, "\nPolicy pack: did not run")
	case len(policy.Violations) == 0:
		fmt.Fprintf(w, "\nPolicy pack %s: %d rule(s), no violation\n", policy.Pack, len(policy.Rules))
	default:
		fmt.Fprintf(w, "\nPolicy pack %s: %d violation(s)\n", policy.Pack, len(policy.Violations))
		for _, v := range policy.Violations {
			fmt.Fprintf(w, "  %s\n", v)
		}
	}
	return nil
}

// creates are the steps that create a resource a reviewer counts (not the stack, providers or
// components).
func creates(steps []Step) []Step {
	out := []Step{}
	for _, s := range steps {
		if s.Op == "create" && s.Kind() != "" {
			out = append(out, s)
		}
	}
	return out
}

func ownedBy(s Step) string {
	if o := s.Owner(); o != "" {
		return "  (" + o + ")"
	}
	return ""
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}

// runReported runs op on stack with progress (and Pulumi's own detailed diff when full), then
// reports its steps under title, head being the report's JSON fields.
func runReported(ctx context.Context, out IO, eng Engine, op Operation, stack, configFile, title string, head map[string]any, asJSON, full bool) error {
	var policy Policy
	o := Options{ConfigFile: configFile, OnStep: progress(out), Policy: &policy}
	if full && !asJSON {
		o.Diff = out.Stdout
	}
	steps, err := eng.Run(ctx, op, stack, o)
	endProgress(out)
	if err != nil {
		return fmt.Errorf("%s of stack %s: %w", op, stack, err)
	}
	return report(out.Stdout, asJSON, title, head, steps, policy)
}

// stageTitle is stage s's title (s is a stage: arguments are checked when parsed).
func stageTitle(s config.Stage) string {
	st, _ := stages.Get(s)
	return st.Title
}

// liveOutputs are the outputs of a stack that has been brought up.
func liveOutputs(ctx context.Context, eng Engine, stack string) (outputs.Stack, error) {
	o, err := eng.Outputs(ctx, stack)
	switch {
	case err != nil && strings.Contains(err.Error(), "no stack named"):
		return outputs.Stack{}, fmt.Errorf("reading stack %s: %w (a live stack is needed: run `workshop up` first)", stack, err)
	case err != nil:
		return outputs.Stack{}, fmt.Errorf("reading stack %s: %w", stack, err)
	}
	if _, up := o[outputs.Stage]; !up {
		return outputs.Stack{}, fmt.Errorf("stack %s has no resources yet: run `workshop up` first", stack)
	}
	s, err := outputs.Decode(o)
	if err != nil {
		return outputs.Stack{}, fmt.Errorf("stack %s: %w", stack, err)
	}
	return s, nil
}

// apply previews or applies stage s on stack.
func apply(ctx context.Context, out IO, eng Engine, op, stack string, s config.Stage, asJSON, full bool) error {
	if err := checkStackFile(stack, s); err != nil {
		return err
	}
	verb := map[string]string{"preview": "would change", "up": "changed"}[op]
	return runReported(ctx, out, eng, Operation(op), stack, "", fmt.Sprintf("Stack %s at stage %d (%s): what %s %s", stack, s, stageTitle(s), op, verb),
		map[string]any{"operation": op, "stack": stack, "stage": int(s)}, asJSON, full)
}

// recoverStack finishes an interrupted up of stack (killed, or its machine lost power): the
// documented recovery of Pulumi's file backend, as one command.
func recoverStack(ctx context.Context, out IO, eng Engine, stack string, asJSON bool) error {
	return runReported(ctx, out, eng, Recover, stack, "", fmt.Sprintf("Stack %s recovered: what the up after the refresh changed", stack),
		map[string]any{"operation": "recover", "stack": stack}, asJSON, false)
}

// diff previews moving the live stack to stage `to`: the stack keeps its own name (so its
// cluster) and its own settings, with workshop:stage set to `to` in a copy of its file.
func diff(ctx context.Context, out IO, eng Engine, stack string, to config.Stage, asJSON, full bool) error {
	now, err := liveOutputs(ctx, eng, stack)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "workshop-diff-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file, err := movedStackFile(dir, stack, to)
	if err != nil {
		return err
	}
	return runReported(ctx, out, eng, Preview, stack, file,
		fmt.Sprintf("Moving stack %s from stage %d to stage %d (%s), on cluster %s (%s): a preview, nothing is changed", stack, now.Stage, to, stageTitle(to), now.ClusterName, now.ClusterProvider),
		map[string]any{"operation": "diff", "stack": stack, "from": now.Stage, "to": int(to)}, asJSON, full)
}

// findLeftovers is leftovers.Find; tests replace it.
var findLeftovers = leftovers.Find

// reset destroys every stack of the project on this machine, forgets it, then checks that no
// cluster, control plane, context or state of ours is left. A second run finishes what an
// interrupted one left.
func reset(ctx context.Context, out IO, eng Engine, yes bool) error {
	stacks, err := eng.Stacks(ctx)
	if err != nil {
		return fmt.Errorf("listing stacks: %w", err)
	}
	if !yes {
		if len(stacks) == 0 {
			fmt.Fprintln(out.Stdout, "No stacks: nothing to destroy (reset --yes still checks for leftovers).")
		} else {
			fmt.Fprintf(out.Stdout, "reset would destroy these stacks and their clusters: %s\n", strings.Join(stacks, ", "))
		}
		return usageError{"reset destroys: add --yes"}
	}
	// The clusters' names, to look for leftovers of them once the stacks are gone.
	var names []string
	for _, s := range stacks {
		if o, err := eng.Outputs(ctx, s); err == nil {
			if n, ok := o[outputs.ClusterName].(string); ok {
				names = append(names, n)
			}
		}
	}
	var failed []string
	for _, s := range stacks {
		fmt.Fprintf(out.Stdout, "destroying stack %s ...\n", s)
		if _, err := eng.Run(ctx, Destroy, s, Options{OnStep: progress(out)}); err != nil {
			endProgress(out)
			failed = append(failed, fmt.Sprintf("%s: %v", s, err))
			continue
		}
		endProgress(out)
		if err := eng.RemoveStack(ctx, s); err != nil {
			failed = append(failed, fmt.Sprintf("%s: removing the stack: %v", s, err))
		}
	}
	left, err := eng.Stacks(ctx)
	if err != nil {
		return fmt.Errorf("listing stacks after the destroy: %w", err)
	}
	found := findLeftovers(ctx, names)
	for _, s := range left {
		found = append(found, leftovers.Leftover{What: "stack " + s, Fix: "re-run `workshop reset --yes`"})
	}
	if len(found) == 0 && len(failed) == 0 {
		fmt.Fprintf(out.Stdout, "reset: %d stack(s) destroyed; no stack, cluster, control plane, process, port or kubeconfig context of ours is left\n", len(stacks))
		return nil
	}
	for _, f := range failed {
		fmt.Fprintf(out.Stdout, "failed: %s\n", f)
	}
	for _, l := range found {
		fmt.Fprintf(out.Stdout, "left: %s (%s)\n", l.What, l.Fix)
	}
	return fmt.Errorf("reset is not complete: %d failure(s), %d leftover(s); re-running it finishes the job", len(failed), len(found))
}
