package stages

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	netv1 "k8s.io/api/networking/v1"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/policies/objects"
)

// Stage 7: below Istio, pods accept and open only the connections the mesh needs.
var networkPolicy = register(Stage{
	Number:  7,
	Name:    "network-policy",
	Title:   "NetworkPolicy",
	Promise: "pods accept and open only the connections the mesh needs",
	Enforced: []Enforcement{
		{Where: CNI, What: "denies every connection the mesh does not need"},
	},
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
	Holds: &Holds{
		What: "default deny below the mesh: a NetworkPolicy in " + names.BookinfoNamespace + " selecting every pod, for ingress and egress, allowing nothing",
		Kept: func(objs []objects.Object, _ objects.Stack) bool {
			return objects.AnyObject(objs, "networking.k8s.io", "NetworkPolicy", names.BookinfoNamespace, func(o objects.Object) bool {
				var np netv1.NetworkPolicy
				return o.Decode(&np) == nil && len(np.Spec.PodSelector.MatchLabels)+len(np.Spec.PodSelector.MatchExpressions) == 0 &&
					objects.HasPolicyType(np, netv1.PolicyTypeIngress) && objects.HasPolicyType(np, netv1.PolicyTypeEgress) && len(np.Spec.Ingress)+len(np.Spec.Egress) == 0
			})
		},
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
