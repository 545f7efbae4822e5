// Package cli is the presenter's `workshop` command: stage explanations and the stack's tokens
// (more commands come with the operations work). It reads stacks through the Pulumi Automation
// API over the same program and stack files that plain `pulumi` uses.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/config"
)

// Exit codes.
const (
	OK      = 0
	Failed  = 1 // the command ran and something is wrong (no such output, stack not up)
	Usage   = 2 // the command line is wrong: unknown command, stage or persona
	usageOf = `usage:
  workshop explain N                    what stage N puts in force, its promises and its probes
  workshop token PERSONA [--stack S]    print PERSONA's JWT from stack S (default step4)
`
)

// Outputs reads a stack's outputs with secrets shown.
type Outputs func(ctx context.Context, stack string) (map[string]any, error)

// usageError is a wrong command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Run runs one command and returns its exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, outputs Outputs) int {
	err := run(ctx, args, stdout, outputs)
	var ue usageError
	switch {
	case err == nil:
		return OK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "workshop: %v\n%s", err, usageOf)
		return Usage
	default:
		fmt.Fprintf(stderr, "workshop: %v\n", err)
		return Failed
	}
}

func run(ctx context.Context, args []string, stdout io.Writer, outputs Outputs) error {
	if len(args) == 0 {
		return usageError{"no command"}
	}
	switch args[0] {
	case "explain":
		if len(args) != 2 {
			return usageError{"explain takes one stage number"}
		}
		return explain(stdout, args[1])
	case "token":
		fs := flag.NewFlagSet("token", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		stack := fs.String("stack", "step4", "")
		persona, rest := "", args[1:]
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			persona, rest = rest[0], rest[1:]
		}
		if err := fs.Parse(rest); err != nil {
			return usageError{err.Error()}
		}
		if persona == "" || fs.NArg() > 0 {
			return usageError{"token takes one persona"}
		}
		return token(ctx, stdout, outputs, *stack, persona)
	case "help", "-h", "--help":
		_, err := io.WriteString(stdout, usageOf)
		return err
	default:
		return usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
}

// stage parses a stage argument, naming the range this version knows.
func stage(arg string) (config.Stage, error) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 || config.Stage(n) > config.MaxStage {
		return 0, usageError{fmt.Sprintf("%q is not a stage: stages are 0–%d", arg, config.MaxStage)}
	}
	return config.Stage(n), nil
}

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

func token(ctx context.Context, w io.Writer, outputs Outputs, stack, persona string) error {
	out, err := outputs(ctx, stack)
	if err != nil {
		return fmt.Errorf("reading stack %s: %w", stack, err)
	}
	raw, ok := out["tokens"]
	if !ok {
		return fmt.Errorf("stack %s has no tokens: tokens are minted from stage 4 (scripts/pulumi up --stack step4)", stack)
	}
	tokens := map[string]string{}
	b, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(b, &tokens)
	}
	if err != nil {
		return fmt.Errorf("stack %s: the tokens output is not a map of persona to token: %w", stack, err)
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
