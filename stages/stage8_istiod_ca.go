package stages

import (
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/policies/objects"
)

// Stage 8: istiod signs with an intermediate CA that cert-manager issues from the workshop root.
var istiodCA = register(Stage{
	Number:  8,
	Name:    "istiod-ca",
	Title:   "Istio's certificate management: istiod's CA from cert-manager",
	Promise: "every workload identity chains to the workshop root CA, through an intermediate that cert-manager issues istiod and renews",
	Enforced: []Enforcement{
		{Where: CertManager, What: "issues istiod's intermediate CA from the workshop root"},
		{Where: Istiod, What: "signs every workload certificate with it"},
	},
	Settings: []string{"istiodCADuration", "istiodCARenewBefore"},
	Amend: func(c config.Config, p *Plan) {
		p.Mesh.PluggedCA = names.IstiodCASecret
	},
	Components: []string{"IstiodCA"},
	Apply: func(ctx *pulumi.Context, b *Built) error {
		_, err := components.NewIstiodCA(ctx, "istiod-ca", b.Config, b.Cluster, b.IngressTLS, b.Mesh, b.On())
		return err
	},
	// Everywhere: the intermediate chains to the stack's root and istiod mounts it. On a real
	// cluster also: istiod, running on it, hands every workload the workshop root as the one to
	// trust (it publishes the root of the CA it signs with).
	Facts: func(c config.Config) []Fact {
		return []Fact{
			{Stage: 8, Name: "istiod's intermediate CA is issued by the workshop root", Kind: IssuedByRoot,
				Namespace: names.IstioNamespace, Object: names.IstiodCASecret},
			{Stage: 8, Name: "istiod runs with the intermediate mounted", Kind: MountsSecret,
				Namespace: names.IstioNamespace, Object: "istiod", Volume: components.CACertsVolume, Secret: names.IstiodCASecret},
			{Stage: 8, Name: "workloads are given the workshop root to trust", Kind: PublishesRoot,
				Namespace: names.BookinfoNamespace, Object: "istio-ca-root-cert", RealCluster: true},
		}
	},
	Holds: &Holds{
		What: "istiod's CA from cert-manager: a CA Certificate " + names.IstiodCASecret + " in " + names.IstioNamespace +
			" issued by the workshop's ClusterIssuer (an intermediate, not a root), with a lifetime of 24h–8760h renewed before it ends",
		Kept: func(objs []objects.Object, _ objects.Stack) bool {
			// istiod's volume is a chart child's: the pack sees it on the up, its mocked tests
			// do not; verify checks it on the cluster.
			issued := objects.AnyObject(objs, "cert-manager.io", "Certificate", names.IstioNamespace, func(o objects.Object) bool {
				spec, _ := objects.Field(o.Fields, "spec").(map[string]any)
				issuer, _ := spec["issuerRef"].(map[string]any)
				duration, renew := parseDuration(spec["duration"]), parseDuration(spec["renewBefore"])
				return o.Name == names.IstiodCASecret && spec["isCA"] == true && spec["secretName"] == names.IstiodCASecret &&
					issuer["kind"] == "ClusterIssuer" && issuer["name"] == components.CAIssuer &&
					duration >= config.MinIstiodCADuration && duration <= config.MaxIstiodCADuration && renew > 0 && renew < duration
			})
			return issued
		},
	},
	Guide: Guide{
		Concepts: []string{
			"istiod is the mesh's certificate authority: every workload (through ztunnel in ambient mode, its sidecar in sidecar mode) sends istiod a signing request and gets a short-lived certificate (24 h) for its SPIFFE identity, spiffe://cluster.local/ns/NAMESPACE/sa/SERVICEACCOUNT; cluster.local is the trust domain. Mutual TLS between workloads is these certificates, checked against one root.",
			"Out of the box istiod makes up a self-signed root (istio-ca-secret in " + names.IstioNamespace + "): nobody chose it and nothing outside the cluster trusts it. This stage plugs in a CA instead: cert-manager issues istiod an intermediate CA from the workshop root (stage 2's), and istiod signs with it; the chain is workload -> intermediate -> workshop root.",
			"Root vs intermediate: the root is the anchor everyone trusts and should live offline, in an HSM or a managed CA, since a stolen root key forges every identity; an intermediate per cluster limits the damage of a stolen cluster key to that cluster and can be short-lived.",
			"Rotation: cert-manager renews the intermediate (workshop:istiodCARenewBefore before its end, with a new key); istiod watches its mounted CA files and takes a renewed intermediate that keeps the root without a restart. Workload certificates rotate by themselves within their day.",
			"Walking 7 -> 8 on a live mesh changes the root: istiod restarts on the new CA (its pod waits until cert-manager has issued it), then the stage restarts the pods that hold workload certificates (ztunnel, the waypoints and the gateways in ambient mode; every injected pod and the gateways in sidecar mode), which come back with certificates of the new root. During that rollout (seconds to a minute, pod after pod) a new handshake between a restarted pod and one not yet restarted fails; established connections stay up until they close. Walking 8 -> 7 does the same in reverse. A production migration avoids the window by having every workload trust both roots first (istiod accepts a root bundle that grows or shrinks, with multi-root enabled).",
		},
		Practices: []string{
			"Chain the mesh's identities to a CA you own: istiod signs workload certificates with an intermediate CA, never with a root it made up.",
			"Keep the root's key off the cluster in production (an offline or managed root signs the per-cluster intermediates); this workshop keeps it in a Secret of the cert-manager namespace for convenience.",
			"One intermediate per cluster, short-lived and renewed automatically by cert-manager; a renewal keeps the root, so workloads keep trusting each other.",
			"Changing the root is a migration: distribute the new root to every workload before any certificate chains to it.",
		},
		Commands: []Command{
			cmd("istiod's CA Certificate is Ready, and when it renews", "", true, "kubectl", "get", "certificates.cert-manager.io", names.IstiodCASecret, "-n", names.IstioNamespace, "-o", "wide"),
			cmd("the intermediate: subject, issuer (the workshop root), validity", "", true, "sh", "-c",
				"kubectl get secret "+names.IstiodCASecret+" -n "+names.IstioNamespace+" -o jsonpath='{.data.tls\\.crt}' | base64 -d | openssl x509 -noout -subject -issuer -dates"),
			cmd("istiod loaded the plugged-in CA (not its self-signed one)", "", true, "kubectl", "logs", "deploy/istiod", "-n", names.IstioNamespace, "--tail=-1", "|", "grep", "-i", "kubernetes.io/tls secret type"),
			cmd("the root every workload trusts", "", true, "kubectl", "get", "configmap", "istio-ca-root-cert", "-n", names.BookinfoNamespace, "-o", "jsonpath={.data.root-cert\\.pem}"),
			cmd("a workload's certificate chain (ztunnel holds it)", config.Ambient, true, "istioctl", "ztunnel-config", "certificates", "-n", names.IstioNamespace),
			cmd("a workload's certificate chain (its sidecar holds it)", config.Sidecar, true, "istioctl", "proxy-config", "secret", "deploy/productpage-v1", "-n", names.BookinfoNamespace),
			cmd("renew now (cert-manager's CLI), then watch the Certificate's revision", "", false, "cmctl", "renew", names.IstiodCASecret, "-n", names.IstioNamespace),
		},
	},
})

// parseDuration reads a duration a Certificate spec holds; 0 when it holds none.
func parseDuration(v any) time.Duration {
	s, _ := v.(string)
	d, _ := time.ParseDuration(s)
	return d
}
