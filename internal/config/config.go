// Package config is the workshop's one typed configuration: read once from the stack's
// `workshop:*` settings, defaulted once and validated once, with every problem reported together.
// Components receive these typed values, never raw config keys.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	kinddefaults "sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// Project is the Pulumi project's name: a key set without a namespace lands under it.
const Project = "istio-workshop"

// Namespace is the stack-config namespace of every setting (`workshop:stage`, ...).
const Namespace = "workshop"

// MeshMode is Istio's data-plane mode.
type MeshMode string

const (
	Ambient MeshMode = "ambient"
	Sidecar MeshMode = "sidecar"
)

// Provider names how the cluster is made.
type Provider string

const (
	Kind     Provider = "kind"
	Minikube Provider = "minikube"
	Existing Provider = "existing"
	// Local is the Docker-less control plane (kube-apiserver, etcd and kwok on loopback): objects
	// exist and controllers run, but no container runs and no traffic flows.
	Local Provider = "local"
)

// ChartSource says where Helm charts come from.
type ChartSource string

const (
	// Auto uses the official Helm repositories when they answer, else the module copies.
	Auto ChartSource = "auto"
	// Repo uses the official Helm repositories (needs internet on first use).
	Repo ChartSource = "repo"
	// Module uses the chart copies inside the pinned Go modules (offline; what tests use).
	Module ChartSource = "module"
)

// The ingress gateway's NodePorts on a kind node; the cluster maps the host ports
// (workshop:httpPort, workshop:httpsPort) onto them.
const (
	IngressNodePortHTTP  = 30080
	IngressNodePortHTTPS = 30443
)

// Config is the whole workshop configuration of one stack.
type Config struct {
	Stack         string
	Stage         Stage
	MeshMode      MeshMode
	Cluster       Cluster
	Versions      Versions
	ChartSource   ChartSource
	Ingress       Ingress
	Auth          Auth
	Egress        Egress
	IstiodCA      IstiodCA
	Observability Observability
	Traffic       Traffic
	Resilience    Resilience
}

// Cluster says which cluster the stack runs on.
type Cluster struct {
	Provider Provider
	// Name of the kind cluster, minikube profile or local control plane; defaults from the stack.
	Name string
	// Workers is the number of kind worker nodes (or simulated nodes of the local control plane).
	Workers int
	// Kubeconfig and Context select the cluster of provider existing.
	Kubeconfig string
	Context    string
	// NodeImage is the kind node image ("" is the pinned kind release's own).
	NodeImage string
}

// Versions are the pinned releases installed on the cluster.
type Versions struct {
	Istio       string // without a leading v, as Istio tags its images
	CertManager string // with a leading v, as cert-manager tags its images
	GatewayAPI  string
}

// Ingress is how participants reach the ingress gateway from their machine.
type Ingress struct {
	Host      string
	HTTPPort  int
	HTTPSPort int
	// PlainHTTP is what the HTTP listener does once TLS is in force (stage 2 on).
	PlainHTTP PlainHTTP
	// MutualTLS makes the HTTPS listener require a client certificate from the workshop CA.
	MutualTLS bool
}

// PlainHTTP is the fate of plain HTTP once the ingress serves HTTPS.
type PlainHTTP string

const (
	// Redirect answers plain HTTP with a redirect to HTTPS.
	Redirect PlainHTTP = "redirect"
	// Closed removes the plain HTTP listener.
	Closed PlainHTTP = "closed"
)

// Setting describes one `workshop:*` key: its default and what it accepts.
type Setting struct {
	Key     string
	Default string
	Allowed string
	Help    string
}

// Settings is every key a stack may set. Unknown `workshop:*` keys are rejected. The stage key's
// range is the registry's: StageSetting describes it with the last stage filled in.
var Settings = slices.Concat(clusterSettings, authSettings, egressSettings, istiodCASettings, observabilitySettings, trafficSettings, resilienceSettings)

var clusterSettings = []Setting{
	{"stage", "", "an integer 0–N (default: N for stack stepN; a stack of another name must set it)", "the highest stage to put in force"},
	{"meshMode", string(Ambient), "ambient or sidecar", "Istio's data-plane mode"},
	{"clusterProvider", string(Kind), "kind, minikube, existing or local", "how the cluster is made"},
	{"clusterName", "istio-workshop-<stack>", "lowercase letters, digits and '-', at most 40 characters", "name of the cluster, profile or control plane"},
	{"workers", "1", "an integer 0–5", "worker nodes (kind) or simulated nodes (local)"},
	{"kindNodeImage", kinddefaults.Image, "an image reference, such as the one `scripts/kind-node-image name` prints", "the kind node image (clusterProvider kind; an image Docker already holds is not pulled)"},
	{"kubeconfig", "", "a path to a kubeconfig file", "the cluster of clusterProvider existing"},
	{"kubeContext", "", "a context name in that kubeconfig", "the context of clusterProvider existing (default: current)"},
	{"istioVersion", versions.Istio, "a release such as 1.31.1", "Istio charts and images"},
	{"certManagerVersion", versions.CertManager, "a release such as v1.21.2", "cert-manager chart, images and CRDs (from that release's Go module)"},
	{"gatewayAPIVersion", versions.GatewayAPI, "a release such as v1.6.0", "Gateway API CRDs (from that release's Go module)"},
	{"chartSource", string(Auto), "auto, repo or module", "official Helm repositories (repo), the copies in the pinned Go modules (module, offline), or repo when the repositories answer and module when they do not (auto)"},
	{"ingressHost", "bookinfo.localhost", "a DNS name such as bookinfo.example.com", "the host name participants use for Bookinfo"},
	{"httpPort", "80", "a port 1–65535 (8080 if 80 is taken)", "host port of the ingress gateway's HTTP listener"},
	{"httpsPort", "443", "a port 1–65535 (8443 if 443 is taken)", "host port of the ingress gateway's HTTPS listener"},
	{"plainHTTP", string(Redirect), "redirect or closed", "what plain HTTP does once the ingress serves HTTPS (stage 2 on)"},
	{"ingressMutualTLS", "false", "true or false", "require a client certificate (issued by the stack) at the ingress (stage 2 on)"},
}

var (
	dnsLabel     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)
	// An image reference: [registry[:port]/]path[:tag][@sha256:digest], lowercase path.
	imageRef = regexp.MustCompile(`^([a-z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$`)
	release  = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)
)

// maxClusterName keeps kind's node container names ("<name>-control-plane") and kubeconfig
// contexts ("kind-<name>") well inside DNS label limits.
const maxClusterName = 40

// loader reads, defaults and validates settings, collecting every problem.
type loader struct {
	known map[string]Setting
	get   map[string]string
	errs  Errors
}

// val is the trimmed value of key, or its default; set says whether the stack gave it.
func (l *loader) val(key string) (v string, set bool) {
	v, ok := l.get[key]
	if !ok || strings.TrimSpace(v) == "" {
		return l.known[key].Default, false
	}
	return strings.TrimSpace(v), true
}

func (l *loader) allowed(key string) string { return l.known[key].Allowed }

func (l *loader) integer(key string, min, max int) int {
	v, _ := l.val(key)
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		l.errs.add(key, v, "must be "+l.allowed(key))
		return min
	}
	return n
}

func (l *loader) oneOf(key string, allowed ...string) string {
	v, _ := l.val(key)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	l.errs.add(key, v, "must be "+l.allowed(key))
	return allowed[0]
}

func (l *loader) version(key string, withV bool) string {
	v, _ := l.val(key)
	if !release.MatchString(v) {
		l.errs.add(key, v, "must be "+l.allowed(key))
		return v
	}
	v = strings.TrimPrefix(v, "v")
	if withV {
		v = "v" + v
	}
	return v
}

// StackStage matches the name of a stage's own stack, stepN, and captures N.
var StackStage = regexp.MustCompile(`^step(\d+)$`)

// Load reads the `workshop:*` keys of values (keys as the engine passes them, e.g.
// "workshop:stage"), applies defaults and validates, the stage against rules. The error lists
// every problem.
func Load(stack string, values map[string]string, rules Rules) (Config, error) {
	l := &loader{known: map[string]Setting{}, get: map[string]string{}}
	for _, s := range Settings {
		l.known[s.Key] = s
	}
	for k, v := range values {
		ns, key, ok := strings.Cut(k, ":")
		switch {
		case ok && ns == Project:
			// `pulumi config set stage 5` (no namespace) files the key under the project's name,
			// where nothing would read it.
			fix := suggest(key)
			if _, known := l.known[key]; known {
				fix = fmt.Sprintf(" (`scripts/pulumi config rm %s`, then `scripts/pulumi config set %s:%s VALUE`)", key, Namespace, key)
			}
			l.errs.add(k, v, "is under the project's name, where nothing reads it: the workshop's settings are "+Namespace+":KEY"+fix)
			continue
		case !ok || ns != Namespace:
			continue
		}
		if _, ok := l.known[key]; !ok {
			if key == "" {
				key = k // "workshop:" names no setting: report the key as given
			}
			l.errs.add(key, v, "is not a workshop setting"+suggest(key))
			continue
		}
		if strings.TrimSpace(v) == "" {
			l.errs.add(key, v, fmt.Sprintf("is empty: give it a value, or `scripts/pulumi config rm %s:%s` for the default (%s)", Namespace, key, orDefault(l.known[key].Default)))
			continue
		}
		l.get[key] = v
	}
	c := Config{Stack: stack}
	v, set := l.val("stage")
	if !set {
		// Stack stepN is stage N: the stacks' names are the stage definitions, so no file the
		// user owns has to carry them (and nothing can delete or rewrite them).
		if m := StackStage.FindStringSubmatch(stack); m != nil {
			v = m[1]
		} else {
			l.errs.add("stage", "", fmt.Sprintf("is not set, and stack %q is not named stepN (0–%d): set it with `scripts/pulumi config set %s:stage N --stack %s`",
				stack, rules.Last, Namespace, stack))
		}
	}
	if v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			l.errs.add("stage", v, fmt.Sprintf("is not a stage number (0–%d)", rules.Last))
		case n < 0 || Stage(n) > rules.Last:
			l.errs.add("stage", v, fmt.Sprintf("is not a stage (0–%d): this version has stages 0–%d; use stack step%d or lower", rules.Last, rules.Last, rules.Last))
		default:
			c.Stage = Stage(n)
		}
	}
	c.MeshMode = MeshMode(l.oneOf("meshMode", string(Ambient), string(Sidecar)))
	c.Cluster.Provider = Provider(l.oneOf("clusterProvider", string(Kind), string(Minikube), string(Existing), string(Local)))
	c.Cluster.Workers = l.integer("workers", 0, 5)
	if name, set := l.val("clusterName"); set {
		if len(name) > maxClusterName || !dnsLabel.MatchString(name) {
			l.errs.add("clusterName", name, "must be "+l.known["clusterName"].Allowed+" (kind refuses other names)")
		}
		c.Cluster.Name = name
	} else {
		c.Cluster.Name = DefaultClusterName(stack)
	}
	kubeconfig, kcSet := l.val("kubeconfig")
	context, ctxSet := l.val("kubeContext")
	switch {
	case c.Cluster.Provider == Existing && !kcSet:
		l.errs.add("kubeconfig", "", "is required with clusterProvider existing: set it to your kubeconfig path (pulumi config set workshop:kubeconfig ~/.kube/config)")
	case c.Cluster.Provider == Existing:
		l.checkKubeconfig(expandHome(kubeconfig), kubeconfig, context, ctxSet)
	default:
		for key, set := range map[string]bool{"kubeconfig": kcSet, "kubeContext": ctxSet} {
			if set {
				v, _ := l.val(key)
				l.errs.add(key, v, fmt.Sprintf("is only used with clusterProvider existing (this stack uses %s, which makes its own kubeconfig): remove it or set workshop:clusterProvider existing", c.Cluster.Provider))
			}
		}
	}
	c.Cluster.Kubeconfig, c.Cluster.Context = expandHome(kubeconfig), context
	if image, set := l.val("kindNodeImage"); set {
		switch {
		case c.Cluster.Provider != Kind:
			l.errs.add("kindNodeImage", image, fmt.Sprintf("is only used with clusterProvider kind (this stack uses %s): remove it or set workshop:clusterProvider kind", c.Cluster.Provider))
		case !imageRef.MatchString(image):
			l.errs.add("kindNodeImage", image, "is not an image reference (registry/name:tag or name@sha256:digest): check for spaces and capitals")
		default:
			c.Cluster.NodeImage = image
		}
	}

	c.Versions.Istio = l.version("istioVersion", false)
	c.Versions.CertManager = l.version("certManagerVersion", true)
	c.Versions.GatewayAPI = l.version("gatewayAPIVersion", true)
	c.ChartSource = ChartSource(l.oneOf("chartSource", string(Auto), string(Repo), string(Module)))

	if host, _ := l.val("ingressHost"); len(host) > 253 || !dnsSubdomain.MatchString(host) {
		l.errs.add("ingressHost", host, "must be "+l.known["ingressHost"].Allowed+" (lowercase, no scheme, port or path)")
	} else {
		c.Ingress.Host = host
	}
	c.Ingress.HTTPPort = l.integer("httpPort", 1, 65535)
	c.Ingress.HTTPSPort = l.integer("httpsPort", 1, 65535)
	c.Ingress.PlainHTTP = PlainHTTP(l.oneOf("plainHTTP", string(Redirect), string(Closed)))
	c.Ingress.MutualTLS = l.oneOf("ingressMutualTLS", "false", "true") == "true"
	if c.Ingress.HTTPPort == c.Ingress.HTTPSPort {
		l.errs.add("httpsPort", strconv.Itoa(c.Ingress.HTTPSPort), "must differ from workshop:httpPort (both listeners need their own host port)")
	}
	c.Auth = l.auth()
	c.Egress = l.egress()
	c.IstiodCA = l.istiodCA()
	c.Observability = l.observability()
	c.Traffic = l.traffic()
	c.Resilience = l.resilience()
	if rules.Check != nil {
		// With the others, so every problem is said at once: a check skips what is malformed.
		l.errs = append(l.errs, rules.Check(c)...)
	}
	return c, l.errs.err()
}

// DefaultClusterName derives a name kind accepts from the stack name.
func DefaultClusterName(stack string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(stack) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	name := "istio-workshop-" + strings.Trim(b.String(), "-")
	if len(name) > maxClusterName {
		name = name[:maxClusterName]
	}
	return strings.TrimRight(name, "-")
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return home + "/" + rest
		}
	}
	return p
}

func orDefault(d string) string {
	if d == "" {
		return "none"
	}
	return d
}

// suggest names the closest known key, for typos such as workshop:meshmode.
func suggest(key string) string {
	best, bestDist := "", 4
	for _, s := range Settings {
		if d := distance(strings.ToLower(key), strings.ToLower(s.Key)); d < bestDist {
			best, bestDist = s.Key, d
		}
	}
	if best == "" {
		keys := make([]string, 0, len(Settings))
		for _, s := range Settings {
			keys = append(keys, s.Key)
		}
		sort.Strings(keys)
		return " (known settings: " + strings.Join(keys, ", ") + ")"
	}
	return fmt.Sprintf(" (did you mean workshop:%s?)", best)
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// checkKubeconfig reads the existing cluster's kubeconfig at path (given as raw) now, so a
// directory, an unreadable file or a missing context is said before anything runs, naming the
// contexts the file has.
func (l *loader) checkKubeconfig(path, raw, context string, ctxSet bool) {
	info, err := os.Stat(path)
	switch {
	case err != nil:
		l.errs.add("kubeconfig", raw, "cannot be read: "+err.Error())
		return
	case info.IsDir():
		l.errs.add("kubeconfig", raw, "is a directory: name the kubeconfig file (for example "+filepath.Join(raw, "config")+")")
		return
	}
	body, err := os.ReadFile(path)
	if err != nil {
		l.errs.add("kubeconfig", raw, "cannot be read: "+err.Error())
		return
	}
	var kc struct {
		CurrentContext string `json:"current-context"`
		Contexts       []struct {
			Name string `json:"name"`
		} `json:"contexts"`
	}
	if err := yaml.Unmarshal(body, &kc); err != nil {
		l.errs.add("kubeconfig", raw, "is not a kubeconfig: "+err.Error())
		return
	}
	var names []string
	for _, c := range kc.Contexts {
		names = append(names, c.Name)
	}
	has := "it has none"
	if len(names) > 0 {
		has = "it has: " + strings.Join(names, ", ")
	}
	switch {
	case ctxSet && !slices.Contains(names, context):
		l.errs.add("kubeContext", context, fmt.Sprintf("is not a context of %s (%s)", raw, has))
	case !ctxSet && kc.CurrentContext == "":
		l.errs.add("kubeContext", "", fmt.Sprintf("is required: %s sets no current-context (%s)", raw, has))
	case !ctxSet && !slices.Contains(names, kc.CurrentContext):
		l.errs.add("kubeContext", "", fmt.Sprintf("is required: %s's current-context %q is not one of its contexts (%s)", raw, kc.CurrentContext, has))
	}
}
