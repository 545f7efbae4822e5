// Package class is the workshop's classroom: a roster of participants, each with a cluster of
// their own and a stack of their own, brought to a stage side by side. Pulumi and Kubernetes do
// the work; this package only says who, where, how many at a time, and what happened.
package class

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/internal/config"
)

// Roster is who takes part, and on which cluster.
type Roster struct {
	// Path is the roster file (its name names the class's record of runs).
	Path string `json:"-"`
	// Settings are workshop:* settings every participant's stack gets (meshMode, personas...).
	Settings map[string]string `json:"settings,omitempty"`
	// Participants, in the roster's order.
	Participants []Participant `json:"participants"`
}

// Participant is one person and their cluster: an existing one (a kubeconfig context the
// organiser provides or the participant brings), or one the workshop makes (kind, local).
type Participant struct {
	Name string `json:"name"`
	// Provider is the workshop's clusterProvider; default existing with a kubeconfig, else kind.
	Provider string `json:"provider,omitempty"`
	// Kubeconfig and Context name an existing cluster.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Context    string `json:"context,omitempty"`
}

// StackPrefix starts every participant's stack name.
const StackPrefix = "class-"

// Stack is the participant's own stack.
func (p Participant) Stack() string { return StackPrefix + p.Name }

// participantName keeps stack and cluster names valid (the cluster is istio-workshop-class-NAME).
var participantName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)

// reserved settings are the roster's to set per participant, never class-wide.
var reserved = []string{"stage", "clusterProvider", "clusterName", "kubeconfig", "kubeContext"}

// perKind are the settings the roster sets per participant when several use kind here.
var perKind = []string{"httpPort", "httpsPort"}

// Owned reports whether key (workshop:NAME) is the roster's alone: a participant's stack file
// keeps such a key only while the roster sets it (a participant moved from an existing cluster
// to kind must lose the old kubeconfig).
func Owned(key string) bool {
	k, ok := strings.CutPrefix(key, config.Namespace+":")
	return ok && slices.Contains(reserved, k)
}

// Load reads and checks a roster: every problem at once, before anything starts.
func Load(path string) (Roster, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Roster{}, fmt.Errorf("reading the roster: %w", err)
	}
	var r Roster
	if err := yaml.UnmarshalStrict(raw, &r); err != nil {
		return Roster{}, fmt.Errorf("roster %s: %w (see the README's classroom section for its fields)", path, err)
	}
	r.Path = path
	return r, r.check()
}

func (r Roster) check() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(r.Participants) == 0 {
		bad("no participants: list them under participants:")
	}
	names := map[string]bool{}
	clusters := map[string]string{} // an existing cluster's API server -> who has it
	for i := range r.Participants {
		p := &r.Participants[i]
		who := fmt.Sprintf("participant %d (%s)", i+1, p.Name)
		switch {
		case !participantName.MatchString(p.Name):
			bad("%s: name %q must be lowercase letters, digits and '-', starting with a letter, at most 20 characters", who, p.Name)
		case names[p.Name]:
			bad("%s: the name %s is listed twice: give each participant one line", who, p.Name)
		}
		names[p.Name] = true
		if p.Provider == "" {
			p.Provider = string(config.Kind)
			if p.Kubeconfig != "" {
				p.Provider = string(config.Existing)
			}
		}
		switch config.Provider(p.Provider) {
		case config.Existing:
			server, err := apiServer(p.Kubeconfig, p.Context)
			if err != nil {
				bad("%s: %v", who, err)
				continue
			}
			if other, taken := clusters[server]; taken {
				bad("%s: the cluster at %s is %s's too: one cluster per participant (their stacks would overwrite each other's objects)", who, server, other)
			}
			clusters[server] = p.Name
		case config.Kind, config.Local, config.Minikube:
			if p.Kubeconfig != "" || p.Context != "" {
				bad("%s: kubeconfig and context are for provider existing; provider %s makes the cluster", who, p.Provider)
			}
		default:
			bad("%s: provider %q must be existing, kind, local or minikube", who, p.Provider)
		}
	}
	// After the participants: their providers (defaulted above) decide whether ports are per participant.
	severalKind := r.kindParticipants() > 1
	for key := range r.Settings {
		switch k := strings.TrimPrefix(key, config.Namespace+":"); {
		case slices.Contains(reserved, k):
			bad("settings: %s:%s is set per participant by the roster (provider, kubeconfig, context) and by `class up N`, not class-wide", config.Namespace, k)
		case severalKind && slices.Contains(perKind, k):
			bad("settings: %s:%s cannot be class-wide with several kind participants on this machine: each gets its own ports (%d and %d for the first, then 2 more each); remove it", config.Namespace, k, kindPortBase, kindPortBase+1)
		}
	}
	return errors.Join(errs...)
}

// kindPortBase is the first host port of a class's kind participants when several share this
// machine (their clusters would otherwise all ask for ports 80 and 443); in the range the
// machine does not hand out to outgoing connections.
const kindPortBase = 20080

func (r Roster) kindParticipants() int {
	n := 0
	for _, p := range r.Participants {
		if p.Provider == string(config.Kind) {
			n++
		}
	}
	return n
}

// kindPorts are p's ingress host ports when several kind participants share this machine: by
// their order among the kind participants.
func (r Roster) kindPorts(p Participant) (http, https int, ok bool) {
	if p.Provider != string(config.Kind) || r.kindParticipants() < 2 {
		return 0, 0, false
	}
	i := 0
	for _, q := range r.Participants {
		if q.Name == p.Name {
			break
		}
		if q.Provider == string(config.Kind) {
			i++
		}
	}
	return kindPortBase + 2*i, kindPortBase + 2*i + 1, true
}

// apiServer is the API server a kubeconfig's context (its current one if empty) points at.
func apiServer(path, context string) (string, error) {
	if path == "" {
		return "", errors.New("provider existing needs kubeconfig: the path of the file with the participant's cluster")
	}
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, rest)
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return "", fmt.Errorf("kubeconfig %s cannot be read: %w", path, err)
	}
	if context == "" {
		context = kc.CurrentContext
	}
	ctx, ok := kc.Contexts[context]
	if !ok {
		known := slices.Sorted(maps.Keys(kc.Contexts))
		return "", fmt.Errorf("kubeconfig %s has no context %q (it has: %s)", path, context, strings.Join(known, ", "))
	}
	cluster, ok := kc.Clusters[ctx.Cluster]
	if !ok {
		return "", fmt.Errorf("kubeconfig %s: context %q names cluster %q, which the file does not define", path, context, ctx.Cluster)
	}
	return cluster.Server, nil
}

// StackSettings are the workshop:* settings of p's stack at stage n: the roster's class-wide
// settings, then p's cluster.
func (r Roster) StackSettings(p Participant, n config.Stage) map[string]string {
	out := map[string]string{}
	for k, v := range r.Settings {
		if !strings.HasPrefix(k, config.Namespace+":") {
			k = config.Namespace + ":" + k
		}
		out[k] = v
	}
	set := func(k, v string) {
		if v != "" {
			out[config.Namespace+":"+k] = v
		}
	}
	set("stage", fmt.Sprint(int(n)))
	set("clusterProvider", p.Provider)
	set("kubeconfig", p.Kubeconfig)
	set("kubeContext", p.Context)
	if http, https, ok := r.kindPorts(p); ok {
		set("httpPort", fmt.Sprint(http))
		set("httpsPort", fmt.Sprint(https))
	}
	return out
}
