package stages

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/probe"
)

// Stage 7: below Istio, pods accept and open only the connections the mesh needs.
var networkPolicy = register(Stage{
	Number:     7,
	Name:       "network-policy",
	Title:      "NetworkPolicy",
	Promise:    "pods accept and open only the connections the mesh needs",
	Components: []string{"NetworkPolicies"},
	Apply: func(ctx *pulumi.Context, b *Built) error {
		policies := components.DenyAllButTheMesh(b.Config)
		if b.Config.MeshMode == config.Sidecar {
			// Ambient mode has had the egress policies since stage 6.
			policies = append(policies, components.EgressThroughTheMesh(b.Config)...)
		}
		_, err := components.NewNetworkPolicies(ctx, "network-policies", policies,
			[]pulumi.Resource{b.Bookinfo, b.Authorization, b.Egress}, b.On())
		return err
	},
	// A mesh workload outside the allowed set is refused below Istio.
	Probes: func(c config.Config, earlier []probe.Probe) []probe.Probe {
		return append(earlier, probe.Probe{Stage: 7, Name: "the egress client may not open Bookinfo (NetworkPolicy)", From: names.EgressClientNamespace,
			URL: "http://productpage." + names.BookinfoNamespace + ":9080/productpage", Expect: probe.Drop()})
	},
	Guide: Guide{
		Practices: []string{
			"Defence in depth: deny by default below the mesh too, so a pod that bypasses its proxy gets nowhere.",
			"Allow exactly what the mesh needs: DNS, istiod (15012), HBONE (15008) in ambient mode, the application ports in sidecar mode.",
			"Make sure the CNI enforces NetworkPolicy (kind's kindnet does since v0.24), or the policies are decoration.",
		},
		Commands: []Command{
			cmd("the policies of each workload namespace", "", true, "kubectl", "get", "networkpolicies", "-A"),
			cmd("a pod outside the allowed set is refused", "", false, "kubectl", "exec", "-n", names.EgressClientNamespace, "deploy/curl-client", "--", "curl", "-sS", "--max-time", "5", "http://productpage."+names.BookinfoNamespace+":9080/productpage"),
		},
	},
})
