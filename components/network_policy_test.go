package components

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	netv1 "k8s.io/api/networking/v1"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
)

// peerSummary names a peer by what it selects.
func peerSummary(p netv1.NetworkPolicyPeer) string {
	switch {
	case p.IPBlock != nil:
		return p.IPBlock.CIDR
	case p.NamespaceSelector == nil:
		return "own namespace"
	default:
		labels := []string{}
		for _, v := range p.PodSelector.MatchLabels {
			labels = append(labels, v)
		}
		sort.Strings(labels)
		return strings.Join(labels, ",")
	}
}

func portsSummary(ports []netv1.NetworkPolicyPort) string {
	out := []string{}
	for _, p := range ports {
		out = append(out, fmt.Sprintf("%s/%s", *p.Protocol, p.Port.String()))
	}
	return strings.Join(out, ",")
}

func egressSummary(p *netv1.NetworkPolicy) []string {
	out := []string{}
	for _, r := range p.Spec.Egress {
		for _, to := range r.To {
			out = append(out, peerSummary(to)+":"+portsSummary(r.Ports))
		}
	}
	return out
}

func ingressSummary(p *netv1.NetworkPolicy) []string {
	out := []string{}
	for _, r := range p.Spec.Ingress {
		for _, from := range r.From {
			s := peerSummary(from)
			if len(r.Ports) > 0 {
				s += ":" + portsSummary(r.Ports)
			}
			out = append(out, s)
		}
	}
	return out
}

func TestStage7DeniesByDefaultAndAdmitsWhatTheMeshNeeds(t *testing.T) {
	cases := []struct {
		mode            config.MeshMode
		bookinfoIngress []string
		demoIngress     []string
		withEgress      bool // the sidecar-mode egress rules (ambient's are in the egress test)
	}{
		{config.Ambient, []string{"own namespace:TCP/15008", "ingressgateway:TCP/15008", "169.254.7.127/32"}, []string{"169.254.7.127/32"}, false},
		{config.Sidecar, []string{"own namespace:TCP/9080", "ingressgateway:TCP/9080"}, nil, true},
	}
	for _, tc := range cases {
		t.Run(string(tc.mode), func(t *testing.T) {
			cfg := stageConfig(t, "7", tc.mode)
			policies := byKind(append(DenyAllButTheMesh(cfg), EgressThroughTheMesh(cfg)...), func(p *netv1.NetworkPolicy) string { return p.Namespace + "/" + p.Name })
			for _, ns := range []string{names.BookinfoNamespace, names.EgressClientNamespace} {
				deny := policies[ns+"/default-deny"]
				require.NotNil(t, deny, ns)
				assert.Empty(t, deny.Spec.PodSelector.MatchLabels, "every pod of %s", ns)
				assert.Equal(t, []netv1.PolicyType{netv1.PolicyTypeIngress, netv1.PolicyTypeEgress}, deny.Spec.PolicyTypes)
				assert.Empty(t, deny.Spec.Ingress)
				assert.Empty(t, deny.Spec.Egress)
			}
			assert.Equal(t, tc.bookinfoIngress, ingressSummary(policies[names.BookinfoNamespace+"/ingress-from-the-mesh"]))
			if tc.demoIngress == nil {
				assert.NotContains(t, policies, names.EgressClientNamespace+"/ingress-from-the-mesh", "nothing calls the egress client")
			} else {
				assert.Equal(t, tc.demoIngress, ingressSummary(policies[names.EgressClientNamespace+"/ingress-from-the-mesh"]))
			}
			if tc.withEgress {
				assert.Equal(t, []string{"kube-dns:UDP/53,TCP/53", "istiod:TCP/15012", "egressgateway:TCP/443"},
					egressSummary(policies[names.EgressClientNamespace+"/"+EgressPolicyName]), "to the egress gateway's pods, not past them")
				assert.Equal(t, []string{"kube-dns:UDP/53,TCP/53", "istiod:TCP/15012", "own namespace:TCP/9080"},
					egressSummary(policies[names.BookinfoNamespace+"/"+EgressPolicyName]))
			}
			for k, p := range policies {
				for _, r := range p.Spec.Ingress {
					for _, port := range r.Ports {
						assert.False(t, tc.mode == config.Sidecar && port.Port.IntValue() == hbonePort, "%s: no HBONE in sidecar mode", k)
					}
				}
			}
		})
	}
}
