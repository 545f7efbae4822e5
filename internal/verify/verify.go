// Package verify checks a stage's promises on a live cluster: that the stack's objects are all
// there, and that each probe (components.Probe) gets the answer the stage promises, from the
// participant's machine or from a short-lived curl pod inside the cluster.
package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/istio-workshop/istio-workshop/components"
)

// Credentials are what the probes present: the workshop root CA (curl --cacert), the client
// certificate (mutual TLS at the ingress) and the personas' tokens.
type Credentials struct {
	RootCA                []byte
	ClientCert, ClientKey []byte
	Tokens                map[string]string
}

// Result is one probe's outcome.
type Result struct {
	Probe components.Probe `json:"probe"`
	// Got is the HTTP status, or components.Refused when the connection failed.
	Got    int    `json:"got"`
	Detail string `json:"detail,omitempty"`
	Pass   bool   `json:"pass"`
}

// Passes says whether got keeps the promise expect.
func Passes(expect, got int) bool {
	if expect == components.Answered {
		return got != components.Refused
	}
	return expect == got
}

func result(p components.Probe, got int, detail string) Result {
	return Result{Probe: p, Got: got, Detail: detail, Pass: Passes(p.Expect, got)}
}

// Timeout bounds one request.
const Timeout = 10 * time.Second

// Host runs a probe from this machine, as a participant's curl would: the workshop CA trusted,
// the client certificate and token presented when the probe says so, redirects not followed.
// Names under .localhost resolve to loopback, as curl and browsers resolve them.
func Host(ctx context.Context, p components.Probe, c Credentials) Result {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.CACert {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c.RootCA) {
			return result(p, components.Refused, "no workshop root CA in the stack outputs (rootCa)")
		}
		cfg.RootCAs = pool
	}
	if p.ClientCert {
		cert, err := tls.X509KeyPair(c.ClientCert, c.ClientKey)
		if err != nil {
			return result(p, components.Refused, "client certificate: "+err.Error())
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	dialer := &net.Dialer{Timeout: Timeout}
	client := &http.Client{
		Timeout: Timeout,
		Transport: &http.Transport{
			TLSClientConfig: cfg,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, port, err := net.SplitHostPort(addr)
				if err == nil && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
					addr = net.JoinHostPort("127.0.0.1", port)
				}
				return dialer.DialContext(ctx, network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return result(p, components.Refused, err.Error())
	}
	if p.Persona != "" {
		tok, ok := c.Tokens[p.Persona]
		if !ok {
			return result(p, components.Refused, "no token for persona "+p.Persona+" in the stack outputs")
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap()
		}
		return result(p, components.Refused, err.Error())
	}
	resp.Body.Close()
	return result(p, resp.StatusCode, "")
}

// String is one line of the verify table.
func (r Result) String() string {
	mark := "PASS"
	if !r.Pass {
		mark = "FAIL"
	}
	got := fmt.Sprintf("HTTP %d", r.Got)
	if r.Got == components.Refused {
		got = "refused"
	}
	if r.Detail != "" {
		got += " (" + r.Detail + ")"
	}
	return fmt.Sprintf("%s  %s\n      got %s", mark, r.Probe, got)
}
