package components

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	yamlv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/yaml/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	securityapi "istio.io/api/security/v1beta1"
	telemetryapi "istio.io/api/telemetry/v1"
	typeapi "istio.io/api/type/v1beta1"
	security "istio.io/client-go/pkg/apis/security/v1"
	telemetry "istio.io/client-go/pkg/apis/telemetry/v1"
	netv1 "k8s.io/api/networking/v1"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/istio-workshop/istio-workshop/internal/charts"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// The observability backends (stage 9): Istio's own sample addons, in istio-system where
// `istioctl dashboard` looks for them. Their Services and ports, as those manifests name them.
const (
	PrometheusService = "prometheus"
	PrometheusPort    = 9090
	GrafanaService    = "grafana"
	GrafanaPort       = 3000
	KialiService      = "kiali"
	KialiPort         = 20001
	// TracingService is Jaeger's query API (the UI at /jaeger on port 80, gRPC on 16685).
	TracingService  = "tracing"
	TracingGRPCPort = 16685
	// ZipkinService is where Jaeger receives spans in Zipkin's format, which every Istio proxy
	// speaks.
	ZipkinService = "zipkin"
	ZipkinPort    = 9411
	// jaegerQueryPort is what the tracing Service's port 80 reaches.
	jaegerQueryPort = 16686
	// The backends' own metrics, which Prometheus scrapes (their pods' prometheus.io/port).
	kialiMetricsPort  = 9090
	jaegerMetricsPort = 8888
)

// TracingProvider is the name under which istiod's mesh config declares the tracing backend and
// the Telemetry object asks for it.
const TracingProvider = "jaeger"

// addonFiles are the sample manifests stage 9 applies, by the name of their main workload.
var addonFiles = []string{"prometheus", "grafana", "kiali", "jaeger"}

// inMeshAddons are the addons that join the mesh in ambient mode: Prometheus, so that it can
// scrape applications under STRICT mTLS (ztunnel refuses its plaintext otherwise), and the two
// that query it. Jaeger stays out: every proxy reaches it in plaintext, as in sidecar mode.
var inMeshAddons = map[string]bool{"prometheus": true, "grafana": true, "kiali": true}

// addonLabels are each addon's pod labels (from its manifest): what NetworkPolicies select.
var addonLabels = map[string]map[string]string{
	"prometheus": {"app.kubernetes.io/name": "prometheus"},
	"grafana":    {"app.kubernetes.io/name": "grafana"},
	"kiali":      {"app.kubernetes.io/name": "kiali"},
	"jaeger":     {"app": "jaeger"},
}

// Addon is one sample manifest, as stage 9 applies it.
type Addon struct {
	Name    string
	Objects []map[string]any
}

// TracingBackend is the Zipkin-format tracing backend istiod's mesh config declares
// (meshConfig.extensionProviders), for Telemetry objects to name.
func TracingBackend() map[string]any {
	return map[string]any{"name": TracingProvider, "zipkin": map[string]any{
		"service": ZipkinService + "." + names.IstioNamespace + ".svc.cluster.local", "port": ZipkinPort,
	}}
}

// ObservabilityAddons reads Istio's sample addons from the pinned Istio module and makes them the
// workshop's: Kiali's image pinned to its patch release and wired to Jaeger and Grafana, and in
// ambient mode Prometheus, Grafana and Kiali enrolled in the mesh.
func ObservabilityAddons(cfg config.Config) ([]Addon, error) {
	dir, err := charts.ModuleDir(versions.IstioModule)
	if err != nil {
		return nil, err
	}
	var addons []Addon
	for _, name := range addonFiles {
		path := filepath.Join(dir, versions.ObservabilityAddons, name+".yaml")
		objs, err := readManifest(path)
		if err != nil {
			return nil, fmt.Errorf("Istio's %s addon (%s): %w", name, path, err)
		}
		for _, obj := range objs {
			if err := adapt(cfg, name, obj); err != nil {
				return nil, fmt.Errorf("Istio's %s addon (%s): %w", name, path, err)
			}
		}
		addons = append(addons, Addon{Name: name, Objects: objs})
	}
	return addons, nil
}

// readManifest decodes every object of a multi-document YAML file.
func readManifest(path string) ([]map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var objs []map[string]any
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, err
		}
		if len(obj) > 0 {
			objs = append(objs, obj)
		}
	}
}

// adapt changes what the workshop changes in an addon's object.
func adapt(cfg config.Config, addon string, obj map[string]any) error {
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	switch {
	case kind == "Deployment" && cfg.MeshMode == config.Ambient && inMeshAddons[addon]:
		labels, ok := dig(obj, "spec", "template", "metadata", "labels")
		if !ok {
			return errors.New("its Deployment has no pod labels")
		}
		for k, v := range MeshLabels(config.Ambient) {
			labels[k] = v
		}
	case kind == "ConfigMap" && addon == "kiali" && meta["name"] == "kiali":
		return wireKiali(obj)
	}
	if kind == "Deployment" && addon == "kiali" {
		containers, _ := dig(obj, "spec", "template", "spec")
		list, _ := containers["containers"].([]any)
		if len(list) != 1 {
			return fmt.Errorf("its Deployment has %d containers, expected Kiali's one", len(list))
		}
		list[0].(map[string]any)["image"] = versions.Kiali
	}
	return nil
}

// wireKiali points Kiali's configuration at Prometheus, Jaeger and Grafana by their Services
// (the sample leaves tracing off and Prometheus at Kiali's built-in guess).
func wireKiali(obj map[string]any) error {
	data, _ := obj["data"].(map[string]any)
	raw, _ := data["config.yaml"].(string)
	var kiali map[string]any
	if err := yaml.Unmarshal([]byte(raw), &kiali); err != nil || kiali == nil {
		return fmt.Errorf("its ConfigMap's config.yaml does not read as YAML: %v", err)
	}
	kiali["external_services"] = map[string]any{
		"custom_dashboards": map[string]any{"enabled": true},
		"istio":             map[string]any{"root_namespace": names.IstioNamespace},
		"prometheus":        map[string]any{"enabled": true, "url": KialiPrometheusURL},
		"grafana":           map[string]any{"enabled": true, "internal_url": KialiGrafanaURL},
		"tracing": map[string]any{"enabled": true, "provider": "jaeger", "use_grpc": true,
			"internal_url": KialiTracingURL},
	}
	out, err := yaml.Marshal(kiali)
	if err != nil {
		return err
	}
	data["config.yaml"] = string(out)
	return nil
}

// Where Kiali reaches its backends (its ConfigMap holds them; verify checks they exist).
var (
	KialiPrometheusURL = fmt.Sprintf("http://%s.%s:%d", PrometheusService, names.IstioNamespace, PrometheusPort)
	KialiGrafanaURL    = fmt.Sprintf("http://%s.%s:%d", GrafanaService, names.IstioNamespace, GrafanaPort)
	KialiTracingURL    = fmt.Sprintf("http://%s.%s:%d/jaeger", TracingService, names.IstioNamespace, TracingGRPCPort)
)

// dig is the map at path in obj.
func dig(obj map[string]any, path ...string) (map[string]any, bool) {
	cur := obj
	for _, p := range path {
		next, ok := cur[p].(map[string]any)
		if !ok {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

// AddonImages are the images the addons run (a test holds them to the manifests).
func AddonImages() []string {
	return []string{versions.Prometheus, versions.PrometheusConfigReloader, versions.Grafana, versions.Kiali, versions.Jaeger}
}

// MeshTelemetry is the mesh-wide Telemetry (istio-system, the root namespace): every proxy traces
// a share of requests to the tracing backend (and every request that asks, with
// x-client-trace-id) and logs the requests the setting names.
func MeshTelemetry(cfg config.Config) *telemetry.Telemetry {
	logging := &telemetryapi.AccessLogging{Providers: []*telemetryapi.ProviderRef{{Name: "envoy"}}}
	switch cfg.Observability.AccessLogs {
	case config.FailedRequests:
		logging.Filter = &telemetryapi.AccessLogging_Filter{Expression: "response.code >= 400"}
	case config.NoAccessLogs:
		logging.Disabled = wrapperspb.Bool(true)
	}
	return &telemetry.Telemetry{
		TypeMeta:   k8smeta.TypeMeta{APIVersion: "telemetry.istio.io/v1", Kind: "Telemetry"},
		ObjectMeta: k8smeta.ObjectMeta{Name: "mesh-default", Namespace: names.IstioNamespace},
		Spec: telemetryapi.Telemetry{
			Tracing: []*telemetryapi.Tracing{{
				Providers:                []*telemetryapi.ProviderRef{{Name: TracingProvider}},
				RandomSamplingPercentage: wrapperspb.Double(cfg.Observability.TraceSampling),
			}},
			AccessLogging: []*telemetryapi.AccessLogging{logging},
		},
	}
}

// ScrapedAppMetrics are the pod annotations that ask Prometheus to collect productpage's own
// metrics (its /metrics, beside Istio's). In sidecar mode the injector moves them to the
// sidecar's agent, which merges them with Envoy's on port 15020; in ambient mode Prometheus, in
// the mesh, scrapes the pod through ztunnel.
func ScrapedAppMetrics() map[string]map[string]string {
	return map[string]map[string]string{"productpage": {
		"prometheus.io/scrape": "true", "prometheus.io/port": fmt.Sprint(bookinfoPort), "prometheus.io/path": "/metrics",
	}}
}

// ScrapeAuthorization lets Prometheus, in ambient mode, read productpage's own metrics: stage 5
// lets Bookinfo's pods accept only the waypoint on ztunnel, and a scrape goes to the pod, not
// through the Service's waypoint. Only the metrics port, only Prometheus's identity. In sidecar
// mode none is needed: the merged metrics are the agent's, outside Envoy's policies.
func ScrapeAuthorization(cfg config.Config) []*security.AuthorizationPolicy {
	if cfg.MeshMode != config.Ambient {
		return nil
	}
	allow := authorizationPolicy("allow-prometheus-scrape", names.BookinfoNamespace, securityapi.AuthorizationPolicy_ALLOW,
		from(Principal(names.IstioNamespace, PrometheusService)))
	allow.Spec.Rules[0].To = []*securityapi.Rule_To{{Operation: &securityapi.Operation{Ports: []string{fmt.Sprint(bookinfoPort)}}}}
	allow.Spec.Selector = &typeapi.WorkloadSelector{MatchLabels: map[string]string{"app": "productpage"}}
	return []*security.AuthorizationPolicy{allow}
}

// proxyMetricsPort is where a sidecar's agent, a waypoint or a gateway serves its metrics
// (merged with the application's in sidecar mode).
const proxyMetricsPort = 15020

// ObservabilityPolicies are stage 9's NetworkPolicies: beside stage 7's, exactly what the
// observability backends need in the workload namespaces (Prometheus scrapes the proxies, and in
// ambient mode productpage through HBONE; the proxies send spans to Jaeger), and in istio-system
// the backends accept only each other and verify's probes: the dashboards are for
// `istioctl dashboard` (a port-forward, which the API server authenticates), not for every pod.
func ObservabilityPolicies(cfg config.Config) []*netv1.NetworkPolicy {
	ambient := cfg.MeshMode == config.Ambient
	prometheus := peer(names.IstioNamespace, addonLabels["prometheus"])
	jaeger := peer(names.IstioNamespace, addonLabels["jaeger"])
	// The pods whose proxy reports: every pod in sidecar mode, Bookinfo's waypoint in ambient
	// mode (ztunnel, in istio-system, reports itself).
	proxies := k8smeta.LabelSelector{}
	if ambient {
		proxies = k8smeta.LabelSelector{MatchLabels: map[string]string{"gateway.networking.k8s.io/gateway-name": names.Waypoint}}
	}
	var policies []*netv1.NetworkPolicy
	for _, ns := range WorkloadNamespaces {
		if ambient && ns != names.BookinfoNamespace {
			continue // no proxy runs there
		}
		scrape := networkPolicy("metrics-to-prometheus", ns, netv1.PolicyTypeIngress)
		scrape.Spec.Ingress = []netv1.NetworkPolicyIngressRule{{From: []netv1.NetworkPolicyPeer{prometheus}, Ports: tcp(proxyMetricsPort)}}
		if ambient {
			// productpage's own metrics, through ztunnel.
			scrape.Spec.Ingress[0].Ports = tcp(proxyMetricsPort, hbonePort)
		}
		spans := networkPolicy("spans-to-jaeger", ns, netv1.PolicyTypeEgress)
		spans.Spec.PodSelector = proxies
		spans.Spec.Egress = []netv1.NetworkPolicyEgressRule{{To: []netv1.NetworkPolicyPeer{jaeger}, Ports: tcp(ZipkinPort)}}
		policies = append(policies, scrape, spans)
	}

	verify := netv1.NetworkPolicyPeer{PodSelector: &k8smeta.LabelSelector{MatchLabels: map[string]string{names.VerifyLabel: names.VerifyProbe}}}
	own := func(addon string) netv1.NetworkPolicyPeer {
		return netv1.NetworkPolicyPeer{PodSelector: &k8smeta.LabelSelector{MatchLabels: addonLabels[addon]}}
	}
	// An addon in the mesh (ambient) is reached on HBONE, and kubelet's probes come from the
	// address istio-cni gives them.
	port := func(addon string, p int) []netv1.NetworkPolicyPort {
		if ambient && inMeshAddons[addon] {
			return tcp(hbonePort)
		}
		return tcp(p)
	}
	backend := func(addon string, rules ...netv1.NetworkPolicyIngressRule) *netv1.NetworkPolicy {
		p := networkPolicy(addon+"-callers", names.IstioNamespace, netv1.PolicyTypeIngress)
		p.Spec.PodSelector = k8smeta.LabelSelector{MatchLabels: addonLabels[addon]}
		if ambient && inMeshAddons[addon] {
			rules = append(rules, netv1.NetworkPolicyIngressRule{From: []netv1.NetworkPolicyPeer{{IPBlock: &netv1.IPBlock{CIDR: kubeletProbeSource}}}})
		}
		p.Spec.Ingress = rules
		return p
	}
	anyNamespace := netv1.NetworkPolicyPeer{NamespaceSelector: &k8smeta.LabelSelector{}}
	return append(policies,
		backend("prometheus", netv1.NetworkPolicyIngressRule{From: []netv1.NetworkPolicyPeer{own("grafana"), own("kiali"), verify}, Ports: port("prometheus", PrometheusPort)}),
		backend("grafana", netv1.NetworkPolicyIngressRule{From: []netv1.NetworkPolicyPeer{own("kiali"), verify}, Ports: port("grafana", GrafanaPort)}),
		backend("kiali",
			netv1.NetworkPolicyIngressRule{From: []netv1.NetworkPolicyPeer{verify}, Ports: port("kiali", KialiPort)},
			netv1.NetworkPolicyIngressRule{From: []netv1.NetworkPolicyPeer{own("prometheus")}, Ports: port("kiali", kialiMetricsPort)}),
		backend("jaeger",
			// Spans from every proxy, wherever it runs.
			netv1.NetworkPolicyIngressRule{From: []netv1.NetworkPolicyPeer{anyNamespace}, Ports: tcp(ZipkinPort)},
			netv1.NetworkPolicyIngressRule{From: []netv1.NetworkPolicyPeer{own("grafana"), own("kiali"), verify}, Ports: tcp(jaegerQueryPort, TracingGRPCPort)},
			netv1.NetworkPolicyIngressRule{From: []netv1.NetworkPolicyPeer{own("prometheus")}, Ports: tcp(jaegerMetricsPort)},
		),
	)
}

// Observability is stage 9: Prometheus, Grafana, Kiali and Jaeger from Istio's samples, the
// mesh-wide Telemetry that feeds them, and the policies that let exactly their traffic through.
type Observability struct {
	pulumi.ResourceState
}

// NewObservability applies stage 9 once the mesh and the workloads it observes are in place,
// with the allowances the stage declares: the AuthorizationPolicies and NetworkPolicies that let
// exactly the backends' traffic through.
func NewObservability(ctx *pulumi.Context, name string, cfg config.Config, mesh *Mesh, allow []*security.AuthorizationPolicy, policies []*netv1.NetworkPolicy, after []pulumi.Resource, opts ...pulumi.ResourceOption) (*Observability, error) {
	o := &Observability{}
	if err := ctx.RegisterComponentResource("istio-workshop:components:Observability", name, o, opts...); err != nil {
		return nil, err
	}
	addons, err := ObservabilityAddons(cfg)
	if err != nil {
		return nil, err
	}
	under := []pulumi.ResourceOption{pulumi.Parent(o)}
	// In ambient mode an addon in the mesh must start after ztunnel, or its pod starts unenrolled.
	ready := append([]pulumi.Resource{mesh.SystemNamespace}, mesh.Ready...)
	for _, a := range addons {
		objs := make(pulumi.Array, 0, len(a.Objects))
		for _, obj := range a.Objects {
			objs = append(objs, pulumi.Any(obj))
		}
		if _, err := yamlv2.NewConfigGroup(ctx, "addon-"+a.Name, &yamlv2.ConfigGroupArgs{Objs: objs},
			append(under, pulumi.DependsOn(ready))...); err != nil {
			return nil, err
		}
	}
	istio := append(under, pulumi.DependsOn(append(after, mesh.Istio...)))
	if _, err := customResource(ctx, MeshTelemetry(cfg), istio...); err != nil {
		return nil, err
	}
	for _, p := range allow {
		if _, err := customResource(ctx, p, istio...); err != nil {
			return nil, err
		}
	}
	for _, p := range policies {
		if _, err := customResource(ctx, p, append(under, pulumi.DependsOn(after))...); err != nil {
			return nil, err
		}
	}
	return o, ctx.RegisterResourceOutputs(o, pulumi.Map{})
}
