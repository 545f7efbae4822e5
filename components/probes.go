package components

import (
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/probe"
)

// Probe is one check of a stage's promise (the stack output `probes`, read back by verify).
type Probe = probe.Probe

// ProbesFor is every check of the promises cfg's stages make, in stage order.
func ProbesFor(cfg config.Config) []Probe {
	if !cfg.Stage.Includes(1) {
		return nil
	}
	probes := BookinfoProbes(cfg)
	if cfg.Stage.Includes(3) {
		probes = append(probes, StrictMTLSProbes(cfg)...)
	}
	if cfg.Stage.Includes(4) {
		probes = append(probes, EndUserAuthProbes(cfg)...)
	}
	if cfg.Stage.Includes(5) {
		probes = append(probes, AuthorizationProbes(cfg)...)
	}
	if cfg.Stage.Includes(6) {
		probes = append(probes, EgressProbes(cfg)...)
	}
	if cfg.Stage.Includes(7) {
		probes = append(probes, NetworkPolicyProbes(cfg)...)
	}
	return probes
}

// BookinfoProbes: stage 1's promise, and stage 2's change to it.
func BookinfoProbes(cfg config.Config) []Probe {
	in := cfg.Ingress
	if !cfg.Stage.Includes(2) {
		return []Probe{{Stage: 1, Name: "product page over HTTP", From: probe.Host, URL: names.ProductPageURL("http", in.Host, in.HTTPPort), Expect: probe.Status(200)}}
	}
	https := names.ProductPageURL("https", in.Host, in.HTTPSPort)
	probes := []Probe{{Stage: 2, Name: "product page over HTTPS", From: probe.Host, URL: https, CACert: true, ClientCert: in.MutualTLS,
		Persona: ReaderPersona(cfg), Expect: probe.Status(200)}}
	if in.MutualTLS {
		probes = append(probes, Probe{Stage: 2, Name: "HTTPS without a client certificate is refused", From: probe.Host, URL: https, CACert: true, Expect: probe.Refusal()})
	}
	if in.PlainHTTP == config.Redirect {
		probes = append(probes, Probe{Stage: 2, Name: "plain HTTP is redirected", From: probe.Host, URL: names.ProductPageURL("http", in.Host, in.HTTPPort), Expect: probe.Status(301)})
	} else {
		probes = append(probes, Probe{Stage: 2, Name: "plain HTTP is closed", From: probe.Host, URL: names.ProductPageURL("http", in.Host, in.HTTPPort), Expect: probe.Refusal()})
	}
	return probes
}

// ReaderPersona is the persona whose token earlier stages' ingress probes carry once stage 4
// requires one: the first with the reader group (stage 5 requires it), else the first.
// Empty before stage 4.
func ReaderPersona(cfg config.Config) string {
	if !cfg.Stage.Includes(4) || len(cfg.Auth.Personas) == 0 {
		return ""
	}
	for _, p := range cfg.Auth.Personas {
		if p.HasGroup(config.ReaderGroup) {
			return p.Name
		}
	}
	return cfg.Auth.Personas[0].Name
}
