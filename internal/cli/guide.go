package cli

import (
	"fmt"
	"io"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
)

// Guide is what a presenter says about a stage: the best practices it follows and why, and how
// to look into it when something is off.
type Guide struct {
	Practices []string
	Commands  []Command
}

// Command is one troubleshooting command, filled in with the workshop's real names.
type Command struct {
	Why  string
	Run  []string
	Mode config.MeshMode // "" in both modes
	// ReadOnly commands are the ones `workshop troubleshoot` runs by itself.
	ReadOnly bool
}

func cmd(why string, mode config.MeshMode, readOnly bool, run ...string) Command {
	return Command{Why: why, Run: run, Mode: mode, ReadOnly: readOnly}
}

var (
	bookinfo, ingress, egress = names.BookinfoNamespace, names.IngressNamespace, names.EgressNamespace
	ingressDeploy             = "deploy/" + names.IngressName
)

// Guides has one entry per stage.
var Guides = map[config.Stage]Guide{
	0: {
		Practices: []string{
			"Start every session from a cluster in its default state: leftovers of the last one change what participants see.",
			"Pin the node image to one Kubernetes release, so every laptop runs the same cluster.",
		},
		Commands: []Command{
			cmd("nodes are Ready", "", true, "kubectl", "get", "nodes"),
			cmd("the CRDs: none of *.istio.io yet", "", true, "kubectl", "get", "crd", "-o", "name"),
		},
	},
	1: {
		Practices: []string{
			"Install Istio from its official Helm charts, pinned to one release, in install order (base, istiod, then istio-cni and ztunnel in ambient mode).",
			"Use distroless images: no shell, fewer packages to patch.",
			"Enrol whole namespaces with a label (istio.io/dataplane-mode=ambient or istio-injection=enabled), not pod by pod.",
		},
		Commands: []Command{
			cmd("control plane and gateway pods are running", "", true, "kubectl", "get", "pods", "-n", names.IstioNamespace),
			cmd("the namespace is enrolled", "", true, "kubectl", "get", "namespace", bookinfo, "--show-labels"),
			cmd("Istio's analyzers find no error", "", true, "istioctl", "analyze", "-n", bookinfo),
			cmd("ztunnel captures Bookinfo's workloads (protocol HBONE)", config.Ambient, true, "istioctl", "ztunnel-config", "workloads", "--workload-namespace", bookinfo),
			cmd("every sidecar is in sync with istiod", config.Sidecar, true, "istioctl", "proxy-status"),
			cmd("the ingress gateway's routes", "", true, "istioctl", "proxy-config", "routes", ingressDeploy, "-n", ingress),
		},
	},
	2: {
		Practices: []string{
			"Serve HTTPS with TLS 1.2 or newer only; redirect or close plain HTTP.",
			"Issue certificates with cert-manager from a CA chain you control, renewed automatically.",
			"Trust the CA explicitly (curl --cacert workshop-ca.crt), never -k: skipping verification teaches the wrong habit.",
		},
		Commands: []Command{
			cmd("the ingress certificate is Ready", "", true, "kubectl", "get", "certificates.cert-manager.io", "-n", ingress),
			cmd("the gateway has loaded it", "", true, "istioctl", "proxy-config", "secret", ingressDeploy, "-n", ingress),
			cmd("the TLS handshake from your machine", "", false, "curl", "-v", "--cacert", "workshop-ca.crt", "https://bookinfo.localhost/productpage"),
		},
	},
	3: {
		Practices: []string{
			"Require mutual TLS mesh-wide (STRICT in the root namespace): every connection is authenticated and encrypted.",
			"Make no PERMISSIVE exceptions; prove the policy with a client outside the mesh, which must be refused.",
		},
		Commands: []Command{
			cmd("one mesh-wide STRICT policy, no exceptions", "", true, "kubectl", "get", "peerauthentications.security.istio.io", "-A"),
			cmd("plaintext from outside the mesh is refused", "", false, "kubectl", "exec", "-n", names.OutsideNamespace, "deploy/curl-client", "--", "curl", "-sS", "--max-time", "5", "http://productpage."+bookinfo+":9080/productpage"),
			cmd("workloads speak HBONE (mTLS) through ztunnel", config.Ambient, true, "istioctl", "ztunnel-config", "workloads", "--workload-namespace", bookinfo),
			cmd("productpage's inbound listener requires mTLS", config.Sidecar, true, "istioctl", "proxy-config", "listeners", "deploy/productpage-v1", "-n", bookinfo, "--port", "15006"),
		},
	},
	4: {
		Practices: []string{
			"RequestAuthentication only rejects bad tokens; pair it with an AuthorizationPolicy that requires a request principal, or requests without a token pass.",
			"Keep signing keys and tokens secret (Pulumi secrets here), check issuer and audience, and keep token lifetimes short.",
			"Validate JWTs at the edge (the ingress gateway), once for every service behind it.",
		},
		Commands: []Command{
			cmd("the ingress trusts the stack's JWKS and requires a principal", "", true, "kubectl", "get", "requestauthentications.security.istio.io,authorizationpolicies.security.istio.io", "-n", ingress),
			cmd("a token's claims (iss, aud, sub, groups, exp)", "", false, "sh", "-c", "scripts/workshop token alice --stack step4 | cut -d. -f2 | base64 -d 2>/dev/null; echo"),
			cmd("why the gateway answered 401/403", "", false, "kubectl", "logs", "-n", ingress, ingressDeploy, "--tail", "50"),
		},
	},
	5: {
		Practices: []string{
			"Deny by default, then allow each service only its callers' identities (SPIFFE principals), and only the methods they need.",
			"DENY policies are evaluated before ALLOW: use them for what must never happen, whatever else is allowed.",
			"Try a policy in dry-run (istio.io/dry-run) before enforcing it, on an Envoy that honours it.",
			"In ambient mode put L7 policy on a waypoint (targetRefs) and let ztunnel accept only the waypoint.",
		},
		Commands: []Command{
			cmd("every policy, per namespace", "", true, "kubectl", "get", "authorizationpolicies.security.istio.io", "-A"),
			cmd("the waypoint is programmed and used", config.Ambient, true, "istioctl", "waypoint", "status", "-n", bookinfo),
			cmd("the waypoint's RBAC decisions (and dry-run shadow denials)", config.Ambient, false, "kubectl", "logs", "-n", bookinfo, "deploy/"+names.Waypoint, "--tail", "50"),
			cmd("which policies apply to productpage, and why", config.Sidecar, true, "istioctl", "x", "authz", "check", "deploy/productpage-v1", "-n", bookinfo),
		},
	},
	6: {
		Practices: []string{
			"Let workloads reach only the hosts you registered (ServiceEntry) and only through one egress gateway, where you can audit and authorize.",
			"Keep TLS end to end (SNI passthrough): the egress gateway routes by name without opening the traffic.",
			"REGISTRY_ONLY is not a security boundary on its own; close the bypass below the mesh (NetworkPolicy).",
		},
		Commands: []Command{
			cmd("the registered hosts", "", true, "kubectl", "get", "serviceentries.networking.istio.io", "-n", egress),
			cmd("a registered host answers", "", false, "kubectl", "exec", "-n", names.EgressClientNamespace, "deploy/curl-client", "--", "curl", "-sSI", "--max-time", "10", "https://httpbin.org/"),
			cmd("the egress gateway saw it", "", false, "kubectl", "logs", "-n", egress, "deploy/"+names.EgressGatewayName, "--tail", "20"),
			cmd("ztunnel sends the host to the egress waypoint", config.Ambient, true, "istioctl", "ztunnel-config", "services"),
			cmd("the client's sidecar knows only registered hosts", config.Sidecar, true, "istioctl", "proxy-config", "clusters", "deploy/curl-client", "-n", names.EgressClientNamespace),
		},
	},
	7: {
		Practices: []string{
			"Defence in depth: deny by default below the mesh too, so a pod that bypasses its proxy gets nowhere.",
			"Allow exactly what the mesh needs: DNS, istiod (15012), HBONE (15008) in ambient mode, the application ports in sidecar mode.",
			"Make sure the CNI enforces NetworkPolicy (kind's kindnet does since v0.24), or the policies are decoration.",
		},
		Commands: []Command{
			cmd("the policies of each workload namespace", "", true, "kubectl", "get", "networkpolicies", "-A"),
			cmd("a pod outside the allowed set is refused", "", false, "kubectl", "exec", "-n", names.EgressClientNamespace, "deploy/curl-client", "--", "curl", "-sS", "--max-time", "5", "http://productpage."+bookinfo+":9080/productpage"),
		},
	},
}

// printGuide writes stage s's practices and commands (both modes, each labelled).
func printGuide(w io.Writer, s config.Stage) {
	g := Guides[s]
	fmt.Fprintln(w, "\nBest practices:")
	for _, p := range g.Practices {
		fmt.Fprintf(w, "  - %s\n", p)
	}
	fmt.Fprintln(w, "\nTroubleshooting:")
	for _, c := range g.Commands {
		mode := ""
		if c.Mode != "" {
			mode = " (" + string(c.Mode) + " mode)"
		}
		fmt.Fprintf(w, "  # %s%s\n  %s\n", c.Why, mode, shellJoin(c.Run))
	}
}
