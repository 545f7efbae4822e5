// Package stages is the workshop's stage registry. Each stage is one value in its own file
// (stageN_name.go): what it promises, the settings it reads and refuses, what it changes in the
// objects of earlier stages, what it applies, the checks that prove its promise, the images and
// charts it brings and what a presenter says about it. The program, verify, explain, prepare and
// the tests loop over the registry; nothing else gives a stage number a meaning.
package stages

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/infra"
	"github.com/istio-workshop/istio-workshop/internal/charts"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/policies/objects"
)

// Stage is one stage of the workshop. Only Number, Name, Title, Promise and Apply are required.
type Stage struct {
	Number config.Stage
	// Name is short, for resource names and CLI output.
	Name    string
	Title   string
	Promise string // what a participant can rely on once the stage is applied
	// Enforced says where the promise is kept (the handouts' diagrams).
	Enforced []Enforcement
	// Settings are the workshop:* keys the stage reads.
	Settings []string
	// Check reports settings with which the stage cannot keep its promise; it runs for every
	// configuration that puts the stage in force.
	Check func(c config.Config) []config.FieldError
	// Amend sets what the stage changes in the objects of earlier stages, before any is applied.
	Amend func(c config.Config, p *Plan)
	// Apply registers the stage's resources, given what the earlier stages built.
	Apply func(ctx *pulumi.Context, b *Built) error
	// Components are the types of the component resources Apply registers (the CLI files each
	// created object under the stage of the component that owns it).
	Components []string
	// Probes are the checks of the stages up to this one: those of the earlier stages (which this
	// stage may change, as it changes their objects) and its own.
	Probes func(c config.Config, earlier []probe.Probe) []probe.Probe
	// Facts are the stage's checks that read the cluster instead of sending traffic.
	Facts func(c config.Config) []Fact
	// Images are the container images the stage runs.
	Images func(c config.Config) []string
	// Charts are the Helm charts it installs.
	Charts []charts.Chart
	// Holds is the promise as objects the stack must hold: the policy pack fails a preview that
	// drops them.
	Holds *Holds
	// Guide is what a presenter says about it.
	Guide Guide
}

// Holds is a stage's promise as objects: What names them, Kept finds them among a stack's.
type Holds struct {
	What string
	Kept func(objs []objects.Object, s objects.Stack) bool
}

// Plan is what the stages in force make of objects an earlier stage applies: each stage's Amend
// changes it before anything is applied, so an object is registered once, whole.
type Plan struct {
	// Mesh is what later stages change in stage 1's Istio (stage 8: istiod's CA).
	Mesh components.MeshShape
	// Bookinfo is the shape of Bookinfo's namespace and ingress (stage 1's objects).
	Bookinfo components.BookinfoShape
	// Reviews is the routing of the reviews service (stage 5's objects).
	Reviews components.ReviewsShape
}

// Built is what the stages applied so far have made; each stage's Apply adds its part.
type Built struct {
	Config  config.Config
	Plan    Plan
	Cluster *infra.Cluster
	// After stage 0: the cluster was found clean.
	Clean *components.CleanCluster
	// After stage 1.
	Mesh     *components.Mesh
	Bookinfo *components.Bookinfo
	// After stage 2.
	IngressTLS *components.IngressTLS
	// After stage 5.
	Authorization *components.Authorization
	// After stage 6.
	Egress *components.Egress
}

// On is the option that puts a resource on the stack's cluster.
func (b *Built) On() pulumi.ResourceOption { return pulumi.Provider(b.Cluster.Provider) }

var registry []Stage

// register adds a stage; each stage's file registers it in its init.
func register(s Stage) Stage {
	registry = append(registry, s)
	slices.SortFunc(registry, func(a, b Stage) int { return int(a.Number - b.Number) })
	return s
}

// All is every stage, in order. A registry with a gap or a duplicate number is a build mistake,
// which the first use reports.
func All() []Stage {
	for i, s := range registry {
		if s.Number != config.Stage(i) {
			panic(fmt.Sprintf("stage registry: stage %q has number %d at position %d: stages are numbered 0, 1, 2... without gaps", s.Name, s.Number, i))
		}
	}
	return registry
}

// Last is the highest stage there is.
func Last() config.Stage { return config.Stage(len(All()) - 1) }

// OwnerOf is the stage whose Apply registers components of type component ("Mesh"); objects
// outside every component (the cluster, its provider) are stage 0's.
func OwnerOf(component string) config.Stage {
	for _, s := range All() {
		if slices.Contains(s.Components, component) {
			return s.Number
		}
	}
	return 0
}

// Get is stage n, if there is one.
func Get(n config.Stage) (Stage, bool) {
	if n < 0 || n > Last() {
		return Stage{}, false
	}
	return All()[n], true
}

// InForce are the stages c puts in force, in order.
func InForce(c config.Config) []Stage { return All()[:c.Stage+1] }

// Rules are the registry's part of loading a configuration: the stages there are and the checks
// of those in force.
func Rules() config.Rules {
	return config.Rules{Last: Last(), Check: func(c config.Config) []config.FieldError {
		var errs []config.FieldError
		if c.Stage < 0 || c.Stage > Last() {
			return nil // already refused
		}
		for _, s := range InForce(c) {
			if s.Check != nil {
				errs = append(errs, s.Check(c)...)
			}
		}
		return errs
	}}
}

// Load reads a stack's settings (keys as the engine passes them) against the registry.
func Load(stack string, values map[string]string) (config.Config, error) {
	return config.Load(stack, values, Rules())
}

// Settings is every setting a stack may set, the stage's range filled in from the registry.
func Settings() []config.Setting {
	out := slices.Clone(config.Settings)
	for i, s := range out {
		if s.Key == "stage" {
			out[i] = config.StageSetting(Last())
		}
	}
	return out
}

// PlanFor is what c's stages make of the earlier stages' objects.
func PlanFor(c config.Config) Plan {
	var p Plan
	for _, s := range InForce(c) {
		if s.Amend != nil {
			s.Amend(c, &p)
		}
	}
	return p
}

// Probes are every check of the promises c's stages make, in stage order.
func Probes(c config.Config) []probe.Probe {
	var probes []probe.Probe
	for _, s := range InForce(c) {
		if s.Probes != nil {
			probes = s.Probes(c, probes)
		}
	}
	return probes
}

// Promises are the stages' promises as objects, for the policy pack.
func Promises() []objects.Promise {
	var out []objects.Promise
	for _, s := range All() {
		if s.Holds != nil {
			out = append(out, objects.Promise{Stage: int(s.Number), What: s.Holds.What, Kept: s.Holds.Kept})
		}
	}
	return out
}

// Images are the container images c's stages run, sorted, without duplicates.
func Images(c config.Config) []string {
	var out []string
	for _, s := range InForce(c) {
		if s.Images != nil {
			out = append(out, s.Images(c)...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Charts are the Helm charts c's stages install, in install order.
func Charts(c config.Config) []charts.Chart {
	var out []charts.Chart
	for _, s := range InForce(c) {
		out = append(out, s.Charts...)
	}
	return out
}

// Apply puts c's stages in force on the cluster, in order.
func Apply(ctx *pulumi.Context, c config.Config, cluster *infra.Cluster) (*Built, error) {
	b := &Built{Config: c, Plan: PlanFor(c), Cluster: cluster}
	for _, s := range InForce(c) {
		if err := s.Apply(ctx, b); err != nil {
			return nil, fmt.Errorf("stage %d (%s): %w", s.Number, s.Name, err)
		}
	}
	return b, nil
}

// ingressProbe asks for the product page over HTTPS from the participant's machine with
// persona's token ("" for none) and expects status.
func ingressProbe(c config.Config, stage int, name, persona string, status int) probe.Probe {
	in := c.Ingress
	return probe.Probe{Stage: stage, Name: name, From: probe.Host, URL: names.ProductPageURL("https", in.Host, in.HTTPSPort),
		CACert: true, ClientCert: in.MutualTLS, Persona: persona, Expect: probe.Status(status)}
}
