package components

import (
	"fmt"

	"github.com/istio-workshop/istio-workshop/internal/config"
)

// Probe is one check of a stage's promise: a request made from a namespace (in the mesh or not)
// and the answer the stage promises. The verify command runs them; the README and `explain`
// print them.
type Probe struct {
	Stage config.Stage `json:"stage"`
	Name  string       `json:"name"`
	// From is where the request starts: "host" (the participant's machine) or a namespace,
	// where a short-lived curl pod runs.
	From string `json:"from"`
	// ServiceAccount is the identity the curl pod runs as (default: the namespace's default).
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// URL is what curl requests.
	URL string `json:"url"`
	// CACert says curl trusts the workshop root CA (--cacert), never -k.
	CACert bool `json:"caCert,omitempty"`
	// ClientCert says curl presents the stack's client certificate (mutual TLS at the ingress).
	ClientCert bool `json:"clientCert,omitempty"`
	// Persona is the token holder whose JWT goes with the request (stage 4 on).
	Persona string `json:"persona,omitempty"`
	// Expect is the HTTP status, Refused or Answered.
	Expect int `json:"expect"`
}

// Probe.Expect values that are not an HTTP status.
const (
	// Refused: the stage must refuse or reset the connection.
	Refused = 0
	// Answered: any HTTP answer passes (an external host's own status is not the stage's).
	Answered = -1
)

func (p Probe) String() string {
	want := fmt.Sprintf("HTTP %d", p.Expect)
	switch p.Expect {
	case Refused:
		want = "connection refused or reset"
	case Answered:
		want = "any HTTP answer"
	}
	from := p.From
	if p.ServiceAccount != "" {
		from += " as " + p.ServiceAccount
	}
	with := ""
	if p.Persona != "" {
		with = " with " + p.Persona + "'s token"
	}
	return fmt.Sprintf("stage %d %s: from %s %s%s -> %s", p.Stage, p.Name, from, p.URL, with, want)
}

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
		return []Probe{{Stage: 1, Name: "product page over HTTP", From: "host", URL: ProductPageURL("http", in.Host, in.HTTPPort), Expect: 200}}
	}
	https := ProductPageURL("https", in.Host, in.HTTPSPort)
	probes := []Probe{{Stage: 2, Name: "product page over HTTPS", From: "host", URL: https, CACert: true, ClientCert: in.MutualTLS,
		Persona: ReaderPersona(cfg), Expect: 200}}
	if in.MutualTLS {
		probes = append(probes, Probe{Stage: 2, Name: "HTTPS without a client certificate is refused", From: "host", URL: https, CACert: true, Expect: Refused})
	}
	if in.PlainHTTP == config.Redirect {
		probes = append(probes, Probe{Stage: 2, Name: "plain HTTP is redirected", From: "host", URL: ProductPageURL("http", in.Host, in.HTTPPort), Expect: 301})
	} else {
		probes = append(probes, Probe{Stage: 2, Name: "plain HTTP is closed", From: "host", URL: ProductPageURL("http", in.Host, in.HTTPPort), Expect: Refused})
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
