package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/probe"
)

// Real servers on loopback, one per way a server can treat a request.

// tcpServer accepts connections and hands each to serve; the port is closed at the end of the test.
func tcpServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return l.Addr().String()
}

// resetting answers every connection with a TCP reset once the request arrives.
func resetting(t *testing.T) string {
	return tcpServer(t, func(c net.Conn) {
		_, _ = c.Read(make([]byte, 4096))
		_ = c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
}

// hangingUp reads the request and closes the connection without a word (a proxy's black hole).
func hangingUp(t *testing.T) string {
	return tcpServer(t, func(c net.Conn) {
		_, _ = c.Read(make([]byte, 4096))
		c.Close()
	})
}

// silent accepts and never answers, like a connection whose packets are dropped after the
// handshake; it lets go when the test ends.
func silent(t *testing.T) string {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	return tcpServer(t, func(c net.Conn) {
		<-done
		c.Close()
	})
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// tlsServer serves h over TLS with a certificate for bookinfo.localhost from ca, requiring a
// client certificate from ca when mutual.
func tlsServer(t *testing.T, ca *pair, mutual bool, h http.HandlerFunc) string {
	t.Helper()
	server := issue(t, ca, &x509.Certificate{Subject: pkix.Name{CommonName: "bookinfo.localhost"}, DNSNames: []string{"bookinfo.localhost"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	cert, err := tls.X509KeyPair(server.pem, server.kpem)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if mutual {
		pool := x509.NewCertPool()
		pool.AddCert(ca.cert)
		srv.TLS.ClientCAs, srv.TLS.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return "bookinfo.localhost:" + port
}

func newCA(t *testing.T, name string) *pair {
	return issue(t, nil, &x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign})
}

// world is one set of servers and the workshop's credentials for them.
type world struct {
	ca, client                    *pair
	answering, mutual, foreignTLS string // host:port
	reset, hangUp, quiet, closed  string
}

// splitCount and inFlight are the state of the world's /split and /breaker handlers.
var splitCount, inFlight atomic.Int32

func newWorld(t *testing.T) world {
	ca := newCA(t, "workshop-ca")
	w := world{ca: ca, client: issue(t, ca, &x509.Certificate{Subject: pkix.Name{CommonName: "participant"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})}
	w.answering = tlsServer(t, ca, false, func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/old":
			http.Redirect(rw, r, "/productpage", http.StatusMovedPermanently)
		case r.URL.Path == "/split": // one answer in five from "v2", the others from "v1"
			if splitCount.Add(1)%5 == 0 {
				fmt.Fprint(rw, `{"podname": "reviews-v2-abc"}`)
			} else {
				fmt.Fprint(rw, `{"podname": "reviews-v1-abc"}`)
			}
		case r.URL.Path == "/slow":
			time.Sleep(1500 * time.Millisecond)
		case r.URL.Path == "/breaker": // two requests at a time; the rest overflow, as Envoy's pool does
			if inFlight.Add(1) > 2 {
				inFlight.Add(-1)
				rw.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			time.Sleep(300 * time.Millisecond)
			inFlight.Add(-1)
		case r.URL.Path == "/data": // a backend's data: what the request asked for, by its header
			fmt.Fprintf(rw, `{"result":[{"trace":%q}]}`, r.Header.Get("x-client-trace-id"))
		case r.Header.Get("Authorization") != "Bearer eyJ.alice":
			rw.WriteHeader(http.StatusForbidden)
		}
	})
	w.mutual = tlsServer(t, ca, true, func(http.ResponseWriter, *http.Request) {})
	w.foreignTLS = tlsServer(t, newCA(t, "somebody-else"), false, func(http.ResponseWriter, *http.Request) {})
	w.reset, w.hangUp, w.quiet, w.closed = resetting(t), hangingUp(t), silent(t), closedPort(t)
	return w
}

func (w world) creds() Credentials {
	return Credentials{RootCA: w.ca.pem, ClientCert: w.client.pem, ClientKey: w.client.kpem, Tokens: map[string]string{"alice": "eyJ.alice"}}
}

func hostCase(url string, expect probe.Expect) probe.Probe {
	return probe.Probe{Stage: 2, Name: "case", From: probe.Host, URL: url, CACert: strings.HasPrefix(url, "https"), Expect: expect}
}

func TestHostProbesSortEveryOutcomeAgainstRealServers(t *testing.T) {
	w := newWorld(t)
	cases := []outcomeCase{
		{"an answer with the promised status", with(hostCase("https://"+w.answering+"/productpage", probe.Status(200)), "alice", false), probe.Answered, 200, true},
		{"an answer with another status", hostCase("https://"+w.answering+"/productpage", probe.Status(200)), probe.Answered, 403, false},
		{"a redirect is an answer, not followed", with(hostCase("https://"+w.answering+"/old", probe.Status(301)), "alice", false), probe.Answered, 301, true},
		{"any answer", hostCase("https://"+w.answering+"/productpage", probe.AnyAnswer()), probe.Answered, 403, true},
		{"a closed port refuses", hostCase("http://"+w.closed+"/", probe.Refusal()), probe.Refused, 0, true},
		{"a reset refuses", hostCase("http://"+w.reset+"/", probe.Refusal()), probe.Refused, 0, true},
		{"a connection closed without an answer refuses", hostCase("http://"+w.hangUp+"/", probe.Refusal()), probe.Refused, 0, true},
		{"mutual TLS without a client certificate refuses (an alert)", hostCase("https://"+w.mutual+"/", probe.Refusal()), probe.Refused, 0, true},
		{"mutual TLS with the client certificate answers", with(hostCase("https://"+w.mutual+"/", probe.Status(200)), "", true), probe.Answered, 200, true},
		{"a refusal where an answer is promised fails", hostCase("http://"+w.closed+"/", probe.Status(200)), probe.Refused, 0, false},
		{"a certificate from another CA could not probe, even where a refusal is promised", hostCase("https://"+w.foreignTLS+"/", probe.Refusal()), probe.CouldNotProbe, 0, false},
		{"a timeout is not a refusal", hostCase("http://"+w.quiet+"/", probe.Refusal()), probe.CouldNotProbe, 0, false},
		{"a timeout is a drop where the probe says so", hostCase("http://"+w.quiet+"/", probe.Drop()), probe.Refused, 0, true},
		{"a token the stack does not have could not probe", with(hostCase("http://"+w.closed+"/", probe.Refusal()), "mallory", false), probe.CouldNotProbe, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			c.check(t, Host(ctx, c.probe, w.creds()))
		})
	}

	noCA := hostCase("https://"+w.mutual+"/", probe.Refusal())
	r := Host(context.Background(), noCA, Credentials{})
	assert.Equal(t, probe.CouldNotProbe, r.Outcome, "no root CA in the outputs: %s", r)
	assert.Contains(t, r.Detail, "rootCa")
}

// outcomeCase is a probe against one of the servers, and how its result must come out.
type outcomeCase struct {
	name    string
	probe   probe.Probe
	outcome probe.Outcome
	status  int
	pass    bool
}

func (c outcomeCase) check(t *testing.T, r probe.Result) {
	t.Helper()
	assert.Equal(t, c.outcome, r.Outcome, r.String())
	assert.Equal(t, c.status, r.Status, r.String())
	assert.Equal(t, c.pass, r.Pass, r.String())
}

func with(p probe.Probe, persona string, clientCert bool) probe.Probe {
	p.Persona, p.ClientCert = persona, clientCert
	return p
}

// TestCurlOutcomesAgainstRealServers runs the probe pod's own curl command line (its args from
// ProbePod) with the host's curl against the same servers, and sorts what it printed.
func TestCurlOutcomesAgainstRealServers(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("no curl on this machine")
	}
	w := newWorld(t)
	bundle := t.TempDir() + "/ca.pem"
	require.NoError(t, os.WriteFile(bundle, w.ca.pem, 0o600))
	run := func(p probe.Probe) probe.Result {
		c := ProbePod("verify-test", p, "").Spec.Containers[0]
		args := append([]string(nil), c.Args...)
		for i := range args {
			if args[i] == "--max-time" {
				args[i+1] = "2" // the pod waits 10 s; the silent server needs only to outlast this
			}
		}
		cmd := exec.Command(curl, args...)
		// The pod's image trusts the public CAs; here the workshop CA plays that part.
		cmd.Env = append(os.Environ(), "CURL_CA_BUNDLE="+bundle)
		out, err := cmd.CombinedOutput()
		exit := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			exit = ee.ExitCode()
		}
		return CurlOutcome(p, string(out), exit)
	}
	inCluster := func(url string, expect probe.Expect) probe.Probe {
		return probe.Probe{Stage: 3, Name: "case", From: "bookinfo", URL: url, Expect: expect}
	}
	cases := []outcomeCase{
		{"an answer", inCluster("https://"+w.answering+"/productpage", probe.Status(403)), probe.Answered, 403, true},
		{"a closed port refuses", inCluster("http://"+w.closed+"/", probe.Refusal()), probe.Refused, 0, true},
		{"a reset refuses", inCluster("http://"+w.reset+"/", probe.Refusal()), probe.Refused, 0, true},
		{"an empty reply refuses", inCluster("http://"+w.hangUp+"/", probe.Refusal()), probe.Refused, 0, true},
		{"mutual TLS without a client certificate refuses", inCluster("https://"+w.mutual+"/", probe.Refusal()), probe.Refused, 0, true},
		{"a certificate nobody trusts could not probe", inCluster("https://"+w.foreignTLS+"/", probe.Refusal()), probe.CouldNotProbe, 0, false},
		{"a timeout is not a refusal", inCluster("http://"+w.quiet+"/", probe.Refusal()), probe.CouldNotProbe, 0, false},
		{"a timeout is a drop where the probe says so", inCluster("http://"+w.quiet+"/", probe.Drop()), probe.Refused, 0, true},
		{"a refusal where an answer is promised fails", inCluster("http://"+w.closed+"/", probe.Status(200)), probe.Refused, 0, false},
		{"an answer holding the data passes", withHeader(inCluster("https://"+w.answering+"/data", probe.Containing(200, `"trace":"t1"`, 0)), "x-client-trace-id: t1"), probe.Answered, 200, true},
		{"an answer without the data fails", withHeader(inCluster("https://"+w.answering+"/data", probe.Containing(200, `"trace":"t1"`, 0)), "x-client-trace-id: t2"), probe.Answered, 200, false},
		{"the observed split is the weights'", inCluster("https://"+w.answering+"/split", probe.Shared(200, 50, map[string]int{"reviews-v1-": 80, "reviews-v2-": 20}, 5)), probe.Answered, 200, true},
		{"another split fails", inCluster("https://"+w.answering+"/split", probe.Shared(200, 50, map[string]int{"reviews-v1-": 50, "reviews-v2-": 50}, 10)), probe.Answered, 200, false},
		{"a slow answer is slow", inCluster("https://"+w.answering+"/slow", probe.Expect{Outcome: probe.Answered, Status: 200, MinSeconds: 1}), probe.Answered, 200, true},
		{"a slow answer is not fast", inCluster("https://"+w.answering+"/slow", probe.Expect{Outcome: probe.Answered, Status: 200, MaxSeconds: 1}), probe.Answered, 200, false},
		{"a load trips the breaker", inCluster("https://"+w.answering+"/breaker", probe.Expect{Outcome: probe.Answered, Requests: 12, Parallel: 6, Statuses: []int{200, 503}}), probe.Answered, 0, true},
		{"one at a time never trips it", inCluster("https://"+w.answering+"/breaker", probe.Expect{Outcome: probe.Answered, Requests: 4, Statuses: []int{200, 503}}), probe.Answered, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.check(t, run(c.probe))
		})
	}
}

func withHeader(p probe.Probe, h string) probe.Probe {
	p.Headers = []string{h}
	return p
}

// A probe that expects data reads the body (from this machine and from curl), sends its headers,
// and fails on an answer of the right status without the data.
func TestHostProbesJudgeTheBody(t *testing.T) {
	w := newWorld(t)
	p := withHeader(hostCase("https://"+w.answering+"/data", probe.Containing(200, `"trace":"t1"`, 0)), "x-client-trace-id: t1")
	r := Host(context.Background(), p, w.creds())
	assert.True(t, r.Pass, "%s", r)
	r = Host(context.Background(), withHeader(p, "x-client-trace-id: t2"), w.creds())
	assert.False(t, r.Pass)
	assert.Contains(t, r.Detail, `the answer does not contain "\"trace\":\"t1\"": {"result":[{"trace":"t2"}]}`)
}

// Until repeats a probe until it passes, and gives up once its Within has passed.
func TestUntilWaitsForLateDataThenGivesUp(t *testing.T) {
	p := probe.Probe{Stage: 9, Name: "late", From: "istio-system", URL: "http://prometheus:9090/", Expect: probe.Containing(200, "x", 1)}
	runs := 0
	r := Until(context.Background(), p, 10*time.Millisecond, func() probe.Result {
		runs++
		if runs < 3 {
			return probe.GotAnswer(p, 200, "", 0)
		}
		return probe.GotAnswer(p, 200, "x", 0)
	})
	assert.True(t, r.Pass)
	assert.Equal(t, 3, runs)

	runs = 0
	start := time.Now()
	r = Until(context.Background(), p, 100*time.Millisecond, func() probe.Result { runs++; return probe.GotAnswer(p, 200, "", 0) })
	assert.False(t, r.Pass)
	assert.InDelta(t, 1.0, time.Since(start).Seconds(), 0.5, "gives up after Within")
	assert.Greater(t, runs, 5)

	p.Expect.Within = 0
	runs = 0
	Until(context.Background(), p, time.Millisecond, func() probe.Result { runs++; return probe.GotAnswer(p, 200, "", 0) })
	assert.Equal(t, 1, runs, "no Within: once")
}

func TestProbeValidateRefusesWhatVerifyCannotDo(t *testing.T) {
	ok := probe.Probe{Stage: 9, Name: "n", From: "istio-system", InMesh: true, URL: "http://kiali:20001/", Headers: []string{"x-client-trace-id: 1"}, Expect: probe.Containing(200, "x", 60)}
	require.NoError(t, ok.Validate())
	for want, edit := range map[string]func(*probe.Probe){
		`header "x-client-trace-id" is not "Name: value"`: func(p *probe.Probe) { p.Headers = []string{"x-client-trace-id"} },
		"a token goes by persona":                         func(p *probe.Probe) { p.Headers = []string{"Authorization: Bearer x"} },
		"inMesh is for a probe from a namespace":          func(p *probe.Probe) { p.From = probe.Host },
		"within 301s is outside 0–300s":                   func(p *probe.Probe) { p.Expect.Within = 301 },
		"a body is expected only of an answer":            func(p *probe.Probe) { p.Expect = probe.Refusal(); p.Expect.Body = "x" },
	} {
		p := ok
		edit(&p)
		assert.ErrorContains(t, p.Validate(), want)
	}
}

func TestCurlOutcomeNeedsCurlsOwnReport(t *testing.T) {
	p := probe.Probe{Stage: 3, Name: "x", From: "bookinfo", URL: "http://productpage.bookinfo:9080/", Expect: probe.Refusal()}
	r := CurlOutcome(p, "exec /usr/bin/curl: no such file or directory\n", 1)
	assert.Equal(t, probe.CouldNotProbe, r.Outcome, "a pod whose curl never ran refused nothing")
	assert.False(t, r.Pass)
	r = CurlOutcome(p, "curl: (7) Failed to connect to productpage.bookinfo port 443 after 3 ms: Couldn't connect to server\n"+curlMarker+"000\n", 7)
	assert.Equal(t, probe.Refused, r.Outcome, "a port number in curl's message is not a status")
	assert.Contains(t, r.Detail, "curl exit 7: curl: (7) Failed to connect")
}
