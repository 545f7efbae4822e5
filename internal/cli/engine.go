package cli

import (
	"context"
	"io"
	"sort"
	"strings"
)

// Engine is what the CLI needs of Pulumi: the Automation API (AutoEngine), or a fake in tests.
type Engine interface {
	// Outputs reads a stack's outputs, secrets shown.
	Outputs(ctx context.Context, stack string) (map[string]any, error)
	// Run runs one operation on a stack and returns every step it planned or took.
	Run(ctx context.Context, op Operation, stack string, o Options) ([]Step, error)
	// Resources lists the resources in a stack's state.
	Resources(ctx context.Context, stack string) ([]Resource, error)
	// Stacks lists the project's stacks on this machine.
	Stacks(ctx context.Context) ([]string, error)
	// RemoveStack forgets a stack (its resources must be destroyed first).
	RemoveStack(ctx context.Context, stack string) error
}

// Operation is a Pulumi operation.
type Operation string

const (
	Preview Operation = "preview"
	Up      Operation = "up"
	Destroy Operation = "destroy"
	// Recover finishes what an interrupted up left: the stack unlocked, the creates it did not
	// record dropped after a refresh reads what really exists, then an up.
	Recover Operation = "recover"
)

// Options say how an operation runs.
type Options struct {
	// ConfigFile runs the stack with another stack file's settings ("" = its own).
	ConfigFile string
	// Diff receives Pulumi's own output with the detailed diff (nil: none).
	Diff io.Writer
	// OnStep is told when a step starts and when it is done (progress).
	OnStep func(s Step, done bool)
}

// Resource is one resource of a stack's state.
type Resource struct {
	Type    string
	URN     string
	Outputs map[string]any
	Inputs  map[string]any
}

// Step is one resource step of an operation.
type Step struct {
	Op   string `json:"op"` // create, update, replace, delete, same, ...
	Type string `json:"type"`
	URN  string `json:"urn"`
}

// Name is the resource's name (the URN's last part).
func (s Step) Name() string { return s.URN[strings.LastIndex(s.URN, "::")+2:] }

// Kind is what a reviewer calls the resource: the type token's last part. Empty for the stack
// and providers, and for the workshop's components (their resources are counted instead).
func (s Step) Kind() string {
	if strings.HasPrefix(s.Type, "pulumi:") || strings.HasPrefix(s.Type, "istio-workshop:components:") {
		return ""
	}
	return s.Type[strings.LastIndex(s.Type, ":")+1:]
}

// Changes counts the steps of one kind that change something.
type Changes struct {
	Kind    string `json:"kind"`
	Create  int    `json:"create"`
	Update  int    `json:"update"`
	Replace int    `json:"replace"`
	Delete  int    `json:"delete"`
}

// Summarize counts the changing steps by kind, sorted by kind. A replacement is one "replace"
// (its create-replacement and delete-replaced halves are not counted again).
func Summarize(steps []Step) []Changes {
	by := map[string]*Changes{}
	for _, s := range steps {
		kind := s.Kind()
		if kind == "" {
			continue
		}
		c := by[kind]
		if c == nil {
			c = &Changes{Kind: kind}
		}
		switch s.Op {
		case "create":
			c.Create++
		case "update":
			c.Update++
		case "replace":
			c.Replace++
		case "delete":
			c.Delete++
		default:
			continue
		}
		by[kind] = c
	}
	out := make([]Changes, 0, len(by))
	for _, c := range by {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// Changing lists the steps that change something other than a create: what a reviewer of a
// stage move reads first.
func Changing(steps []Step) []Step {
	var out []Step
	for _, s := range steps {
		if s.Kind() != "" && (s.Op == "update" || s.Op == "replace" || s.Op == "delete") {
			out = append(out, s)
		}
	}
	return out
}
