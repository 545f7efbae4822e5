package stages

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	netv1 "k8s.io/api/networking/v1"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/charts"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/policies/objects"
)

// Stage 6: out of the mesh only to registered hosts, only through the egress gateway.
var egressGateway = register(Stage{
	Number:  6,
	Name:    "egress-gateway",
	Title:   "Egress gateway",
	Promise: "outbound traffic leaves only through the egress gateway, to registered hosts",
	Enforced: []Enforcement{
		{Where: Sidecar, What: "knows only registered hosts (REGISTRY_ONLY)", Mode: config.Sidecar},
		{Where: EgressGateway, What: "routes registered hosts out by SNI"},
		{Where: CNI, What: "lets workload pods leave only through the mesh", Mode: config.Ambient},
	},
	Settings:   []string{"egressHosts"},
	Components: []string{"Egress"},
	Apply: func(ctx *pulumi.Context, b *Built) error {
		// ztunnel ignores REGISTRY_ONLY (istio/istio#54281): in ambient mode NetworkPolicy stops
		// what would leave the cluster another way. A sidecar holds REGISTRY_ONLY itself.
		var policies []*netv1.NetworkPolicy
		if b.Config.MeshMode == config.Ambient {
			policies = components.EgressThroughTheMesh(b.Config)
		}
		egress, err := components.NewEgress(ctx, "egress", b.Config, b.Mesh, b.Authorization, policies, b.On())
		b.Egress = egress
		return err
	},
	// A registered host answers (through the gateway), any other is refused.
	Probes: func(c config.Config, earlier []probe.Probe) []probe.Probe {
		// A sidecar sends an unregistered host to its black hole (the connection is closed); in
		// ambient mode the stage's egress NetworkPolicy drops it.
		refused := probe.Refusal()
		if c.MeshMode == config.Ambient {
			refused = probe.Drop()
		}
		return append(earlier,
			probe.Probe{Stage: 6, Name: "a registered external host answers through the egress gateway", From: names.EgressClientNamespace,
				URL: "https://" + c.Egress.Hosts[0] + "/", Expect: probe.AnyAnswer()},
			probe.Probe{Stage: 6, Name: "an unregistered external host is refused", From: names.EgressClientNamespace,
				URL: "https://" + c.Egress.RefusedHost() + "/", Expect: refused})
	},
	Charts: []charts.Chart{charts.IstioGateway}, // the egress gateway in sidecar mode
	Holds: &Holds{
		What: "egress only to registered hosts: a ServiceEntry in " + names.EgressNamespace + ", and REGISTRY_ONLY (sidecar mode: a Sidecar in " + names.IstioNamespace +
			"; ambient mode: an egress NetworkPolicy in " + names.BookinfoNamespace + ")",
		Kept: func(objs []objects.Object, s objects.Stack) bool {
			registered := objects.AnyObject(objs, "networking.istio.io", "ServiceEntry", names.EgressNamespace, func(objects.Object) bool { return true })
			if s.Ambient {
				return registered && objects.AnyObject(objs, "networking.k8s.io", "NetworkPolicy", names.BookinfoNamespace, func(o objects.Object) bool {
					var np netv1.NetworkPolicy
					return o.Decode(&np) == nil && objects.HasPolicyType(np, netv1.PolicyTypeEgress)
				})
			}
			return registered && objects.AnyObject(objs, "networking.istio.io", "Sidecar", names.IstioNamespace, func(o objects.Object) bool {
				policy, _ := objects.Field(o.Fields, "spec", "outboundTrafficPolicy").(map[string]any)
				return policy["mode"] == "REGISTRY_ONLY"
			})
		},
	},
	Guide: Guide{
		Practices: []string{
			"Let workloads reach only the hosts you registered (ServiceEntry) and only through one egress gateway, where you can audit and authorize.",
			"Keep TLS end to end (SNI passthrough): the egress gateway routes by name without opening the traffic.",
			"REGISTRY_ONLY is not a security boundary on its own; close the bypass below the mesh (NetworkPolicy).",
		},
		Commands: []Command{
			cmd("the registered hosts", "", true, "kubectl", "get", "serviceentries.networking.istio.io", "-n", names.EgressNamespace),
			cmd("a registered host answers", "", false, "kubectl", "exec", "-n", names.EgressClientNamespace, "deploy/curl-client", "--", "curl", "-sSI", "--max-time", "10", "https://httpbin.org/"),
			cmd("the egress gateway saw it", "", false, "kubectl", "logs", "-n", names.EgressNamespace, "deploy/"+names.EgressGatewayName, "--tail", "20"),
			cmd("ztunnel sends the host to the egress waypoint", config.Ambient, true, "istioctl", "ztunnel-config", "services"),
			cmd("the client's sidecar knows only registered hosts", config.Sidecar, true, "istioctl", "proxy-config", "clusters", "deploy/curl-client", "-n", names.EgressClientNamespace),
		},
	},
})
