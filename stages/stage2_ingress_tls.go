package stages

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/charts"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/outputs"
	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// Stage 2: cert-manager, the workshop CA and the ingress certificate; the gateway serves HTTPS.
var ingressTLS = register(Stage{
	Number:  2,
	Name:    "ingress-tls",
	Title:   "Ingress TLS from cert-manager",
	Promise: "the ingress serves HTTPS (TLS >= 1.2) with a certificate issued by the workshop CA",
	Enforced: []Enforcement{
		{Where: CertManager, What: "issues the ingress certificate from the workshop root CA"},
		{Where: IngressGateway, What: "terminates TLS 1.2 or newer with it; redirects or closes plain HTTP"},
	},
	Settings: []string{"certManagerVersion", "httpsPort", "plainHTTP", "ingressMutualTLS"},
	Amend: func(c config.Config, p *Plan) {
		p.Bookinfo.ServeTLS = true
	},
	Components: []string{"CertManager", "IngressTLS"},
	Apply: func(ctx *pulumi.Context, b *Built) error {
		cm, err := components.NewCertManager(ctx, "cert-manager", b.Config, b.Cluster, pulumi.DependsOn([]pulumi.Resource{b.Clean}))
		if err != nil {
			return err
		}
		tls, err := components.NewIngressTLS(ctx, "ingress-tls", b.Config, cm, b.Mesh, b.On())
		if err != nil {
			return err
		}
		b.IngressTLS = tls
		ctx.Export(outputs.RootCA, tls.RootCA)
		if b.Config.Ingress.MutualTLS {
			ctx.Export(outputs.ClientCert, tls.ClientCert)
			ctx.Export(outputs.ClientKey, tls.ClientKey)
		}
		return nil
	},
	// The product page moves to HTTPS: stage 1's plain HTTP check gives way to these.
	Probes: func(c config.Config, earlier []probe.Probe) []probe.Probe {
		in := c.Ingress
		https := names.ProductPageURL("https", in.Host, in.HTTPSPort)
		http := names.ProductPageURL("http", in.Host, in.HTTPPort)
		probes := withoutStage(earlier, 1)
		probes = append(probes, ingressProbe(c, 2, "product page over HTTPS", "", 200))
		if in.MutualTLS {
			probes = append(probes, probe.Probe{Stage: 2, Name: "HTTPS without a client certificate is refused", From: probe.Host, URL: https, CACert: true, Expect: probe.Refusal()})
		}
		if in.PlainHTTP == config.Redirect {
			return append(probes, probe.Probe{Stage: 2, Name: "plain HTTP is redirected", From: probe.Host, URL: http, Expect: probe.Status(301)})
		}
		return append(probes, probe.Probe{Stage: 2, Name: "plain HTTP is closed", From: probe.Host, URL: http, Expect: probe.Refusal()})
	},
	Images: func(c config.Config) []string {
		var images []string
		for _, part := range []string{"controller", "webhook", "cainjector"} {
			images = append(images, fmt.Sprintf("%s/cert-manager-%s:%s", versions.CertManagerRepository, part, c.Versions.CertManager))
		}
		return images
	},
	Charts: []charts.Chart{charts.CertManager},
	Guide: Guide{
		Practices: []string{
			"Serve HTTPS with TLS 1.2 or newer only; redirect or close plain HTTP.",
			"Issue certificates with cert-manager from a CA chain you control, renewed automatically.",
			"Trust the CA explicitly (curl --cacert workshop-ca.crt), never -k: skipping verification teaches the wrong habit.",
		},
		Commands: []Command{
			cmd("the ingress certificate is Ready", "", true, "kubectl", "get", "certificates.cert-manager.io", "-n", names.IngressNamespace),
			cmd("the gateway has loaded it", "", true, "istioctl", "proxy-config", "secret", ingressDeploy, "-n", names.IngressNamespace),
			cmd("the TLS handshake from your machine", "", false, "curl", "-v", "--cacert", "workshop-ca.crt", "https://bookinfo.localhost/productpage"),
		},
	},
})

// withoutStage is probes less those of stage n.
func withoutStage(probes []probe.Probe, n int) []probe.Probe {
	var out []probe.Probe
	for _, p := range probes {
		if p.Stage != n {
			out = append(out, p)
		}
	}
	return out
}
