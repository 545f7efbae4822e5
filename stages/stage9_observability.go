package stages

import (
	"fmt"
	"net/url"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/policies/objects"
)

// traceProbeID is the x-client-trace-id verify's traced request sends: the ingress gateway traces
// a request that carries one whatever the sampling rate.
const traceProbeID = "istio-workshop-verify"

// Stage 9: metrics, dashboards, the mesh's graph, traces and access logs.
var observability = register(Stage{
	Number:  9,
	Name:    "observability",
	Title:   "Observability: metrics, dashboards, the mesh graph, tracing and access logs",
	Promise: "Prometheus collects the mesh's metrics and productpage's own, Grafana and Kiali show them, Jaeger holds the traces the sampling rate or a request asks for, and the proxies log what the setting names",
	Enforced: []Enforcement{
		{Where: IngressGateway, What: "reports metrics, spans and access logs"},
		{Where: Sidecar, What: "reports metrics, spans and access logs; merges the app's metrics", Mode: config.Sidecar},
		{Where: Waypoint, What: "reports HTTP metrics, spans and access logs", Mode: config.Ambient},
		{Where: Ztunnel, What: "reports TCP metrics and connection logs", Mode: config.Ambient},
		{Where: CNI, What: "admits the scrapes, the spans and the dashboards' own callers only"},
	},
	Settings: []string{"traceSampling", "accessLogs"},
	Amend: func(c config.Config, p *Plan) {
		p.Mesh.Tracing = true
		p.Bookinfo.PodAnnotations = components.ScrapedAppMetrics()
	},
	Components: []string{"Observability"},
	Apply: func(ctx *pulumi.Context, b *Built) error {
		// Stages 5 and 7 deny by default: these are the allowances the backends need, no more
		// (Prometheus scrapes, the proxies' spans, the dashboards' own callers).
		_, err := components.NewObservability(ctx, "observability", b.Config, b.Mesh,
			components.ScrapeAuthorization(b.Config), components.ObservabilityPolicies(b.Config),
			[]pulumi.Resource{b.Bookinfo, b.Authorization, b.Egress}, b.On())
		return err
	},
	// After the earlier stages' requests (and one that asks for a trace), each backend holds
	// what they left. Prometheus, Grafana and Kiali are in the ambient mesh under STRICT mTLS, so
	// there the probe's pod joins it too.
	Probes: func(c config.Config, earlier []probe.Probe) []probe.Probe {
		traced := ingressProbe(c, 9, "a request that asks for a trace (x-client-trace-id) is answered", "alice", 200)
		traced.Headers = []string{"x-client-trace-id: " + traceProbeID}
		backend := func(name, service string, port int, path, body string) probe.Probe {
			return probe.Probe{Stage: 9, Name: name, From: names.IstioNamespace, InMesh: c.MeshMode == config.Ambient,
				URL:    fmt.Sprintf("http://%s.%s:%d%s", service, names.IstioNamespace, port, path),
				Expect: probe.Containing(200, body, 90)}
		}
		query := func(q string) string { return "/api/v1/query?query=" + url.QueryEscape(q) }
		return append(earlier, traced,
			backend("Prometheus holds Istio's request metric for productpage", components.PrometheusService, components.PrometheusPort,
				query(`istio_requests_total{destination_workload="productpage-v1"}`), `"destination_workload":"productpage-v1"`),
			backend("Prometheus holds productpage's own metric", components.PrometheusService, components.PrometheusPort,
				query("request_result_total"), `"__name__":"request_result_total"`),
			backend("Jaeger holds a trace of a product page request through the ingress gateway", components.TracingService, 80,
				"/jaeger/api/traces?limit=20&service="+url.QueryEscape(names.IngressName+"."+names.IngressNamespace), "/productpage"),
			backend("Kiali's graph shows Bookinfo's calls", components.KialiService, components.KialiPort,
				"/kiali/api/namespaces/graph?namespaces="+names.BookinfoNamespace+"&graphType=workload&duration=600s", `"workload":"details-v1"`),
		)
	},
	// Everywhere: each dashboard names a backend that runs. On a real cluster, after the probes:
	// the ingress gateway logged a refused request.
	Facts: func(c config.Config) []Fact {
		ns := names.IstioNamespace
		facts := []Fact{
			{Stage: 9, Name: "Kiali reads metrics from Prometheus, which runs", Kind: NamesService, Namespace: ns, Object: "kiali",
				Key: "config.yaml", Text: components.KialiPrometheusURL, Service: components.PrometheusService, Port: components.PrometheusPort},
			{Stage: 9, Name: "Kiali reads traces from Jaeger, which runs", Kind: NamesService, Namespace: ns, Object: "kiali",
				Key: "config.yaml", Text: components.KialiTracingURL, Service: components.TracingService, Port: components.TracingGRPCPort},
			{Stage: 9, Name: "Grafana's data source is Prometheus, which runs", Kind: NamesService, Namespace: ns, Object: "grafana",
				Key: "datasources.yaml", Text: fmt.Sprintf("http://%s:%d", components.PrometheusService, components.PrometheusPort),
				Service: components.PrometheusService, Port: components.PrometheusPort},
			{Stage: 9, Name: "istiod's tracing provider is Jaeger's Zipkin endpoint, which runs", Kind: NamesService, Namespace: ns, Object: "istio",
				Key: "mesh", Text: components.ZipkinService + "." + ns + ".svc.cluster.local", Service: components.ZipkinService, Port: components.ZipkinPort},
		}
		if c.Observability.AccessLogs != config.NoAccessLogs {
			facts = append(facts, Fact{Stage: 9, Name: "the ingress gateway logged a refused request (403)", Kind: LogsContain,
				Namespace: names.IngressNamespace, Object: names.IngressName, Key: "istio-proxy", Text: `" 403 `, RealCluster: true, AfterTraffic: true})
		}
		return facts
	},
	Images: func(config.Config) []string { return components.AddonImages() },
	Holds: &Holds{
		What: "observability: a mesh-wide Telemetry in " + names.IstioNamespace + " that traces to " + components.TracingProvider +
			" at a sampling rate of 0–100 %, and the dashboards closed to other pods (a NetworkPolicy in " + names.IstioNamespace + " admitting only Kiali's callers)",
		Kept: func(objs []objects.Object, _ objects.Stack) bool {
			traced := objects.AnyObject(objs, "telemetry.istio.io", "Telemetry", names.IstioNamespace, func(o objects.Object) bool {
				tracing, _ := objects.Field(o.Fields, "spec", "tracing").([]any)
				for _, t := range tracing {
					t, _ := t.(map[string]any)
					providers, _ := t["providers"].([]any)
					rate, isRate := t["randomSamplingPercentage"].(float64)
					for _, p := range providers {
						if p, _ := p.(map[string]any); p["name"] == components.TracingProvider && (isRate && rate >= 0 && rate <= 100) {
							return true
						}
					}
				}
				return false
			})
			closed := objects.AnyObject(objs, "networking.k8s.io", "NetworkPolicy", names.IstioNamespace, func(o objects.Object) bool {
				return o.Name == "kiali-callers"
			})
			return traced && closed
		},
	},
	Guide: Guide{
		Concepts: []string{
			"Istio's proxies observe every request without a change to the application: metrics (istio_requests_total and its latency histograms, by source and destination workload), traces (a span per hop, if the application forwards the trace headers) and access logs. In ambient mode ztunnel reports TCP metrics and logs connections; HTTP metrics, spans and request logs come from the waypoints and gateways, the only Envoys there are.",
			"The backends are Istio's own sample addons, from the pinned Istio module (samples/addons): Prometheus scrapes istiod, the gateways, ztunnel, the waypoints and the sidecars; Grafana shows Istio's dashboards from it; Kiali draws the mesh's graph from the same metrics and links the traces; Jaeger receives spans in Zipkin's format on port 9411.",
			"The Telemetry API (telemetry.istio.io) is how you tune it: mesh-default in " + names.IstioNamespace + " (the root namespace) applies to the whole mesh, one in a namespace or on a workload overrides it. Here it sends a share of requests (workshop:traceSampling, percent) to Jaeger and logs the requests workshop:accessLogs names (failed: response.code >= 400).",
			"Tracing on demand: a request that carries an x-client-trace-id header is traced whatever the sampling rate (Envoy's client sampling, 100 % by default), so keep the rate low and ask for a trace when you need one.",
			"Own application metrics: productpage serves its own counter (request_result_total) at /metrics, and its pods carry prometheus.io/scrape, port and path. In sidecar mode the injector hands those to the sidecar's agent, which merges them with Envoy's on port 15020 (metrics merging), so Prometheus scrapes one port, outside mTLS. In ambient mode there is no agent: Prometheus, in the mesh itself, scrapes the pod through ztunnel, with its own identity, which an AuthorizationPolicy allows on the metrics port only.",
			"Everything earlier stays in force: in ambient mode Prometheus, Grafana and Kiali join the mesh (a pod label), so STRICT mTLS holds for them too; NetworkPolicies admit exactly the scrapes, the spans and the dashboards' own callers; the dashboards are reached with `istioctl dashboard NAME` (a port-forward, authenticated by the API server), never through the ingress.",
		},
		Practices: []string{
			"Sample traces at a low rate in production (1 % or less) and trace on demand with x-client-trace-id; applications must forward the trace headers (x-request-id, traceparent, x-b3-*) or each hop starts a new trace.",
			"Log what you act on: access logs of every request cost CPU and storage at scale; log failed requests mesh-wide and turn full logging on for one workload while you debug (a Telemetry in its namespace).",
			"Watch metric cardinality: every label value (a path, a user id) is a new time series; Istio's standard labels are bounded, your own must be too.",
			"Keep the observability backends closed: no dashboard behind an unauthenticated ingress; port-forward or put it behind the same authentication as the application.",
			"The sample addons are for learning: in production run Prometheus with persistent storage and retention, Jaeger with a real storage backend, and Kiali with an authentication strategy.",
		},
		Commands: []Command{
			cmd("the mesh-wide Telemetry (sampling, access logs) and any override", "", true, "kubectl", "get", "telemetries.telemetry.istio.io", "-A", "-o", "yaml"),
			cmd("the tracing provider istiod knows", "", true, "sh", "-c", "kubectl get configmap istio -n "+names.IstioNamespace+" -o jsonpath='{.data.mesh}' | grep -A3 extensionProviders"),
			cmd("the addons run", "", true, "kubectl", "get", "deploy", "prometheus", "grafana", "kiali", "jaeger", "-n", names.IstioNamespace),
			cmd("Prometheus's targets and their health", "", true, "kubectl", "exec", "-n", names.IstioNamespace, "deploy/prometheus", "-c", "prometheus-server", "--",
				"wget", "-qO-", "http://localhost:9090/api/v1/targets?state=active"),
			cmd("productpage's own metric, as Prometheus holds it", "", true, "kubectl", "exec", "-n", names.IstioNamespace, "deploy/prometheus", "-c", "prometheus-server", "--",
				"wget", "-qO-", "http://localhost:9090/api/v1/query?query=request_result_total"),
			cmd("the access log of the ingress gateway", "", true, "kubectl", "logs", "-n", names.IngressNamespace, ingressDeploy, "--tail=20"),
			cmd("the waypoint's access log (its HTTP requests)", config.Ambient, true, "kubectl", "logs", "-n", names.BookinfoNamespace, "deploy/"+names.Waypoint, "--tail=20"),
			cmd("ztunnel's connection log (TCP)", config.Ambient, true, "kubectl", "logs", "-n", names.IstioNamespace, "ds/ztunnel", "--tail=20"),
			cmd("a sidecar's access log", config.Sidecar, true, "kubectl", "logs", "-n", names.BookinfoNamespace, "deploy/productpage-v1", "-c", "istio-proxy", "--tail=20"),
			cmd("ask for a trace: this request is traced whatever the sampling rate", "", false, "sh", "-c",
				"curl --cacert workshop-ca.crt -H \"Authorization: Bearer $TOKEN\" -H \"x-client-trace-id: $(date +%s)\" https://bookinfo.localhost/productpage -o /dev/null -w '%{http_code}\\n'"),
			cmd("open Kiali (the mesh graph); likewise grafana, prometheus, jaeger", "", false, "istioctl", "dashboard", "kiali"),
		},
	},
})
