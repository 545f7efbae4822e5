package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/istio-workshop/istio-workshop/internal/outputs"
	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/internal/verify"
	"github.com/istio-workshop/istio-workshop/stages"
)

// The checks verify runs; tests replace them.
var (
	checkObjects = verify.Objects
	hostProbe    = verify.Host
	clusterProbe = func(ctx context.Context, cfg *rest.Config, p probe.Probe, c verify.Credentials) probe.Result {
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return probe.CouldNot(p, err.Error())
		}
		return verify.InCluster(ctx, client, p, c)
	}
)

// verifyReport is verify's --json output.
type verifyReport struct {
	Stack     string              `json:"stack"`
	Stage     int                 `json:"stage"`
	Objects   int                 `json:"objects"`
	Missing   []string            `json:"missing"`
	Drifted   map[string][]string `json:"drifted"`
	Unchecked []string            `json:"unchecked"`
	// ProbesDiffer: the exported probes are not what the stack's stages define for its settings.
	ProbesDiffer []string       `json:"probesDiffer"`
	Traffic      string         `json:"traffic"` // "checked", or why not
	Probes       []probe.Result `json:"probes"`
	Skipped      []probe.Probe  `json:"skipped"`
	// Facts are the stages' checks that read the cluster (see stages.Fact).
	Facts []factResult `json:"facts"`
	Pass  bool         `json:"pass"`
}

// factResult is one fact's outcome; Skipped says why it was not checked.
type factResult struct {
	Stage   int    `json:"stage"`
	Name    string `json:"name"`
	Pass    bool   `json:"pass"`
	Detail  string `json:"detail,omitempty"`
	Skipped string `json:"skipped,omitempty"`
}

func (r factResult) String() string {
	switch {
	case r.Skipped != "":
		return fmt.Sprintf("skipped  stage %d: %s (%s)", r.Stage, r.Name, r.Skipped)
	case r.Pass:
		return fmt.Sprintf("pass     stage %d: %s", r.Stage, r.Name)
	}
	return fmt.Sprintf("FAIL     stage %d: %s: %s", r.Stage, r.Name, r.Detail)
}

// checkFacts checks the facts of the stack's stages; with noIstio (the local control plane, or
// --objects-only) those about what a running Istio writes are skipped.
func checkFacts(ctx context.Context, cfg *rest.Config, facts []stages.Fact, noIstio bool, root []byte) ([]factResult, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	out := []factResult{}
	for _, f := range facts {
		r := factResult{Stage: int(f.Stage), Name: f.Name}
		if f.RealCluster && noIstio {
			r.Skipped = "written by a running Istio: not checked on the local control plane or with --objects-only"
			out = append(out, r)
			continue
		}
		var err error
		switch f.Kind {
		case stages.IssuedByRoot:
			err = verify.IssuedByRoot(ctx, client, f.Namespace, f.Object, root)
		case stages.MountsSecret:
			err = verify.MountsSecret(ctx, client, f.Namespace, f.Object, f.Volume, f.Secret)
		case stages.PublishesRoot:
			err = verify.PublishesRoot(ctx, client, f.Namespace, f.Object, root)
		case stages.NamesService:
			err = verify.NamesService(ctx, client, f.Namespace, f.Object, f.Key, f.Text, f.Service, f.Port)
		case stages.LogsContain:
			err = verify.LogsContain(ctx, client, f.Namespace, f.Object, f.Key, f.Text)
		default:
			err = fmt.Errorf("verify knows no fact of kind %q", f.Kind)
		}
		r.Pass = err == nil
		if err != nil {
			r.Detail = err.Error()
		}
		out = append(out, r)
	}
	return out, nil
}

// partitionFacts splits the facts verify reads before the probes from those it reads after.
func partitionFacts(facts []stages.Fact) (before, after []stages.Fact) {
	for _, f := range facts {
		if f.AfterTraffic {
			after = append(after, f)
		} else {
			before = append(before, f)
		}
	}
	return before, after
}

// verify checks that every object the stack made is in the cluster, then runs the stage's
// probes (on the local control plane no container runs, so only the objects are checked; with
// objectsOnly, a quick check that sends no traffic, neither are they).
func verifyStack(ctx context.Context, out IO, eng Engine, stack string, asJSON, objectsOnly bool) error {
	o, err := liveOutputs(ctx, eng, stack)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(o.Kubeconfig))
	if err != nil {
		return fmt.Errorf("stack %s: its kubeconfig output: %w", stack, err)
	}
	resources, err := eng.Resources(ctx, stack)
	if err != nil {
		return fmt.Errorf("reading the state of stack %s: %w", stack, err)
	}
	var objs []verify.Object
	for _, r := range resources {
		if strings.HasPrefix(r.Type, "kubernetes:") && !strings.HasPrefix(r.Type, "kubernetes:helm.sh") && !strings.HasPrefix(r.Type, "kubernetes:yaml") {
			if obj, ok := verify.ObjectOf(r.Outputs, r.Inputs); ok {
				objs = append(objs, obj)
			}
		}
	}
	rep := verifyReport{Stack: stack, Stage: o.Stage, Objects: len(objs), Missing: []string{}, Unchecked: []string{}, ProbesDiffer: probesDiffer(stack, o), Probes: []probe.Result{}, Skipped: []probe.Probe{}}
	checked, err := checkObjects(ctx, cfg, objs)
	if err != nil {
		return fmt.Errorf("checking the objects of stack %s: %w", stack, err)
	}
	for _, m := range checked.Missing {
		rep.Missing = append(rep.Missing, m.String())
	}
	rep.Drifted = checked.Drifted
	if rep.Drifted == nil {
		rep.Drifted = map[string][]string{}
	}
	rep.Unchecked = append(rep.Unchecked, checked.Unchecked...)

	var facts []stages.Fact
	if factsCfg, err := stages.Load(stack, o.Settings); err == nil {
		facts = stages.Facts(factsCfg) // when the settings do not load, probesDiffer says so
	}
	// What a running Istio writes is skipped where none runs, and by --objects-only, which checks
	// the objects and the facts about them.
	noIstio := o.ClusterProvider == "local" || objectsOnly
	before, after := partitionFacts(facts)
	rep.Facts, err = checkFacts(ctx, cfg, before, noIstio, []byte(o.RootCA))
	if err != nil {
		return fmt.Errorf("checking the facts of stack %s: %w", stack, err)
	}

	probes := o.Probes
	switch {
	case objectsOnly:
		rep.Traffic = "not run: --objects-only"
		rep.Skipped = probes
	case o.ClusterProvider == "local":
		rep.Traffic = "not run: on the local control plane objects exist but no container runs and no traffic flows"
		rep.Skipped = probes
	default:
		rep.Traffic = "checked"
		creds := credentials(o)
		for _, p := range probes {
			if !asJSON && out.Terminal {
				fmt.Fprintf(out.Stderr, "\r\033[Kprobing: %s", p.Name)
			}
			rep.Probes = append(rep.Probes, verify.Until(ctx, p, 5*time.Second, func() probe.Result {
				if p.From == probe.Host {
					return hostProbe(ctx, p, creds)
				}
				return clusterProbe(ctx, cfg, p, creds)
			}))
		}
		endProgress(out)
	}
	// What the probes leave behind (an access log line) is read once they have run.
	afterTraffic, err := checkFacts(ctx, cfg, after, noIstio, []byte(o.RootCA))
	if err != nil {
		return fmt.Errorf("checking the facts of stack %s: %w", stack, err)
	}
	rep.Facts = append(rep.Facts, afterTraffic...)
	factsFailed := 0
	for _, f := range rep.Facts {
		if !f.Pass && f.Skipped == "" {
			factsFailed++
		}
	}
	failed, couldNot := 0, 0
	for _, r := range rep.Probes {
		if !r.Pass {
			failed++
		}
		if r.Outcome == probe.CouldNotProbe {
			couldNot++
		}
	}
	rep.Pass = len(rep.Missing) == 0 && len(rep.Drifted) == 0 && len(rep.Unchecked) == 0 && len(rep.ProbesDiffer) == 0 && failed == 0 && factsFailed == 0

	if asJSON {
		enc := json.NewEncoder(out.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		w := out.Stdout
		fmt.Fprintf(w, "Stack %s, stage %d\n\nObjects: %d in the stack, %d missing from the cluster, %d changed, %d not checked\n", stack, o.Stage, len(objs), len(rep.Missing), len(rep.Drifted), len(rep.Unchecked))
		for _, m := range rep.Missing {
			fmt.Fprintf(w, "  missing: %s (deleted behind the stack's back: `scripts/pulumi up --refresh --stack %s` puts it back)\n", m, stack)
		}
		for _, name := range slices.Sorted(maps.Keys(rep.Drifted)) {
			fmt.Fprintf(w, "  changed: %s (edited behind the stack's back: `scripts/pulumi up --refresh --stack %s` puts it back)\n", name, stack)
			for _, d := range rep.Drifted[name] {
				fmt.Fprintf(w, "    %s\n", d)
			}
		}
		for _, u := range rep.Unchecked {
			fmt.Fprintf(w, "  not checked: %s\n", u)
		}
		if len(rep.Facts) > 0 {
			fmt.Fprintf(w, "\nFacts (read from the cluster):\n")
			for _, f := range rep.Facts {
				fmt.Fprintf(w, "  %s\n", f)
			}
		}
		fmt.Fprintf(w, "\nProbes: %s\n", rep.Traffic)
		for _, d := range rep.ProbesDiffer {
			fmt.Fprintf(w, "  differs: %s (`scripts/pulumi up --stack %s` exports the stages' probes again)\n", d, stack)
		}
		for _, r := range rep.Probes {
			fmt.Fprintf(w, "  %s\n", r)
		}
		for _, p := range rep.Skipped {
			fmt.Fprintf(w, "  skipped  %s\n", p)
		}
	}
	if !rep.Pass {
		return fmt.Errorf("stack %s does not keep its promises: %d object(s) missing, %d changed, %d not checked, %d probe(s) not as the stages define, %d fact(s) failed, %d probe(s) failed (%d of them could not probe)",
			stack, len(rep.Missing), len(rep.Drifted), len(rep.Unchecked), len(rep.ProbesDiffer), factsFailed, failed, couldNot)
	}
	return nil
}

// credentials are the stack's CA, client certificate and tokens, from its outputs (before stage
// 4 there are no tokens; a probe needing one could not probe, and says so).
func credentials(o outputs.Stack) verify.Credentials {
	return verify.Credentials{RootCA: []byte(o.RootCA), ClientCert: []byte(o.ClientCert), ClientKey: []byte(o.ClientKey), Tokens: o.Tokens}
}

// probesDiffer holds the stack's exported probes to what its stages define for the settings it
// was made with: a probe edited, lost or added on the way would otherwise be run, or skipped,
// as if it were the stage's promise.
func probesDiffer(stack string, o outputs.Stack) []string {
	if o.Settings == nil {
		return []string{"the stack exports no settings: it was made by an older version of the workshop"}
	}
	cfg, err := stages.Load(stack, o.Settings)
	if err != nil {
		return []string{"the stack's settings do not load: " + err.Error()}
	}
	type key struct {
		stage int
		name  string
	}
	exported := map[key]probe.Probe{}
	for _, p := range o.Probes {
		exported[key{p.Stage, p.Name}] = p
	}
	var out []string
	for _, want := range stages.Probes(cfg) {
		k := key{want.Stage, want.Name}
		got, ok := exported[k]
		delete(exported, k)
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("stage %d defines probe %q, the stack does not export it", want.Stage, want.Name))
		case !got.Expect.Equal(want.Expect):
			out = append(out, fmt.Sprintf("probe %q of stage %d: the stack expects %s, the stage defines %s", want.Name, want.Stage, got.Expect, want.Expect))
		case !got.Equal(want):
			out = append(out, fmt.Sprintf("probe %q of stage %d: the stack exports %s, the stage defines %s", want.Name, want.Stage, got, want))
		}
	}
	for _, p := range o.Probes {
		if _, extra := exported[key{p.Stage, p.Name}]; extra {
			out = append(out, fmt.Sprintf("the stack exports probe %q of stage %d, which no stage defines", p.Name, p.Stage))
		}
	}
	return out
}
