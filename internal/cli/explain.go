package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/istio-workshop/istio-workshop/stages"
)

func explain(w io.Writer, arg string) error {
	n, err := stage(arg)
	if err != nil {
		return err
	}
	s, _ := stages.Get(n)
	fmt.Fprintf(w, "Stage %d: %s\n\nPromise: %s.\n", n, s.Title, s.Promise)
	fmt.Fprintf(w, "\nStages are cumulative: step%d also keeps the promises of stages 0–%d.\n", n, max(0, int(n)-1))
	if len(s.Settings) > 0 {
		fmt.Fprintf(w, "\nSettings it reads: workshop:%s.\n", strings.Join(s.Settings, ", workshop:"))
	}
	printGuide(w, n)
	cfg, err := stages.Load(stackName(n), nil)
	if err != nil {
		return err
	}
	probes, facts := stages.Probes(cfg), stages.Facts(cfg)
	if len(probes) > 0 {
		fmt.Fprintf(w, "\nChecks with the default settings (verify runs them; from \"host\" means your machine):\n")
		for _, p := range probes {
			fmt.Fprintf(w, "  - %s\n", p)
		}
	}
	if len(facts) > 0 {
		fmt.Fprintf(w, "\nFacts verify reads from the cluster (on every cluster, the local control plane included, unless marked):\n")
		for _, f := range facts {
			where := ""
			if f.RealCluster {
				where = " (real clusters only: a running Istio writes it)"
			}
			fmt.Fprintf(w, "  - stage %d: %s%s\n", f.Stage, f.Name, where)
		}
	}
	return nil
}

func token(ctx context.Context, w io.Writer, eng Engine, stack, persona string) error {
	o, err := liveOutputs(ctx, eng, stack)
	if err != nil {
		return err
	}
	if len(o.Tokens) == 0 {
		return fmt.Errorf("stack %s has no tokens: tokens are minted from stage 4 (scripts/pulumi up --stack step4)", stack)
	}
	tok, ok := o.Tokens[persona]
	if !ok {
		return usageError{fmt.Sprintf("stack %s has no persona %q (it has: %s)", stack, persona, strings.Join(slices.Sorted(maps.Keys(o.Tokens)), ", "))}
	}
	_, err = fmt.Fprintln(w, tok)
	return err
}
