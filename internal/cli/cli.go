// Package cli is the presenter's `workshop` command: stage explanations, the stack's tokens,
// previews, diffs between stages, up, verify and reset. It drives stacks through the Pulumi
// Automation API (Engine) over the same program and stack files that plain `pulumi` uses.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/stages"
)

// Exit codes.
const (
	OK      = 0
	Failed  = 1 // the command ran and something is wrong (a check failed, the stack is not up)
	Usage   = 2 // the command line is wrong: unknown command, stage or persona
	usageOf = `usage:
  workshop explain N                     what stage N puts in force, its best practices, checks and troubleshooting
  workshop preview N [--json] [--full]   what "up N" would change on stack stepN: per kind, each change, each creation
  workshop up N [--json] [--full]        put stage N in force on stack stepN (policy pack included)
  workshop diff N M [--json] [--full]    what moving the live stack stepN to stage M adds, changes and removes
                                         (--full: Pulumi's whole detailed diff first)
  workshop verify --stack S [--json] [--objects-only]
                                         check the stack's promises: its objects are there, then its probes
  workshop troubleshoot --stack S        run the read-only troubleshooting commands of the stack's stages
  workshop recover --stack S             after an interrupted up: unlock, refresh (dropping unrecorded creates), up
  workshop token PERSONA [--stack S]     print PERSONA's JWT from stack S (default step4)
  workshop prepare N [--load [--pull]]   cache the charts and list (or load into kind) every image stages 0..N run
  workshop reset [--yes]                 destroy every stack of this project and check nothing is left
  workshop handout --stack S [--out DIR] a participant's pack: a page per stage, the cheat sheet, the CA, their tokens
  workshop class up N --roster F [--parallel P]   every participant's own stack (class-NAME) to stage N, P at a time
  workshop class status --roster F       one line per participant: live stage, last run, last verify, last error
  workshop class verify --roster F [--objects-only]   verify every participant's stack, recording each verdict
  workshop class diff N M --roster F     what moving the participants at stage N to M changes, shown once
  workshop class reset --roster F --yes  destroy every participant's stack (existing clusters stay their owners')
  workshop class handout --roster F [--out DIR]   every participant's pack, in DIR/NAME (default handouts/NAME)
  --stack S overrides the stack (default stepN). Exit codes: 0 ok, 1 failed, 2 bad command line.
`
)

// IO is where a command writes, and whether a person is watching.
type IO struct {
	Stdout, Stderr io.Writer
	// Terminal is true when stdout is a terminal: progress is shown there, never in pipes.
	Terminal bool
}

// usageError is a wrong command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// inputError is bad input other than the command line (a stack file): exit code 2, no usage.
type inputError struct{ msg string }

func (e inputError) Error() string { return e.msg }

// Run runs one command and returns its exit code.
func Run(ctx context.Context, args []string, out IO, eng Engine) int {
	err := run(ctx, args, out, eng)
	var ue usageError
	var ie inputError
	switch {
	case err == nil:
		return OK
	case errors.As(err, &ue):
		fmt.Fprintf(out.Stderr, "workshop: %v\n%s", err, usageOf)
		return Usage
	case errors.As(err, &ie):
		fmt.Fprintf(out.Stderr, "workshop: %v\n", err)
		return Usage
	default:
		fmt.Fprintf(out.Stderr, "workshop: %v\n", err)
		return Failed
	}
}

// flags parses a command's arguments: positional ones first or last, flags anywhere.
type flags struct {
	fs    *flag.FlagSet
	stack *string
	json  *bool
	yes   *bool
	// objectsOnly: verify checks the objects and skips the probes.
	objectsOnly *bool
	// full: preview, up and diff print Pulumi's whole detailed diff too.
	full *bool
}

func newFlags(name string) flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := flags{fs: fs, stack: fs.String("stack", "", ""), json: fs.Bool("json", false, ""), yes: fs.Bool("yes", false, "")}
	switch name {
	case "verify":
		f.objectsOnly = fs.Bool("objects-only", false, "")
	case "preview", "up", "diff":
		f.full = fs.Bool("full", false, "")
	}
	return f
}

var negativeNumber = regexp.MustCompile(`^-[0-9]+$`)

// parse returns the positional arguments, which must number want.
func (f flags) parse(args []string, want int, what string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if negativeNumber.MatchString(args[0]) { // a stage of -1 is a bad stage, not an unknown flag
			pos, args = append(pos, args[0]), args[1:]
			continue
		}
		if err := f.fs.Parse(args); err != nil {
			return nil, usageError{err.Error()}
		}
		args = f.fs.Args()
		if len(args) > 0 {
			pos, args = append(pos, args[0]), args[1:]
		}
	}
	if len(pos) != want {
		return nil, usageError{fmt.Sprintf("%s takes %s", f.fs.Name(), what)}
	}
	return pos, nil
}

// stages parses want stage numbers.
func (f flags) stages(args []string, want int, what string) ([]config.Stage, error) {
	pos, err := f.parse(args, want, what)
	if err != nil {
		return nil, err
	}
	out := make([]config.Stage, len(pos))
	for i, p := range pos {
		if out[i], err = stage(p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// stackOnly parses a command that takes only flags and needs --stack.
func (f flags) stackOnly(args []string, what string) error {
	if _, err := f.parse(args, 0, "no arguments besides its flags"); err != nil {
		return err
	}
	if *f.stack == "" {
		return usageError{f.fs.Name() + " needs --stack S (" + what + ")"}
	}
	return nil
}

func run(ctx context.Context, args []string, out IO, eng Engine) error {
	if len(args) == 0 {
		return usageError{"no command"}
	}
	f := newFlags(args[0])
	switch args[0] {
	case "explain":
		pos, err := f.parse(args[1:], 1, "one stage number")
		if err != nil {
			return err
		}
		return explain(out.Stdout, pos[0])
	case "token":
		pos, err := f.parse(args[1:], 1, "one persona")
		if err != nil {
			return err
		}
		return token(ctx, out.Stdout, eng, stackOr(*f.stack, "step4"), pos[0])
	case "preview", "up":
		s, err := f.stages(args[1:], 1, "one stage number")
		if err != nil {
			return err
		}
		return apply(ctx, out, eng, args[0], stackOr(*f.stack, stackName(s[0])), s[0], *f.json, *f.full)
	case "diff":
		s, err := f.stages(args[1:], 2, "two stage numbers: the live stack's and the one to move to")
		if err != nil {
			return err
		}
		return diff(ctx, out, eng, stackOr(*f.stack, stackName(s[0])), s[1], *f.json, *f.full)
	case "verify":
		if err := f.stackOnly(args[1:], "the stack to check, e.g. step4"); err != nil {
			return err
		}
		return verifyStack(ctx, out, eng, *f.stack, *f.json, *f.objectsOnly)
	case "recover":
		if err := f.stackOnly(args[1:], "the stack whose up was interrupted"); err != nil {
			return err
		}
		return recoverStack(ctx, out, eng, *f.stack, *f.json)
	case "troubleshoot":
		if err := f.stackOnly(args[1:], "the stack to look into, e.g. step5"); err != nil {
			return err
		}
		return troubleshoot(ctx, out, eng, *f.stack)
	case "prepare":
		load, pull := f.fs.Bool("load", false, ""), f.fs.Bool("pull", false, "")
		s, err := f.stages(args[1:], 1, "one stage number")
		if err != nil {
			return err
		}
		if *pull && !*load {
			return usageError{"--pull goes with --load"}
		}
		return prepare(ctx, out, stackOr(*f.stack, stackName(s[0])), *load, *pull, *f.json)
	case "reset":
		if _, err := f.parse(args[1:], 0, "no arguments besides --yes"); err != nil {
			return err
		}
		return reset(ctx, out, eng, *f.yes)
	case "class":
		return runClass(ctx, args[1:], out, eng)
	case "handout":
		dir := f.fs.String("out", "", "")
		if err := f.stackOnly(args[1:], "the stack whose participant takes the pack home, e.g. step5"); err != nil {
			return err
		}
		return handoutCmd(ctx, out, eng, *f.stack, *dir)
	case "help", "-h", "--help":
		_, err := io.WriteString(out.Stdout, usageOf)
		return err
	default:
		return usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
}

func stackOr(stack, def string) string {
	if stack != "" {
		return stack
	}
	return def
}

// stackName is the project's stack for stage s.
func stackName(s config.Stage) string { return "step" + strconv.Itoa(int(s)) }

// stage parses a stage argument, naming the range this version knows.
func stage(arg string) (config.Stage, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(arg, "step"))
	if err != nil || n < 0 || config.Stage(n) > stages.Last() {
		return 0, usageError{fmt.Sprintf("%q is not a stage: stages are 0–%d", arg, stages.Last())}
	}
	return config.Stage(n), nil
}
