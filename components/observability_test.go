package components

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	netv1 "k8s.io/api/networking/v1"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// pod is a pod as NetworkPolicies see it.
type pod struct {
	ns     string
	labels map[string]string
}

func selects(sel *k8smeta.LabelSelector, labels map[string]string) bool {
	if sel == nil {
		return true
	}
	s, err := k8smeta.LabelSelectorAsSelector(sel)
	if err != nil {
		panic(err)
	}
	return s.Matches(labelSet(labels))
}

type labelSet map[string]string

func (l labelSet) Has(k string) bool              { _, ok := l[k]; return ok }
func (l labelSet) Get(k string) string            { return l[k] }
func (l labelSet) Lookup(k string) (string, bool) { v, ok := l[k]; return v, ok }

// peerMatches: peer (of a policy in ns) covers p.
func peerMatches(peer netv1.NetworkPolicyPeer, ns string, p pod) bool {
	if peer.IPBlock != nil {
		return false // the pods here have no address; kubelet's probes are another test's
	}
	if peer.NamespaceSelector == nil && p.ns != ns {
		return false
	}
	if peer.NamespaceSelector != nil && !selects(peer.NamespaceSelector, map[string]string{"kubernetes.io/metadata.name": p.ns}) {
		return false
	}
	return selects(peer.PodSelector, p.labels)
}

func portMatches(ports []netv1.NetworkPolicyPort, port int) bool {
	return len(ports) == 0 || slices.ContainsFunc(ports, func(p netv1.NetworkPolicyPort) bool { return p.Port.IntValue() == port })
}

// admits is Kubernetes' NetworkPolicy semantics: a connection from → to:port passes when no
// policy isolates the destination for ingress or one of those admits it, and likewise for the
// source's egress.
func admits(policies []*netv1.NetworkPolicy, from, to pod, port int) bool {
	ingressIsolated, ingressOK, egressIsolated, egressOK := false, false, false, false
	for _, p := range policies {
		if p.Namespace == to.ns && selects(&p.Spec.PodSelector, to.labels) && slices.Contains(p.Spec.PolicyTypes, netv1.PolicyTypeIngress) {
			ingressIsolated = true
			for _, r := range p.Spec.Ingress {
				if portMatches(r.Ports, port) && slices.ContainsFunc(r.From, func(peer netv1.NetworkPolicyPeer) bool { return peerMatches(peer, p.Namespace, from) }) {
					ingressOK = true
				}
			}
		}
		if p.Namespace == from.ns && selects(&p.Spec.PodSelector, from.labels) && slices.Contains(p.Spec.PolicyTypes, netv1.PolicyTypeEgress) {
			egressIsolated = true
			for _, r := range p.Spec.Egress {
				if portMatches(r.Ports, port) && slices.ContainsFunc(r.To, func(peer netv1.NetworkPolicyPeer) bool { return peerMatches(peer, p.Namespace, to) }) {
					egressOK = true
				}
			}
		}
	}
	return (!ingressIsolated || ingressOK) && (!egressIsolated || egressOK)
}

// Stage 9's allowances under stage 6 and 7's policies: exactly the scrapes, the spans and the
// dashboards' own callers pass; every other connection to the backends is refused.
func TestStage9AdmitsExactlyTheObservabilityTraffic(t *testing.T) {
	prometheus := pod{names.IstioNamespace, addonLabels["prometheus"]}
	grafana := pod{names.IstioNamespace, addonLabels["grafana"]}
	kiali := pod{names.IstioNamespace, addonLabels["kiali"]}
	jaeger := pod{names.IstioNamespace, addonLabels["jaeger"]}
	verifyProbe := pod{names.IstioNamespace, map[string]string{names.VerifyLabel: names.VerifyProbe}}
	stranger := pod{names.IstioNamespace, map[string]string{"app": "something-else"}}
	productpage := pod{names.BookinfoNamespace, map[string]string{"app": "productpage"}}
	waypoint := pod{names.BookinfoNamespace, map[string]string{"gateway.networking.k8s.io/gateway-name": names.Waypoint}}
	egressClient := pod{names.EgressClientNamespace, map[string]string{"app": "curl-client"}}
	ingress := pod{names.IngressNamespace, ingressSelector}

	type conn struct {
		name     string
		from, to pod
		port     int
		want     bool
	}
	for _, mode := range []config.MeshMode{config.Ambient, config.Sidecar} {
		t.Run(string(mode), func(t *testing.T) {
			cfg := stageConfig(t, "9", mode)
			policies := slices.Concat(DenyAllButTheMesh(cfg), EgressThroughTheMesh(cfg), ObservabilityPolicies(cfg))
			// In ambient mode an in-mesh addon is reached on HBONE.
			promPort, grafanaPort, kialiPort, kialiScrapePort := PrometheusPort, GrafanaPort, KialiPort, kialiMetricsPort
			if mode == config.Ambient {
				promPort, grafanaPort, kialiPort, kialiScrapePort = hbonePort, hbonePort, hbonePort, hbonePort
			}
			conns := []conn{
				{"Grafana queries Prometheus", grafana, prometheus, promPort, true},
				{"Kiali queries Prometheus", kiali, prometheus, promPort, true},
				{"Kiali queries Grafana", kiali, grafana, grafanaPort, true},
				{"Kiali queries Jaeger", kiali, jaeger, TracingGRPCPort, true},
				{"verify's probe reads Kiali", verifyProbe, kiali, kialiPort, true},
				{"verify's probe reads Jaeger", verifyProbe, jaeger, jaegerQueryPort, true},
				{"another pod may not open Kiali", stranger, kiali, kialiPort, false},
				{"another pod may not open Prometheus", stranger, prometheus, promPort, false},
				{"another pod may not open Grafana", stranger, grafana, grafanaPort, false},
				{"another pod may not read Jaeger's traces", stranger, jaeger, jaegerQueryPort, false},
				{"the ingress gateway sends spans", ingress, jaeger, ZipkinPort, true},
				{"Prometheus scrapes Jaeger's own metrics", prometheus, jaeger, jaegerMetricsPort, true},
				{"another pod may not scrape Jaeger's metrics", stranger, jaeger, jaegerMetricsPort, false},
				{"Prometheus scrapes Kiali's own metrics", prometheus, kiali, kialiScrapePort, true},
				{"another pod may not scrape Kiali's metrics", stranger, kiali, kialiScrapePort, false},
				{"Prometheus may not call productpage's application port", prometheus, productpage, bookinfoPort, false},
				{"the egress client may not open Prometheus", egressClient, prometheus, promPort, false},
			}
			if mode == config.Ambient {
				conns = append(conns,
					conn{"Prometheus scrapes productpage through ztunnel", prometheus, productpage, hbonePort, true},
					conn{"Prometheus scrapes the waypoint", prometheus, waypoint, proxyMetricsPort, true},
					conn{"the waypoint sends spans", waypoint, jaeger, ZipkinPort, true},
					conn{"productpage sends no spans itself (no proxy in its pod)", productpage, jaeger, ZipkinPort, false},
					conn{"the egress client sends no spans (no proxy in its pod)", egressClient, jaeger, ZipkinPort, false},
				)
			} else {
				conns = append(conns,
					conn{"Prometheus scrapes productpage's merged metrics", prometheus, productpage, proxyMetricsPort, true},
					conn{"Prometheus scrapes the egress client's sidecar", prometheus, egressClient, proxyMetricsPort, true},
					conn{"productpage's sidecar sends spans", productpage, jaeger, ZipkinPort, true},
					conn{"the egress client's sidecar sends spans", egressClient, jaeger, ZipkinPort, true},
					conn{"no HBONE in sidecar mode", prometheus, productpage, hbonePort, false},
				)
			}
			for _, c := range conns {
				assert.Equal(t, c.want, admits(policies, c.from, c.to, c.port), c.name)
			}
		})
	}
}

// The addons are Istio's manifests as the module holds them: the images they run are the ones
// pinned (Kiali's to its patch release), and in ambient mode exactly the addons that query
// Prometheus join the mesh with it.
func TestAddonsAreIstiosManifestsMadeTheWorkshops(t *testing.T) {
	for _, mode := range []config.MeshMode{config.Ambient, config.Sidecar} {
		t.Run(string(mode), func(t *testing.T) {
			addons, err := ObservabilityAddons(stageConfig(t, "9", mode))
			require.NoError(t, err)
			var images, enrolled []string
			deployments := 0
			for _, a := range addons {
				for _, obj := range a.Objects {
					if obj["kind"] != "Deployment" {
						continue
					}
					deployments++
					spec, _ := dig(obj, "spec", "template", "spec")
					for _, c := range spec["containers"].([]any) {
						images = append(images, c.(map[string]any)["image"].(string))
					}
					labels, _ := dig(obj, "spec", "template", "metadata", "labels")
					if labels["istio.io/dataplane-mode"] == "ambient" {
						enrolled = append(enrolled, a.Name)
					}
				}
			}
			assert.Equal(t, 4, deployments)
			assert.ElementsMatch(t, AddonImages(), images, "the pinned images are the ones the manifests run")
			if mode == config.Ambient {
				assert.Equal(t, []string{"prometheus", "grafana", "kiali"}, enrolled)
			} else {
				assert.Empty(t, enrolled, "sidecar mode: the addons stay outside the mesh, as Istio ships them")
			}
		})
	}
}

func TestKialiIsWiredToItsBackends(t *testing.T) {
	addons, err := ObservabilityAddons(stageConfig(t, "9", config.Ambient))
	require.NoError(t, err)
	var kialiConfig map[string]any
	for _, a := range addons {
		for _, obj := range a.Objects {
			if meta, _ := obj["metadata"].(map[string]any); obj["kind"] == "ConfigMap" && meta["name"] == "kiali" {
				require.NoError(t, yaml.Unmarshal([]byte(obj["data"].(map[string]any)["config.yaml"].(string)), &kialiConfig))
			}
		}
	}
	require.NotNil(t, kialiConfig, "Kiali's ConfigMap")
	services, _ := dig(kialiConfig, "external_services")
	assert.Equal(t, map[string]any{"enabled": true, "url": "http://prometheus.istio-system:9090"}, services["prometheus"])
	tracing, _ := dig(services, "tracing")
	assert.Equal(t, true, tracing["enabled"], "the sample leaves tracing off")
	assert.Equal(t, "http://tracing.istio-system:16685/jaeger", tracing["internal_url"])
	assert.Equal(t, "anonymous", kialiConfig["auth"].(map[string]any)["strategy"], "reached only by port-forward, so anonymous stays")
	assert.Equal(t, versions.Kiali, "quay.io/kiali/kiali:v2.27.0")
}

func TestMeshTelemetryFollowsTheSettings(t *testing.T) {
	cfg := stageConfig(t, "9", config.Ambient)
	tel := MeshTelemetry(cfg)
	assert.Equal(t, 1.0, tel.Spec.Tracing[0].RandomSamplingPercentage.GetValue(), "low by default")
	assert.Equal(t, TracingProvider, tel.Spec.Tracing[0].Providers[0].Name)
	assert.Equal(t, "response.code >= 400", tel.Spec.AccessLogging[0].Filter.GetExpression())
	cfg.Observability = config.Observability{TraceSampling: 100, AccessLogs: config.AllRequests}
	tel = MeshTelemetry(cfg)
	assert.Nil(t, tel.Spec.AccessLogging[0].Filter, "every request")
	assert.False(t, tel.Spec.AccessLogging[0].Disabled.GetValue())
	cfg.Observability.AccessLogs = config.NoAccessLogs
	assert.True(t, MeshTelemetry(cfg).Spec.AccessLogging[0].Disabled.GetValue())
	assert.Equal(t, TracingProvider, TracingBackend()["name"], "the Telemetry names what the mesh config declares")
}
