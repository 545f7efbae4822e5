package stages

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/policies/objects"
)

// inMeshProbe is stage 3's check that mutual TLS inside the mesh passes (stage 5 changes who
// calls whom in it).
const inMeshProbe = "mutual TLS inside the mesh passes"

// Stage 3: mesh-wide STRICT mTLS, and a client outside the mesh to prove it.
var strictMTLS = register(Stage{
	Number:  3,
	Name:    "strict-mtls",
	Title:   "Mesh-wide STRICT mTLS",
	Promise: "workloads accept only mutual TLS; plaintext callers from outside the mesh are refused",
	Enforced: []Enforcement{
		{Where: Sidecar, What: "accepts mutual TLS only", Mode: config.Sidecar},
		{Where: Ztunnel, What: "accepts HBONE (mutual TLS) only", Mode: config.Ambient},
	},
	Components: []string{"StrictMTLS"},
	Apply: func(ctx *pulumi.Context, b *Built) error {
		_, err := components.NewStrictMTLS(ctx, "strict-mtls", b.Config, b.Mesh, b.On())
		return err
	},
	// Plaintext from outside the mesh is refused, mesh traffic passes.
	Probes: func(c config.Config, earlier []probe.Probe) []probe.Probe {
		url := "http://productpage." + names.BookinfoNamespace + ":9080/productpage"
		return append(earlier,
			probe.Probe{Stage: 3, Name: "plaintext from outside the mesh is refused", From: names.OutsideNamespace, URL: url, Expect: probe.Refusal()},
			probe.Probe{Stage: 3, Name: inMeshProbe, From: names.BookinfoNamespace, URL: url, Expect: probe.Status(200)})
	},
	Holds: &Holds{
		What: "STRICT mutual TLS mesh-wide: a PeerAuthentication in " + names.IstioNamespace + " with mtls.mode STRICT",
		Kept: func(objs []objects.Object, _ objects.Stack) bool {
			return objects.AnyObject(objs, "security.istio.io", "PeerAuthentication", names.IstioNamespace, func(o objects.Object) bool {
				mtls, _ := objects.Field(o.Fields, "spec", "mtls").(map[string]any)
				return mtls["mode"] == "STRICT"
			})
		},
	},
	Guide: Guide{
		Practices: []string{
			"Require mutual TLS mesh-wide (STRICT in the root namespace): every connection is authenticated and encrypted.",
			"Make no PERMISSIVE exceptions; prove the policy with a client outside the mesh, which must be refused.",
		},
		Commands: []Command{
			cmd("one mesh-wide STRICT policy, no exceptions", "", true, "kubectl", "get", "peerauthentications.security.istio.io", "-A"),
			cmd("plaintext from outside the mesh is refused", "", false, "kubectl", "exec", "-n", names.OutsideNamespace, "deploy/curl-client", "--", "curl", "-sS", "--max-time", "5", "http://productpage."+names.BookinfoNamespace+":9080/productpage"),
			cmd("workloads speak HBONE (mTLS) through ztunnel", config.Ambient, true, "istioctl", "ztunnel-config", "workloads", "--workload-namespace", names.BookinfoNamespace),
			cmd("productpage's inbound listener requires mTLS", config.Sidecar, true, "istioctl", "proxy-config", "listeners", "deploy/productpage-v1", "-n", names.BookinfoNamespace, "--port", "15006"),
		},
	},
})
