package stages

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	networkingapi "istio.io/api/networking/v1"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/charts"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/outputs"
	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// Stage 1: Istio from its official charts, Bookinfo in the mesh, HTTP ingress.
var mesh = register(Stage{
	Number:  1,
	Name:    "mesh",
	Title:   "Istio, Bookinfo and HTTP ingress",
	Promise: "Bookinfo runs in the mesh and answers through the ingress gateway over HTTP",
	Enforced: []Enforcement{
		{Where: Istiod, What: "hands every proxy its configuration and a workload certificate"},
		{Where: IngressGateway, What: "routes the workshop host to productpage"},
		{Where: Sidecar, What: "captures each pod's traffic", Mode: config.Sidecar},
		{Where: Ztunnel, What: "captures each pod's traffic (HBONE between nodes)", Mode: config.Ambient},
	},
	Settings: []string{"meshMode", "istioVersion", "chartSource", "ingressHost", "httpPort"},
	Amend: func(c config.Config, p *Plan) {
		p.Bookinfo = components.BookinfoShape{
			NamespaceLabels: components.MeshLabels(c.MeshMode),
			Routes:          []*networkingapi.HTTPRoute{components.ProductPageRoute("", "", nil)},
		}
	},
	Components: []string{"Mesh", "Bookinfo"},
	Apply: func(ctx *pulumi.Context, b *Built) error {
		// After the check of stage 0, which must see the cluster before Istio changes it.
		m, err := components.NewMesh(ctx, "mesh", b.Config, b.Cluster, b.Plan.Mesh, pulumi.DependsOn([]pulumi.Resource{b.Clean}))
		if err != nil {
			return err
		}
		bookinfo, err := components.NewBookinfo(ctx, "bookinfo", b.Config, m, b.Plan.Bookinfo, b.On())
		if err != nil {
			return err
		}
		b.Mesh, b.Bookinfo = m, bookinfo
		ctx.Export(outputs.ProductPageURL, bookinfo.ProductPageURL)
		return nil
	},
	Probes: func(c config.Config, earlier []probe.Probe) []probe.Probe {
		in := c.Ingress
		return append(earlier, probe.Probe{Stage: 1, Name: "product page over HTTP", From: probe.Host,
			URL: names.ProductPageURL("http", in.Host, in.HTTPPort), Expect: probe.Status(200)})
	},
	Images: func(c config.Config) []string {
		istio := func(name string) string {
			return fmt.Sprintf("%s/%s:%s-%s", versions.IstioHub, name, c.Versions.Istio, versions.IstioVariant)
		}
		// pilot is istiod; proxyv2 runs the gateways (and the sidecars in sidecar mode).
		images := []string{istio("pilot"), istio("proxyv2"), versions.Curl} // curl: verify's probes
		if c.MeshMode == config.Ambient {
			images = append(images, istio("install-cni"), istio("ztunnel"))
		}
		return append(images, components.BookinfoImages()...)
	},
	Charts: []charts.Chart{charts.Istiod, charts.IstioCNI, charts.Ztunnel, charts.IstioGateway}, // the base chart (CRDs only) is a CRDBundle
	Guide: Guide{
		Practices: []string{
			"Install Istio from its official Helm charts, pinned to one release, in install order (base, istiod, then istio-cni and ztunnel in ambient mode).",
			"Use distroless images: no shell, fewer packages to patch.",
			"Enrol whole namespaces with a label (istio.io/dataplane-mode=ambient or istio-injection=enabled), not pod by pod.",
		},
		Commands: []Command{
			cmd("control plane and gateway pods are running", "", true, "kubectl", "get", "pods", "-n", names.IstioNamespace),
			cmd("the namespace is enrolled", "", true, "kubectl", "get", "namespace", names.BookinfoNamespace, "--show-labels"),
			cmd("Istio's analyzers find no error", "", true, "istioctl", "analyze", "-n", names.BookinfoNamespace),
			cmd("ztunnel captures Bookinfo's workloads (protocol HBONE)", config.Ambient, true, "istioctl", "ztunnel-config", "workloads", "--workload-namespace", names.BookinfoNamespace),
			cmd("every sidecar is in sync with istiod", config.Sidecar, true, "istioctl", "proxy-status"),
			cmd("the ingress gateway's routes", "", true, "istioctl", "proxy-config", "routes", ingressDeploy, "-n", names.IngressNamespace),
		},
	},
})
