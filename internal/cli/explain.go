package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
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
	out, err := eng.Outputs(ctx, stack)
	if err != nil {
		return fmt.Errorf("reading stack %s: %w", stack, err)
	}
	if _, ok := out["tokens"]; !ok {
		return fmt.Errorf("stack %s has no tokens: tokens are minted from stage 4 (scripts/pulumi up --stack step4)", stack)
	}
	tokens, err := tokensOf(out)
	if err != nil {
		return fmt.Errorf("stack %s: %w", stack, err)
	}
	tok, ok := tokens[persona]
	if !ok {
		names := make([]string, 0, len(tokens))
		for n := range tokens {
			names = append(names, n)
		}
		sort.Strings(names)
		return usageError{fmt.Sprintf("stack %s has no persona %q (it has: %s)", stack, persona, strings.Join(names, ", "))}
	}
	_, err = fmt.Fprintln(w, tok)
	return err
}

// tokensOf reads the stack's tokens output: persona to JWT (none before stage 4).
func tokensOf(outputs map[string]any) (map[string]string, error) {
	tokens := map[string]string{}
	raw, ok := outputs["tokens"]
	if !ok {
		return tokens, nil
	}
	b, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(b, &tokens)
	}
	if err != nil {
		return map[string]string{}, fmt.Errorf("the tokens output is not a map of persona to token: %w", err)
	}
	return tokens, nil
}
