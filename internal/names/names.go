// Package names holds the names the program gives the workshop's objects and the presenter's
// commands look up (namespaces, gateways, the product page's address). It has no Pulumi
// dependency, so the CLI and the stages' guides can use them without the program.
package names

import "fmt"

// Namespaces and workloads of the mesh (stage 1).
const (
	IstioNamespace   = "istio-system"
	IngressNamespace = "istio-ingress"
	// IngressName is the ingress gateway's release name; Istio Gateways select it by the label
	// istio=ingressgateway.
	IngressName = "istio-ingressgateway"
	// BookinfoNamespace holds the sample application.
	BookinfoNamespace = "bookinfo"
)

// OutsideNamespace is outside the mesh: its plain client shows plaintext being refused (stage 3).
const OutsideNamespace = "outside-mesh"

// Waypoint is the bookinfo namespace's waypoint (ambient, stage 5): the Envoy that enforces L7
// policy for the namespace's services. Istio names its service account after the Gateway.
const Waypoint = "waypoint"

// Stage 6's objects.
const (
	// EgressNamespace holds the egress gateway and the registry of external hosts.
	EgressNamespace = "istio-egress"
	// EgressGatewayName is the egress gateway: the gateway chart's release in sidecar mode, a
	// waypoint (Gateway of class istio-waypoint) in ambient mode.
	EgressGatewayName = "egress-gateway"
	// EgressClientNamespace is in the mesh; its curl client shows which hosts it may reach.
	EgressClientNamespace = "egress-demo"
)

// ProductPageURL is the product page on the participant's machine.
func ProductPageURL(scheme, host string, port int) string {
	if (scheme == "http" && port == 80) || (scheme == "https" && port == 443) {
		return fmt.Sprintf("%s://%s/productpage", scheme, host)
	}
	return fmt.Sprintf("%s://%s:%d/productpage", scheme, host, port)
}

// IstiodCASecret is istiod's intermediate CA (stage 8): its cert-manager Certificate and the
// Secret cert-manager writes it to, which istiod's cacerts volume mounts.
const IstiodCASecret = "istiod-ca"

// VerifyLabel marks verify's probe pods and their Secrets (value VerifyProbe), so a leftover is
// easy to find and remove, and stage 9's NetworkPolicies can admit its probes to the dashboards.
const (
	VerifyLabel = "istio-workshop/verify"
	VerifyProbe = "probe"
)
