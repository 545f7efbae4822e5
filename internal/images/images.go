// Package images lists every container image the configured stages run, so a workshop can pull
// and pre-load them before the venue's Wi-Fi is put to the test.
package images

import (
	"fmt"
	"sort"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// For lists the images of cfg's stages, sorted and without duplicates.
func For(cfg config.Config) []string {
	set := map[string]bool{}
	add := func(images ...string) {
		for _, i := range images {
			set[i] = true
		}
	}
	istio := func(name string) string {
		return fmt.Sprintf("%s/%s:%s-%s", versions.IstioHub, name, cfg.Versions.Istio, versions.IstioVariant)
	}
	if cfg.Stage.Includes(1) {
		// pilot is istiod; proxyv2 runs the gateways (and the sidecars in sidecar mode).
		add(istio("pilot"), istio("proxyv2"))
		if cfg.MeshMode == config.Ambient {
			add(istio("install-cni"), istio("ztunnel"))
		}
		for _, s := range []struct{ service, version string }{
			{"details", "v1"}, {"ratings", "v1"}, {"reviews", "v1"}, {"reviews", "v2"}, {"reviews", "v3"}, {"productpage", "v1"},
		} {
			add(components.BookinfoImage(s.service, s.version))
		}
		add(versions.Curl) // verify's probes
	}
	if cfg.Stage.Includes(2) {
		for _, c := range []string{"controller", "webhook", "cainjector"} {
			add(fmt.Sprintf("%s/cert-manager-%s:%s", versions.CertManagerRepository, c, cfg.Versions.CertManager))
		}
	}
	out := make([]string, 0, len(set))
	for i := range set {
		out = append(out, i)
	}
	sort.Strings(out)
	return out
}
