// Package outputs is the contract of the stack outputs: the program exports each under the name
// given here, and the CLI reads them back as one typed Stack. No Pulumi dependency.
package outputs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/istio-workshop/istio-workshop/internal/probe"
)

// The names of the stack outputs.
const (
	Stage           = "stage"
	Settings        = "settings"
	MeshMode        = "meshMode"
	ClusterProvider = "clusterProvider"
	ClusterName     = "clusterName"
	ContextName     = "contextName"
	Kubeconfig      = "kubeconfig"
	DefaultState    = "defaultState"
	RootCA          = "rootCa"
	ClientCert      = "clientCert"
	ClientKey       = "clientKey"
	ProductPageURL  = "productPageUrl"
	Probes          = "probes"
	JWKS            = "jwks"
	Tokens          = "tokens"
)

// Stack is every output of a stack, as the CLI reads it. Outputs a stage has not made yet are
// empty.
type Stack struct {
	Stage int `json:"stage"`
	// Settings are the workshop:* settings the stack was made with (secrets left out).
	Settings        map[string]string `json:"settings"`
	MeshMode        string            `json:"meshMode"`
	ClusterProvider string            `json:"clusterProvider"`
	ClusterName     string            `json:"clusterName"`
	ContextName     string            `json:"contextName"`
	Kubeconfig      string            `json:"kubeconfig"`
	DefaultState    bool              `json:"defaultState"`
	RootCA          string            `json:"rootCa,omitempty"`
	ClientCert      string            `json:"clientCert,omitempty"`
	ClientKey       string            `json:"clientKey,omitempty"`
	ProductPageURL  string            `json:"productPageUrl,omitempty"`
	Probes          []probe.Probe     `json:"probes,omitempty"`
	JWKS            string            `json:"jwks,omitempty"`
	Tokens          map[string]string `json:"tokens,omitempty"`
}

// Decode reads a stack's outputs (as the Automation API or `pulumi stack output --json` gives
// them, secrets shown). An output of the wrong shape, an unknown output or a probe that is not
// complete is an error: verify must never run a probe it cannot read whole.
func Decode(raw map[string]any) (Stack, error) {
	var s Stack
	b, err := json.Marshal(raw)
	if err != nil {
		return s, fmt.Errorf("reading the stack outputs: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("the stack outputs do not match this workshop's (run `up` with this version): %w", err)
	}
	var errs []error
	for i, p := range s.Probes {
		errs = append(errs, p.Validate())
		// Pulumi marshals a nil list or map as an empty one: a JSON round trip (omitempty) makes
		// them nil again, so a probe reads back as the stage defined it.
		if b, err := json.Marshal(p); err == nil {
			var again probe.Probe
			if json.Unmarshal(b, &again) == nil {
				s.Probes[i] = again
			}
		}
	}
	if _, ok := raw[Probes]; ok && len(s.Probes) == 0 && s.Stage >= 1 {
		errs = append(errs, errors.New("the probes output is empty"))
	}
	if err := errors.Join(errs...); err != nil {
		return s, fmt.Errorf("the stack's %s output is not usable (run `up` with this version to export them again): %w", Probes, err)
	}
	return s, nil
}
