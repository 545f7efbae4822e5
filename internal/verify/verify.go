// Package verify checks a stage's promises on a live cluster: that the stack's objects are all
// there, and that each probe (probe.Probe) gets the answer the stage promises, from the
// participant's machine or from a short-lived curl pod inside the cluster.
package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/istio-workshop/istio-workshop/internal/probe"
)

// Credentials are what the probes present: the workshop root CA (curl --cacert), the client
// certificate (mutual TLS at the ingress) and the personas' tokens.
type Credentials struct {
	RootCA                []byte
	ClientCert, ClientKey []byte
	Tokens                map[string]string
}

// Timeout bounds one request.
const Timeout = 10 * time.Second

// RequestTimeout bounds p's requests: Timeout, or longer for an answer expected to be slow.
func RequestTimeout(p probe.Probe) time.Duration {
	return max(Timeout, time.Duration((p.Expect.MinSeconds+5)*float64(time.Second)))
}

// Host runs a probe from this machine, as a participant's curl would: the workshop CA trusted,
// the client certificate and token presented when the probe says so, redirects not followed.
// Names under .localhost resolve to loopback, as curl and browsers resolve them.
func Host(ctx context.Context, p probe.Probe, c Credentials) probe.Result {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if p.CACert {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c.RootCA) {
			return probe.CouldNot(p, "no workshop root CA in the stack outputs (rootCa)")
		}
		cfg.RootCAs = pool
	}
	if p.ClientCert {
		cert, err := tls.X509KeyPair(c.ClientCert, c.ClientKey)
		if err != nil {
			return probe.CouldNot(p, "no usable client certificate in the stack outputs (clientCert, clientKey): "+err.Error())
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	dialer := &net.Dialer{Timeout: Timeout}
	client := &http.Client{
		Timeout: RequestTimeout(p),
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
		return probe.CouldNot(p, err.Error())
	}
	if p.Persona != "" {
		tok, ok := c.Tokens[p.Persona]
		if !ok {
			return probe.CouldNot(p, "no token for persona "+p.Persona+" in the stack outputs")
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for _, h := range p.Headers {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return hostOutcome(p, err)
	}
	defer resp.Body.Close()
	body := []byte{}
	if p.Expect.Body != "" {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	}
	return probe.GotAnswer(p, resp.StatusCode, string(body), time.Since(start).Seconds())
}

// maxBody bounds what a probe reads of an answer's body.
const maxBody = 4 << 20

// Until runs a probe until it passes or its Expect.Within has passed (data that arrives late: a
// scrape, a batch of spans), every interval; once when it has no Within.
func Until(ctx context.Context, p probe.Probe, interval time.Duration, run func() probe.Result) probe.Result {
	deadline := time.Now().Add(time.Duration(p.Expect.Within) * time.Second)
	for {
		r := run()
		if r.Pass || !time.Now().Add(interval).Before(deadline) {
			return r
		}
		select {
		case <-ctx.Done():
			return r
		case <-time.After(interval):
		}
	}
}

// hostOutcome sorts a failed request: the server refused (a closed port, a reset, a connection
// closed before any answer, a TLS alert it sent), the request timed out, or it could not be
// made at all (a name that does not resolve, a certificate the workshop CA did not sign).
func hostOutcome(p probe.Probe, err error) probe.Result {
	var opErr *net.OpError
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return probe.GotRefused(p, innermost(err))
	case errors.As(err, &opErr) && opErr.Op == "remote error": // an alert from the server: crypto/tls's way to say no
		return probe.GotRefused(p, innermost(err))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return probe.GotTimeout(p, innermost(err))
	default:
		return probe.CouldNot(p, innermost(err))
	}
}

// innermost drops the "Get URL:" wrapping that repeats the probe's own URL.
func innermost(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
