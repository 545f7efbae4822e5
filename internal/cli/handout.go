package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/handout"
	"github.com/istio-workshop/istio-workshop/stages"
)

// HandoutsDir is where handouts go by default, one folder per stack.
const HandoutsDir = "handouts"

// writeHandout writes the pack of the live stack into dir, for participant.
func writeHandout(ctx context.Context, eng Engine, stack, participant, dir string) (int, error) {
	o, err := liveOutputs(ctx, eng, stack)
	if err != nil {
		return 0, err
	}
	cfg, err := stages.Load(stack, o.Settings)
	if err != nil {
		return 0, fmt.Errorf("stack %s: its settings output: %w", stack, err)
	}
	resources, err := eng.Resources(ctx, stack)
	if err != nil {
		return 0, fmt.Errorf("reading the state of stack %s: %w", stack, err)
	}
	objects := map[config.Stage][]string{}
	for _, r := range resources {
		if !strings.HasPrefix(r.Type, "kubernetes:") || strings.HasPrefix(r.Type, "kubernetes:helm.sh/") || strings.HasPrefix(r.Type, "kubernetes:yaml/") {
			continue
		}
		meta, _ := r.Outputs["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		if ns, _ := meta["namespace"].(string); ns != "" {
			name = ns + "/" + name
		}
		kind := r.Type[strings.LastIndex(r.Type, ":")+1:]
		owner := stages.OwnerOf(Step{URN: r.URN}.Owner())
		objects[owner] = append(objects[owner], kind+" "+name)
	}
	for _, list := range objects {
		slices.Sort(list)
	}
	pack := handout.Pack{Participant: participant, Stack: stack, Config: cfg, ClusterName: o.ClusterName,
		RootCA: o.RootCA, Tokens: o.Tokens, Objects: objects}
	if err := handout.Write(dir, pack); err != nil {
		return 0, err
	}
	return len(stages.InForce(cfg)) + 2, nil
}

// handoutCmd writes the stack's handout and says where.
func handoutCmd(ctx context.Context, out IO, eng Engine, stack, dir string) error {
	if dir == "" {
		dir = filepath.Join(HandoutsDir, stack)
	}
	pages, err := writeHandout(ctx, eng, stack, stack, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(out.Stdout, "Wrote %d pages for stack %s to %s: open %s\n", pages, stack, dir, filepath.Join(dir, "index.html"))
	return nil
}
