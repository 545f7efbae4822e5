package components

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"
	netv1 "k8s.io/api/networking/v1"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
)

// Ports the mesh's own connections use.
const (
	// hbonePort carries every ambient connection between pods, waypoints and gateways.
	hbonePort = 15008
	// xdsPort is istiod's: proxies (sidecars, waypoints) fetch config and certificates there.
	xdsPort = 15012
	// kubeletProbeSource is where ambient mode makes kubelet health probes come from (istio-cni
	// SNATs them), so that ztunnel lets them pass; a default-deny ingress policy must admit it.
	kubeletProbeSource = "169.254.7.127/32"
)

// EgressPolicyName is the workload namespaces' egress NetworkPolicy.
const EgressPolicyName = "egress-through-the-mesh"

// NetworkPolicies holds NetworkPolicies that deny, below Istio, every connection the mesh does
// not need, so a pod that bypasses its proxy or runs outside the mesh is refused by the
// cluster's CNI (which must enforce NetworkPolicy: kind's default kindnet does since v0.24).
type NetworkPolicies struct {
	pulumi.ResourceState
}

// NewNetworkPolicies applies stage 7's policies, after the workloads they cover.
func NewNetworkPolicies(ctx *pulumi.Context, name string, policies []*netv1.NetworkPolicy, after []pulumi.Resource, opts ...pulumi.ResourceOption) (*NetworkPolicies, error) {
	n := &NetworkPolicies{}
	if err := ctx.RegisterComponentResource("istio-workshop:components:NetworkPolicies", name, n, opts...); err != nil {
		return nil, err
	}
	for _, p := range policies {
		if _, err := customResource(ctx, p, pulumi.Parent(n), pulumi.DependsOn(after)); err != nil {
			return nil, err
		}
	}
	return n, ctx.RegisterResourceOutputs(n, pulumi.Map{})
}

// EgressThroughTheMesh lets each workload namespace open only the connections the mesh needs,
// so nothing leaves the cluster except through the egress gateway.
func EgressThroughTheMesh(cfg config.Config) []*netv1.NetworkPolicy {
	var policies []*netv1.NetworkPolicy
	for _, ns := range WorkloadNamespaces {
		p := networkPolicy(EgressPolicyName, ns, netv1.PolicyTypeEgress)
		p.Spec.Egress = egressAllows(cfg, ns)
		policies = append(policies, p)
	}
	return policies
}

// DenyAllButTheMesh denies everything by default in each workload namespace, then admits exactly
// the connections the mesh needs to reach its workloads.
func DenyAllButTheMesh(cfg config.Config) []*netv1.NetworkPolicy {
	var policies []*netv1.NetworkPolicy
	for _, ns := range WorkloadNamespaces {
		policies = append(policies, networkPolicy("default-deny", ns, netv1.PolicyTypeIngress, netv1.PolicyTypeEgress))
		if in := ingressAllows(cfg, ns); len(in) > 0 {
			p := networkPolicy("ingress-from-the-mesh", ns, netv1.PolicyTypeIngress)
			p.Spec.Ingress = in
			policies = append(policies, p)
		}
	}
	return policies
}

// meshPorts are the ports one workload opens on another: HBONE in ambient mode, the
// application's port in sidecar mode (the sidecar takes over inside the pod).
func meshPorts(cfg config.Config) []netv1.NetworkPolicyPort {
	if cfg.MeshMode == config.Ambient {
		return tcp(hbonePort)
	}
	return tcp(bookinfoPort)
}

// egressAllows are the connections ns's pods open: DNS, istiod (proxies), their own namespace
// (Bookinfo's call graph, its waypoint) and, from the egress client, the egress gateway.
func egressAllows(cfg config.Config, ns string) []netv1.NetworkPolicyEgressRule {
	rules := []netv1.NetworkPolicyEgressRule{
		{To: []netv1.NetworkPolicyPeer{peer("kube-system", map[string]string{"k8s-app": "kube-dns"})}, Ports: append(udp(53), tcp(53)...)},
		{To: []netv1.NetworkPolicyPeer{peer(names.IstioNamespace, map[string]string{"app": "istiod"})}, Ports: tcp(xdsPort)},
	}
	switch ns {
	case names.BookinfoNamespace:
		rules = append(rules, netv1.NetworkPolicyEgressRule{To: []netv1.NetworkPolicyPeer{{PodSelector: &k8smeta.LabelSelector{}}}, Ports: meshPorts(cfg)})
	case names.EgressClientNamespace:
		gateway := netv1.NetworkPolicyEgressRule{
			To:    []netv1.NetworkPolicyPeer{peer(names.EgressNamespace, egressSelector)},
			Ports: tcp(externalPort),
		}
		if cfg.MeshMode == config.Ambient {
			gateway.To = []netv1.NetworkPolicyPeer{peer(names.EgressNamespace, map[string]string{"gateway.networking.k8s.io/gateway-name": names.EgressGatewayName})}
			gateway.Ports = tcp(hbonePort)
		}
		rules = append(rules, gateway)
	}
	return rules
}

// ingressAllows are the connections ns's pods accept: Bookinfo from itself and from the ingress
// gateway; in ambient mode, kubelet probes from the address istio-cni gives them.
func ingressAllows(cfg config.Config, ns string) []netv1.NetworkPolicyIngressRule {
	var rules []netv1.NetworkPolicyIngressRule
	if ns == names.BookinfoNamespace {
		rules = append(rules, netv1.NetworkPolicyIngressRule{
			From:  []netv1.NetworkPolicyPeer{{PodSelector: &k8smeta.LabelSelector{}}, peer(names.IngressNamespace, ingressSelector)},
			Ports: meshPorts(cfg),
		})
	}
	if cfg.MeshMode == config.Ambient {
		rules = append(rules, netv1.NetworkPolicyIngressRule{From: []netv1.NetworkPolicyPeer{{IPBlock: &netv1.IPBlock{CIDR: kubeletProbeSource}}}})
	}
	return rules
}

func networkPolicy(name, ns string, types ...netv1.PolicyType) *netv1.NetworkPolicy {
	return &netv1.NetworkPolicy{
		TypeMeta:   k8smeta.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: k8smeta.ObjectMeta{Name: name, Namespace: ns},
		Spec:       netv1.NetworkPolicySpec{PodSelector: k8smeta.LabelSelector{}, PolicyTypes: types},
	}
}

// peer is the pods with labels in namespace ns.
func peer(ns string, labels map[string]string) netv1.NetworkPolicyPeer {
	return netv1.NetworkPolicyPeer{
		NamespaceSelector: &k8smeta.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
		PodSelector:       &k8smeta.LabelSelector{MatchLabels: labels},
	}
}

func tcp(ports ...int) []netv1.NetworkPolicyPort { return policyPorts(corev1.ProtocolTCP, ports) }
func udp(ports ...int) []netv1.NetworkPolicyPort { return policyPorts(corev1.ProtocolUDP, ports) }

func policyPorts(proto corev1.Protocol, ports []int) []netv1.NetworkPolicyPort {
	out := make([]netv1.NetworkPolicyPort, 0, len(ports))
	for _, p := range ports {
		port := intstr.FromInt32(int32(p))
		out = append(out, netv1.NetworkPolicyPort{Protocol: &proto, Port: &port})
	}
	return out
}
