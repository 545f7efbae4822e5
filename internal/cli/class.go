package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/internal/class"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/stages"
)

// classFlags are the flags of `workshop class SUBCOMMAND`.
type classFlags struct {
	flags
	roster      *string
	parallel    *int
	objectsOnly *bool
	out         *string
}

func newClassFlags(sub string) classFlags {
	f := classFlags{flags: newFlags("class " + sub)}
	f.roster = f.fs.String("roster", "", "")
	f.parallel = f.fs.Int("parallel", 2, "")
	f.objectsOnly = f.fs.Bool("objects-only", false, "")
	f.out = f.fs.String("out", HandoutsDir, "")
	f.full = f.fs.Bool("full", false, "")
	return f
}

// runClass runs `workshop class SUBCOMMAND ...`.
func runClass(ctx context.Context, args []string, out IO, eng Engine) error {
	if len(args) == 0 {
		return usageError{"class needs a subcommand: up, status, verify, diff, handout or reset"}
	}
	sub := args[0]
	f := newClassFlags(sub)
	var pos []config.Stage
	var err error
	switch sub {
	case "up":
		pos, err = f.stages(args[1:], 1, "one stage number")
	case "diff":
		pos, err = f.stages(args[1:], 2, "two stage numbers: the stage the participants are at and the one to move to")
	case "status", "verify", "reset", "handout":
		_, err = f.parse(args[1:], 0, "no arguments besides its flags")
	default:
		return usageError{fmt.Sprintf("unknown class subcommand %q: up, status, verify, diff or reset", sub)}
	}
	if err != nil {
		return err
	}
	if *f.roster == "" {
		return usageError{"class " + sub + " needs --roster FILE (the participants and their clusters)"}
	}
	if *f.parallel < 1 || *f.parallel > 32 {
		return usageError{fmt.Sprintf("--parallel %d: run 1–32 participants at a time", *f.parallel)}
	}
	roster, err := class.Load(*f.roster)
	if err != nil {
		return inputError{err.Error()}
	}
	record, err := class.OpenRecord(*f.roster)
	if err != nil {
		return fmt.Errorf("reading the class's record: %w", err)
	}
	c := classRun{out: out, eng: eng, roster: roster, record: record, parallel: *f.parallel, asJSON: *f.json}
	switch sub {
	case "up":
		return c.up(ctx, pos[0])
	case "status":
		return c.status(ctx)
	case "verify":
		return c.verify(ctx, *f.objectsOnly)
	case "diff":
		return c.diff(ctx, pos[0], pos[1], *f.full)
	case "handout":
		return c.handout(ctx, *f.out)
	default:
		if !*f.yes {
			return usageError{"class reset destroys every participant's stack (and the clusters the workshop made for them): add --yes"}
		}
		return c.reset(ctx)
	}
}

// classRun is one class command over the roster's participants.
type classRun struct {
	out      IO
	eng      Engine
	roster   class.Roster
	record   *class.Record
	parallel int
	asJSON   bool
	mu       sync.Mutex // one participant's line at a time
}

// slot is p's place in the roster (names are unique: the roster's check).
func (c *classRun) slot(p class.Participant) int {
	return slices.IndexFunc(c.roster.Participants, func(q class.Participant) bool { return q.Name == p.Name })
}

// participantResult is one participant's line of a class command.
type participantResult struct {
	Participant string  `json:"participant"`
	Stack       string  `json:"stack"`
	OK          bool    `json:"ok"`
	Detail      string  `json:"detail,omitempty"`
	Error       string  `json:"error,omitempty"`
	Seconds     float64 `json:"seconds,omitempty"`
}

// each runs do for every participant (c.parallel at a time), prints each one's line as it ends,
// and fails, naming how many failed, if any did.
func (c *classRun) each(ctx context.Context, what, retry string, do func(context.Context, class.Participant) (string, error)) error {
	results := make([]participantResult, len(c.roster.Participants))
	errs := class.Each(ctx, c.roster.Participants, c.parallel, func(ctx context.Context, p class.Participant) error {
		start := time.Now()
		detail, err := do(ctx, p)
		r := participantResult{Participant: p.Name, Stack: p.Stack(), OK: err == nil, Detail: detail, Seconds: time.Since(start).Round(100 * time.Millisecond).Seconds()}
		if err != nil {
			r.Error = err.Error()
		}
		results[c.slot(p)] = r
		if !c.asJSON {
			c.mu.Lock()
			if err != nil {
				fmt.Fprintf(c.out.Stdout, "%-20s FAILED %s after %.1fs: %v\n", p.Name, what, r.Seconds, err)
			} else {
				fmt.Fprintf(c.out.Stdout, "%-20s %s in %.1fs: %s\n", p.Name, what, r.Seconds, detail)
			}
			c.mu.Unlock()
		}
		return err
	})
	if c.asJSON {
		enc := json.NewEncoder(c.out.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	}
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d participants failed to %s: %s", failed, len(errs), what, retry)
	}
	return nil
}

// up brings every participant's stack to stage n: the roster and every participant's settings
// are checked first, so a mistake stops the class before any stack changes.
func (c *classRun) up(ctx context.Context, n config.Stage) error {
	var problems []string
	for _, p := range c.roster.Participants {
		if _, err := stages.Load(p.Stack(), c.roster.StackSettings(p, n)); err != nil {
			problems = append(problems, fmt.Sprintf("participant %s: %v", p.Name, err))
		}
	}
	if len(problems) > 0 {
		return inputError{strings.Join(problems, "\n")}
	}
	for _, p := range c.roster.Participants {
		if err := writeParticipantStack(p.Stack(), c.roster.StackSettings(p, n)); err != nil {
			return err
		}
	}
	what := fmt.Sprintf("reach stage %d", n)
	return c.each(ctx, what, fmt.Sprintf("run `workshop class up %d --roster %s` again to retry them (the others' ups change nothing)", n, c.roster.Path),
		func(ctx context.Context, p class.Participant) (string, error) {
			start := time.Now()
			var policy Policy
			steps, err := c.eng.Run(ctx, Up, p.Stack(), Options{Policy: &policy})
			if rerr := c.record.Ran(p.Name, int(n), "up", err, time.Since(start)); rerr != nil && err == nil {
				err = rerr
			}
			if err != nil {
				return "", err
			}
			return changeCount(steps), nil
		})
}

// changeCount says what an operation did, in a few words.
func changeCount(steps []Step) string {
	counts := map[string]int{}
	for _, s := range steps {
		if s.Op != "same" && s.Op != "read" {
			counts[s.Op]++
		}
	}
	if len(counts) == 0 {
		return "no change"
	}
	var parts []string
	for _, op := range []string{"create", "update", "replace", "delete"} {
		if counts[op] > 0 {
			parts = append(parts, fmt.Sprintf("%d %sd", counts[op], op)) // created, updated, replaced, deleted
		}
	}
	return strings.Join(parts, ", ")
}

// writeParticipantStack writes the roster's settings into the participant's stack file, keeping
// what else the file holds (Pulumi's salt, the participant's own settings).
func writeParticipantStack(stack string, settings map[string]string) error {
	_, file, err := readStackYAML(stack)
	switch {
	case errors.Is(err, os.ErrNotExist):
		file = map[string]any{}
	case err != nil:
		return inputError{fmt.Sprintf("%v (fix the YAML, or delete the file)", err)}
	}
	cfg, _ := file["config"].(map[string]any)
	if cfg == nil {
		cfg = map[string]any{}
	}
	for k := range cfg {
		if _, set := settings[k]; !set && class.Owned(k) {
			delete(cfg, k)
		}
	}
	for k, v := range settings {
		cfg[k] = v
	}
	file["config"] = cfg
	raw, err := yaml.Marshal(file)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(StacksDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(StacksDir, "Pulumi."+stack+".yaml"), raw, 0o600)
}

// classStatus is one participant's line of `class status`.
type classStatus struct {
	Participant string `json:"participant"`
	Stack       string `json:"stack"`
	// Stage is the live stack's stage; -1 when it is not up.
	Stage  int          `json:"stage"`
	Last   *class.Entry `json:"last,omitempty"`
	Reason string       `json:"reason,omitempty"`
}

// status prints one line per participant: the live stage, the last operation and verify.
func (c *classRun) status(ctx context.Context) error {
	lines := make([]classStatus, len(c.roster.Participants))
	class.Each(ctx, c.roster.Participants, c.parallel, func(ctx context.Context, p class.Participant) error {
		s := classStatus{Participant: p.Name, Stack: p.Stack(), Stage: -1}
		if o, err := liveOutputs(ctx, c.eng, p.Stack()); err == nil {
			s.Stage = o.Stage
		} else {
			s.Reason = "not up"
		}
		if e, ok := c.record.Get(p.Name); ok {
			s.Last = &e
		}
		lines[c.slot(p)] = s
		return nil
	})
	if c.asJSON {
		enc := json.NewEncoder(c.out.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(lines)
	}
	w := tabwriter.NewWriter(c.out.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PARTICIPANT\tSTACK\tSTAGE\tLAST RUN\tVERIFY\tLAST ERROR")
	for _, s := range lines {
		stage, last, verify, lastErr := "-", "-", "-", ""
		if s.Stage >= 0 {
			stage = fmt.Sprint(s.Stage)
		}
		if e := s.Last; e != nil {
			last = fmt.Sprintf("%s %d %s (%.0fs, %s)", e.Op, e.Stage, map[bool]string{true: "ok", false: "FAILED"}[e.OK], e.Seconds, e.At)
			if e.Verify != "" {
				verify = e.Verify
			}
			lastErr = firstLine(e.Error)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Participant, s.Stack, stage, last, verify, lastErr)
	}
	return w.Flush()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// verify runs verify on every participant's stack and records each verdict.
func (c *classRun) verify(ctx context.Context, objectsOnly bool) error {
	return c.each(ctx, "verify", "`workshop verify --stack class-NAME` shows one participant's report", func(ctx context.Context, p class.Participant) (string, error) {
		var report bytes.Buffer
		err := verifyStack(ctx, IO{Stdout: &report, Stderr: io.Discard}, c.eng, p.Stack(), false, objectsOnly)
		verdict := "pass"
		if err != nil {
			verdict = "fail: " + firstLine(err.Error())
		}
		if rerr := c.record.Verified(p.Name, verdict); rerr != nil && err == nil {
			err = rerr
		}
		if err != nil {
			return "", err
		}
		return "every promise kept", nil
	})
}

// diff shows once what moving the participants at stage `from` to stage `to` changes: their
// stacks differ in their clusters only, so the delta is the same for each.
func (c *classRun) diff(ctx context.Context, from, to config.Stage, full bool) error {
	var at, elsewhere []string
	for _, p := range c.roster.Participants {
		o, err := liveOutputs(ctx, c.eng, p.Stack())
		switch {
		case err != nil:
			elsewhere = append(elsewhere, p.Name+" (not up)")
		case config.Stage(o.Stage) != from:
			elsewhere = append(elsewhere, fmt.Sprintf("%s (at stage %d)", p.Name, o.Stage))
		default:
			at = append(at, p.Name)
		}
	}
	if len(at) == 0 {
		return fmt.Errorf("no participant's stack is at stage %d: `workshop class status --roster %s` says where each is", from, c.roster.Path)
	}
	if !c.asJSON {
		fmt.Fprintf(c.out.Stdout, "The same change for every participant at stage %d (%s), shown for %s:\n", from, strings.Join(at, ", "), at[0])
		if len(elsewhere) > 0 {
			fmt.Fprintf(c.out.Stdout, "Not at stage %d: %s\n", from, strings.Join(elsewhere, ", "))
		}
		fmt.Fprintln(c.out.Stdout)
	}
	return diff(ctx, c.out, c.eng, class.StackPrefix+at[0], to, c.asJSON, full)
}

// handout writes every participant's pack into dir/NAME: each holds that participant's tokens
// and nobody else's.
func (c *classRun) handout(ctx context.Context, dir string) error {
	return c.each(ctx, "write the handout", "their stacks must be up (`workshop class status`)", func(ctx context.Context, p class.Participant) (string, error) {
		into := filepath.Join(dir, p.Name)
		pages, err := writeHandout(ctx, c.eng, p.Stack(), p.Name, into)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d pages in %s", pages, into), nil
	})
}

// reset destroys every participant's stack and forgets it; clusters the workshop made (kind,
// local) go with their stacks, existing ones stay their owners'.
func (c *classRun) reset(ctx context.Context) error {
	return c.each(ctx, "reset", "run `workshop class reset` again to finish them", func(ctx context.Context, p class.Participant) (string, error) {
		start := time.Now()
		stacks, err := c.eng.Stacks(ctx)
		if err != nil {
			return "", err
		}
		if !slices.Contains(stacks, p.Stack()) {
			return "no stack", nil
		}
		_, err = c.eng.Run(ctx, Destroy, p.Stack(), Options{})
		if err == nil {
			err = c.eng.RemoveStack(ctx, p.Stack())
		}
		if rerr := c.record.Ran(p.Name, -1, "reset", err, time.Since(start)); rerr != nil && err == nil {
			err = rerr
		}
		if err != nil {
			return "", err
		}
		return "stack destroyed", nil
	})
}
