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
	// Policy, when set, receives what the policy pack said.
	Policy *Policy
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
	// Object is a Kubernetes object's namespace/name (from its inputs), else empty.
	Object string `json:"object,omitempty"`
	// Changed: of an update or replace, each input that changes, old and new.
	Changed []FieldChange `json:"changed,omitempty"`
	// ReplaceBecause: of a replace, the inputs whose change forces it.
	ReplaceBecause []string `json:"replaceBecause,omitempty"`
}

// FieldChange is one input of a resource that a step changes. Secrets come masked.
type FieldChange struct {
	Path string `json:"path"`
	// Kind is Pulumi's: add, delete, update (with -replace when it forces a replacement).
	Kind string `json:"kind"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
}

// Policy is what the policy pack said of an operation.
type Policy struct {
	// Pack names the pack; empty when none ran.
	Pack string `json:"pack"`
	// Rules are the rules the pack checked.
	Rules []string `json:"rules"`
	// Violations, each "level rule: message (resource)".
	Violations []string `json:"violations"`
}

// Owner is the workshop component the resource belongs to (the URN's parent types), else "".
func (s Step) Owner() string {
	parts := strings.Split(s.URN, "::")
	if len(parts) < 3 {
		return ""
	}
	for _, t := range strings.Split(parts[2], "$") {
		if name, ok := strings.CutPrefix(t, "istio-workshop:components:"); ok {
			return name
		}
	}
	return ""
}

// Label is what a reviewer reads for the resource: its kind and namespace/name.
func (s Step) Label() string {
	name := s.Object
	if name == "" {
		name = s.Name()
	}
	return s.Kind() + " " + name
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
