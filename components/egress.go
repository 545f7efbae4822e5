package components

import (
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	networkingapi "istio.io/api/networking/v1"
	securityapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	networking "istio.io/client-go/pkg/apis/networking/v1"
	netv1 "k8s.io/api/networking/v1"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/istio-workshop/istio-workshop/internal/charts"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/k8sobj"
	"github.com/istio-workshop/istio-workshop/internal/names"
)

// Names of the stage 6 objects.
const (
	// externalPort is the one port registered for each external host: HTTPS, routed by SNI.
	externalPort = 443
)

// egressSelector picks the egress gateway's pods (sidecar mode).
var egressSelector = map[string]string{"istio": "egressgateway"}

// Egress is stage 6: the mesh reaches only registered external hosts, and only through the
// egress gateway, a single exit where policy applies.
//
// Sidecar mode: a mesh-wide Sidecar default with outboundTrafficPolicy REGISTRY_ONLY (a new
// object, so istiod's release is not touched), an egress gateway from the gateway chart, and per
// host a ServiceEntry and a VirtualService that sends the mesh's TLS to the gateway and the
// gateway's to the host (SNI passthrough: the workload's TLS reaches the host unopened).
//
// Ambient mode: a waypoint in the egress namespace is the gateway; ServiceEntries there that
// use it make ztunnel send every connection to those hosts through it, and an AuthorizationPolicy
// on it admits only the workshop's namespaces. ztunnel does not honour REGISTRY_ONLY
// (istio/istio#54281), so a NetworkPolicy in each workload namespace stops connections that
// leave the cluster any other way.
type Egress struct {
	pulumi.ResourceState
}

// NewEgress puts stage 6 in force; in ambient mode the waypoint needs authz's Gateway API CRDs.
// policies are the NetworkPolicies the stage needs in the configured mode.
func NewEgress(ctx *pulumi.Context, name string, cfg config.Config, mesh *Mesh, authz *Authorization, policies []*netv1.NetworkPolicy, opts ...pulumi.ResourceOption) (*Egress, error) {
	e := &Egress{}
	if err := ctx.RegisterComponentResource("istio-workshop:components:Egress", name, e, opts...); err != nil {
		return nil, err
	}
	under := []pulumi.ResourceOption{pulumi.Parent(e)}
	// After the mesh (its gateway needs istiod anyway): a destroy deletes it in the same layer as
	// the client's namespace (see deleted_with.go).
	egressNS, err := namespace(ctx, names.EgressNamespace, nil, append(under, pulumi.DependsOn(mesh.Ready))...)
	if err != nil {
		return nil, err
	}
	after := append([]pulumi.Resource{egressNS}, mesh.Istio...)
	if cfg.MeshMode == config.Ambient {
		waypoint, err := customResource(ctx, waypointGateway(names.EgressGatewayName, names.EgressNamespace),
			append(under, pulumi.DependsOn([]pulumi.Resource{authz.GatewayAPI, egressNS}))...)
		if err != nil {
			return nil, err
		}
		after = append(after, waypoint)
	} else {
		gw, err := istioChart(ctx, cfg, names.EgressGatewayName, charts.IstioGateway, names.EgressNamespace, pulumi.Map{
			"global":      istioImage(cfg),
			"labels":      pulumi.Map{"istio": pulumi.String(egressSelector["istio"])},
			"autoscaling": pulumi.Map{"enabled": pulumi.Bool(false)},
			// Reached from inside the mesh only.
			"service": pulumi.Map{"type": pulumi.String("ClusterIP")},
		}, append(under, pulumi.DependsOn(append([]pulumi.Resource{egressNS}, mesh.Istio...)))...)
		if err != nil {
			return nil, err
		}
		after = append(after, gw)
	}
	for _, obj := range EgressObjects(cfg) {
		if _, err := customResourceWith(ctx, obj, ZeroEnums(obj), append(under, pulumi.DependsOn(after))...); err != nil {
			return nil, err
		}
	}

	// The client that shows it: in the mesh, allowed out to the registered hosts only.
	clientNS, err := namespace(ctx, names.EgressClientNamespace, MeshLabels(cfg.MeshMode), append(under, pulumi.DependsOn(mesh.Ready))...)
	if err != nil {
		return nil, err
	}
	if err := curlClient(ctx, names.EgressClientNamespace, append(under, pulumi.DependsOn([]pulumi.Resource{clientNS}))...); err != nil {
		return nil, err
	}
	for _, p := range policies {
		if _, err := customResource(ctx, p, append(under, pulumi.DependsOn([]pulumi.Resource{clientNS}))...); err != nil {
			return nil, err
		}
	}
	return e, ctx.RegisterResourceOutputs(e, pulumi.Map{})
}

// EgressObjects are stage 6's Istio objects in the configured mode.
func EgressObjects(cfg config.Config) []k8sobj.Object {
	var objs []k8sobj.Object
	for _, h := range cfg.Egress.Hosts {
		objs = append(objs, serviceEntry(cfg, h))
	}
	if cfg.MeshMode == config.Ambient {
		// Only the workshop's namespaces may leave through the gateway; the policy runs on the
		// waypoint, which sees the caller's mesh identity.
		allow := authorizationPolicy("allow-workshop-namespaces", names.EgressNamespace, securityapi.AuthorizationPolicy_ALLOW,
			&securityapi.Rule{From: []*securityapi.Rule_From{{Source: &securityapi.Source{Namespaces: WorkloadNamespaces}}}})
		allow.Spec.TargetRefs = []*typeapi.PolicyTargetReference{{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: names.EgressGatewayName}}
		return append(objs, allow)
	}
	objs = append(objs, registryOnly(), egressGateway(cfg), egressGatewayDestination())
	for _, h := range cfg.Egress.Hosts {
		objs = append(objs, egressRoute(h))
	}
	return objs
}

// serviceEntry registers host for HTTPS on port 443. In ambient mode its label sends every
// connection to it through the egress waypoint.
func serviceEntry(cfg config.Config, host string) *networking.ServiceEntry {
	se := &networking.ServiceEntry{
		TypeMeta:   k8smeta.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "ServiceEntry"},
		ObjectMeta: k8smeta.ObjectMeta{Name: hostName(host), Namespace: names.EgressNamespace},
	}
	se.Spec.Hosts = []string{host}
	se.Spec.Ports = []*networkingapi.ServicePort{{Number: externalPort, Name: "tls", Protocol: "TLS"}}
	se.Spec.Location = networkingapi.ServiceEntry_MESH_EXTERNAL
	se.Spec.Resolution = networkingapi.ServiceEntry_DNS
	if cfg.MeshMode == config.Ambient {
		se.Labels = map[string]string{"istio.io/use-waypoint": names.EgressGatewayName}
	}
	return se
}

// registryOnly is the mesh-wide Sidecar default (in the root namespace, no selector): sidecars
// reach only hosts in the registry (Services and ServiceEntries). REGISTRY_ONLY is not a security
// boundary on its own (a workload that bypasses its sidecar is not bound by it); stage 7's
// NetworkPolicies close that.
func registryOnly() *networking.Sidecar {
	sc := &networking.Sidecar{
		TypeMeta:   k8smeta.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "Sidecar"},
		ObjectMeta: k8smeta.ObjectMeta{Name: "default", Namespace: names.IstioNamespace},
	}
	sc.Spec.Egress = []*networkingapi.IstioEgressListener{{Hosts: []string{"*/*"}}}
	sc.Spec.OutboundTrafficPolicy = &networkingapi.OutboundTrafficPolicy{Mode: networkingapi.OutboundTrafficPolicy_REGISTRY_ONLY}
	return sc
}

// egressGateway is the Istio Gateway on the egress gateway's pods: TLS on 443 for the registered
// hosts, passed through by SNI.
func egressGateway(cfg config.Config) *networking.Gateway {
	gw := &networking.Gateway{
		TypeMeta:   k8smeta.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "Gateway"},
		ObjectMeta: k8smeta.ObjectMeta{Name: names.EgressGatewayName, Namespace: names.EgressNamespace},
	}
	gw.Spec.Selector = egressSelector
	gw.Spec.Servers = []*networkingapi.Server{{
		Port:  &networkingapi.Port{Number: externalPort, Name: "tls", Protocol: "TLS"},
		Hosts: cfg.Egress.Hosts,
		Tls:   &networkingapi.ServerTLSSettings{Mode: networkingapi.ServerTLSSettings_PASSTHROUGH},
	}}
	return gw
}

// egressGatewayService is the egress gateway's Service, as the mesh names it.
const egressGatewayService = names.EgressGatewayName + "." + names.EgressNamespace + ".svc.cluster.local"

// egressGatewayDestination names the subset the mesh's routes send external traffic to.
func egressGatewayDestination() *networking.DestinationRule {
	dr := &networking.DestinationRule{
		TypeMeta:   k8smeta.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "DestinationRule"},
		ObjectMeta: k8smeta.ObjectMeta{Name: names.EgressGatewayName, Namespace: names.EgressNamespace},
	}
	dr.Spec.Host = egressGatewayService
	dr.Spec.Subsets = []*networkingapi.Subset{{Name: "external"}}
	return dr
}

// egressRoute sends TLS for host from every sidecar (gateway "mesh") to the egress gateway, and
// from the egress gateway to the host.
func egressRoute(host string) *networking.VirtualService {
	vs := &networking.VirtualService{
		TypeMeta:   k8smeta.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "VirtualService"},
		ObjectMeta: k8smeta.ObjectMeta{Name: hostName(host), Namespace: names.EgressNamespace},
	}
	route := func(gateway, to, subset string) *networkingapi.TLSRoute {
		return &networkingapi.TLSRoute{
			Match: []*networkingapi.TLSMatchAttributes{{Gateways: []string{gateway}, Port: externalPort, SniHosts: []string{host}}},
			Route: []*networkingapi.RouteDestination{{Destination: &networkingapi.Destination{
				Host: to, Subset: subset, Port: &networkingapi.PortSelector{Number: externalPort}}}},
		}
	}
	vs.Spec.Hosts = []string{host}
	vs.Spec.Gateways = []string{"mesh", names.EgressGatewayName}
	vs.Spec.Tls = []*networkingapi.TLSRoute{
		route("mesh", egressGatewayService, "external"),
		route(names.EgressGatewayName, host, ""),
	}
	return vs
}

// ZeroEnums writes out the stage's enum values that are proto3 zeros, which JSON leaves out:
// a reviewer reads `mode: REGISTRY_ONLY`, not `outboundTrafficPolicy: {}`.
func ZeroEnums(obj k8sobj.Object) []k8sobj.Input {
	var in []k8sobj.Input
	switch o := obj.(type) {
	case *networking.Sidecar:
		in = append(in, k8sobj.Input{Path: []any{"spec", "outboundTrafficPolicy", "mode"}, Value: pulumi.String(o.Spec.GetOutboundTrafficPolicy().GetMode().String()), Add: true})
	case *networking.ServiceEntry:
		in = append(in, k8sobj.Input{Path: []any{"spec", "location"}, Value: pulumi.String(o.Spec.GetLocation().String()), Add: true})
	case *networking.Gateway:
		for i, srv := range o.Spec.GetServers() {
			if srv.GetTls() != nil {
				in = append(in, k8sobj.Input{Path: []any{"spec", "servers", i, "tls", "mode"}, Value: pulumi.String(srv.GetTls().GetMode().String()), Add: true})
			}
		}
	}
	return in
}

// hostName turns an external host into an object name: httpbin.org -> httpbin-org.
func hostName(host string) string { return strings.ReplaceAll(host, ".", "-") }

// WorkloadNamespaces are the mesh namespaces whose workloads the workshop runs once egress is
// in force: the policies of stage 6 and 7 cover both.
var WorkloadNamespaces = []string{names.BookinfoNamespace, names.EgressClientNamespace}
