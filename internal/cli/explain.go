package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/config"
)

func explain(w io.Writer, arg string) error {
	s, err := stage(arg)
	if err != nil {
		return err
	}
	info := s.Info()
	fmt.Fprintf(w, "Stage %d: %s\n\nPromise: %s.\n", s, info.Title, info.Promise)
	if !info.Available {
		fmt.Fprintf(w, "\nNot available in this version yet (stages 0–%d are).\n", config.AvailableUpTo())
		return nil
	}
	fmt.Fprintf(w, "\nStages are cumulative: step%d also keeps the promises of stages 0–%d.\n", s, max(0, int(s)-1))
	printGuide(w, s)
	cfg, err := config.Load(fmt.Sprintf("step%d", s), map[string]string{"workshop:stage": strconv.Itoa(int(s))})
	if err != nil {
		return err
	}
	probes := components.ProbesFor(cfg)
	if len(probes) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nChecks with the default settings (verify runs them; from \"host\" means your machine):\n")
	for _, p := range probes {
		fmt.Fprintf(w, "  - %s\n", p)
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
