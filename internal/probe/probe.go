// Package probe is the contract between the program, which exports each stage's promise checks
// as the stack output `probes`, and verify, which reads them back and runs them: what a probe
// is, the answer it expects, and how what a request got is judged. No Pulumi dependency: the
// `pulumi` tags are what the SDK marshals a struct by (it ignores `json` tags), so both tags
// name every field alike.
package probe

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Probe is one check of a stage's promise: a request made from a namespace (in the mesh or not)
// or from the participant's machine, and the answer the stage promises.
type Probe struct {
	Stage int    `json:"stage" pulumi:"stage"`
	Name  string `json:"name" pulumi:"name"`
	// From is where the request starts: Host (the participant's machine) or a namespace,
	// where a short-lived curl pod runs.
	From string `json:"from" pulumi:"from"`
	// ServiceAccount is the identity the curl pod runs as (default: the namespace's default).
	ServiceAccount string `json:"serviceAccount,omitempty" pulumi:"serviceAccount"`
	// URL is what curl requests.
	URL string `json:"url" pulumi:"url"`
	// CACert says curl trusts the workshop root CA (--cacert), never -k.
	CACert bool `json:"caCert,omitempty" pulumi:"caCert"`
	// ClientCert says curl presents the stack's client certificate (mutual TLS at the ingress).
	ClientCert bool `json:"clientCert,omitempty" pulumi:"clientCert"`
	// Persona is the token holder whose JWT goes with the request (stage 4 on).
	Persona string `json:"persona,omitempty" pulumi:"persona"`
	// Headers are sent with the request, each "Name: value" (tokens go by Persona, never here).
	Headers []string `json:"headers,omitempty" pulumi:"headers"`
	// InMesh puts the curl pod in the ambient mesh (ztunnel carries its requests with the
	// identity of its service account), for a backend that accepts only mutual TLS.
	InMesh bool `json:"inMesh,omitempty" pulumi:"inMesh"`
	// Expect is the answer the stage promises.
	Expect Expect `json:"expect" pulumi:"expect"`
}

// Host is Probe.From for a request from the participant's machine.
const Host = "host"

// Outcome is what became of a request.
type Outcome string

const (
	// Answered: an HTTP answer came back (its status is the Result's Status).
	Answered Outcome = "answered"
	// Refused: the connection was refused, reset or closed, or the TLS handshake was refused
	// by the server (an alert); with Expect.DropIsRefusal also a request that timed out.
	Refused Outcome = "refused"
	// CouldNotProbe: the request could not be made or its fate is unknown (no pod, no token,
	// a name that does not resolve, a certificate not from the workshop CA, a timeout). It
	// never keeps a promise.
	CouldNotProbe Outcome = "could-not-probe"
)

// Expect is the answer a stage promises.
type Expect struct {
	// Outcome is Answered or Refused.
	Outcome Outcome `json:"outcome" pulumi:"outcome"`
	// Status is the HTTP status an answer must have; 0 takes any status (an external host's
	// own status is not the stage's to promise).
	Status int `json:"status,omitempty" pulumi:"status"`
	// DropIsRefusal: a request that times out counts as refused. A NetworkPolicy drops packets
	// rather than resetting the connection, so its refusal is a timeout; anywhere else a
	// timeout says nothing and could not probe.
	DropIsRefusal bool `json:"dropIsRefusal,omitempty" pulumi:"dropIsRefusal"`
	// Body is text the answer's body must contain (data a backend holds, not just its status).
	Body string `json:"body,omitempty" pulumi:"body"`
	// Within is how long, in seconds, the probe is repeated until it passes: for data that
	// arrives late (a scrape every 15 s, spans sent in batches). 0: once.
	Within int `json:"within,omitempty" pulumi:"within"`
	// Requests is how many times the request is made (from a namespace only); with Split, the
	// share of the answers whose body holds each text (a version's name) must be its percentage,
	// within Tolerance points: a weighted route observed, not assumed.
	Requests  int            `json:"requests,omitempty" pulumi:"requests"`
	Split     map[string]int `json:"split,omitempty" pulumi:"split"`
	Tolerance int            `json:"tolerance,omitempty" pulumi:"tolerance"`
	// Parallel makes the Requests that many at a time (a load that trips a circuit breaker).
	Parallel int `json:"parallel,omitempty" pulumi:"parallel"`
	// Statuses: with Requests, each of these statuses is among the answers, and no other (a
	// circuit breaker lets some through and refuses the rest with 503).
	Statuses []int `json:"statuses,omitempty" pulumi:"statuses"`
	// MinSeconds and MaxSeconds bound how long the answer took (an injected delay, a timeout).
	MinSeconds float64 `json:"minSeconds,omitempty" pulumi:"minSeconds"`
	MaxSeconds float64 `json:"maxSeconds,omitempty" pulumi:"maxSeconds"`
}

// MaxRequests bounds Expect.Requests: a probe is a sample, not a load test.
const MaxRequests = 500

// MaxWithin bounds Expect.Within: verify must end.
const MaxWithin = 300

// Status expects an HTTP answer with this status.
func Status(code int) Expect { return Expect{Outcome: Answered, Status: code} }

// Containing expects an HTTP answer with this status whose body contains text, within seconds.
func Containing(code int, text string, within int) Expect {
	return Expect{Outcome: Answered, Status: code, Body: text, Within: within}
}

// Shared expects n answers with status code, shared by the texts their bodies hold as split
// says (percentages), within tolerance points.
func Shared(code, n int, split map[string]int, tolerance int) Expect {
	return Expect{Outcome: Answered, Status: code, Requests: n, Split: split, Tolerance: tolerance}
}

// AnyAnswer expects an HTTP answer of any status.
func AnyAnswer() Expect { return Expect{Outcome: Answered} }

// Refusal expects the connection or the TLS handshake refused (reset, closed, alert).
func Refusal() Expect { return Expect{Outcome: Refused} }

// Drop expects a refusal that may also be a silent drop (a NetworkPolicy).
func Drop() Expect { return Expect{Outcome: Refused, DropIsRefusal: true} }

func (e Expect) String() string {
	if e.MinSeconds > 0 || e.MaxSeconds > 0 {
		s := Expect{Outcome: e.Outcome, Status: e.Status, Body: e.Body}.String()
		if e.MinSeconds > 0 {
			s += fmt.Sprintf(" after %gs or more", e.MinSeconds)
		}
		if e.MaxSeconds > 0 {
			s += fmt.Sprintf(" within %gs", e.MaxSeconds)
		}
		return s
	}
	if len(e.Statuses) > 0 {
		return fmt.Sprintf("%d answers, %d at a time, with statuses %v (each of them, no other)", e.Requests, max(e.Parallel, 1), e.Statuses)
	}
	if len(e.Split) > 0 {
		shares := make([]string, 0, len(e.Split))
		for _, text := range slices.Sorted(maps.Keys(e.Split)) {
			shares = append(shares, fmt.Sprintf("%q %d %%", text, e.Split[text]))
		}
		return fmt.Sprintf("%d answers HTTP %d shared %s (±%d)", e.Requests, e.Status, strings.Join(shares, ", "), e.Tolerance)
	}
	if e.Body != "" {
		s := Expect{Outcome: e.Outcome, Status: e.Status}.String() + fmt.Sprintf(" containing %q", e.Body)
		if e.Within > 0 {
			s += fmt.Sprintf(" within %ds", e.Within)
		}
		return s
	}
	switch {
	case e.Outcome == Answered && e.Status != 0:
		return fmt.Sprintf("HTTP %d", e.Status)
	case e.Outcome == Answered:
		return "any HTTP answer"
	case e.DropIsRefusal:
		return "connection refused, reset or dropped"
	default:
		return "connection refused or reset"
	}
}

func (p Probe) String() string {
	from := p.From
	if p.ServiceAccount != "" {
		from += " as " + p.ServiceAccount
	}
	if p.InMesh {
		from += " (in the mesh)"
	}
	with := ""
	if p.Persona != "" {
		with = " with " + p.Persona + "'s token"
	}
	for _, h := range p.Headers {
		with += " and " + h
	}
	return fmt.Sprintf("stage %d %s: from %s %s%s -> %s", p.Stage, p.Name, from, p.URL, with, p.Expect)
}

// Validate says what makes p unusable, every problem at once: a probe that cannot say what to
// request, from where, or what to expect must stop verify before anything runs (an empty probe
// once expected a refusal, and passed whenever nothing answered).
func (p Probe) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if p.Stage < 1 {
		bad("stage %d: probes belong to stage 1 or later", p.Stage)
	}
	if strings.TrimSpace(p.Name) == "" {
		bad("no name")
	}
	if p.From == "" {
		bad("no from (%q or a namespace)", Host)
	}
	if u, err := url.Parse(p.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("url %q is not an http(s) URL", p.URL)
	}
	for _, h := range p.Headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		switch {
		case !ok || name == "" || strings.ContainsAny(name, " \t") || strings.TrimSpace(value) == "":
			bad("header %q is not \"Name: value\"", h)
		case strings.EqualFold(name, "Authorization"):
			bad("header %q: a token goes by persona, never in the probe", name)
		}
	}
	if p.InMesh && p.From == Host {
		bad("inMesh is for a probe from a namespace, not from %q", Host)
	}
	if p.Expect.Within < 0 || p.Expect.Within > MaxWithin {
		bad("within %ds is outside 0–%ds", p.Expect.Within, MaxWithin)
	}
	if p.Expect.Requests < 0 || p.Expect.Requests > MaxRequests {
		bad("requests %d is outside 0–%d", p.Expect.Requests, MaxRequests)
	}
	if p.Expect.Requests > 1 && p.From == Host {
		bad("repeated requests are made from a namespace, not from %q", Host)
	}
	if len(p.Expect.Split) > 0 {
		total := 0
		for _, pct := range p.Expect.Split {
			total += pct
		}
		if p.Expect.Requests < 10 || total > 100 || p.Expect.Tolerance < 0 || p.Expect.Tolerance > 50 || p.Expect.Outcome != Answered {
			bad("a split needs an answer, 10 requests or more, shares adding up to at most 100 (got %d) and a tolerance of 0–50 points", total)
		}
	}
	if p.Expect.Parallel < 0 || p.Expect.Parallel > 50 || p.Expect.Parallel > max(p.Expect.Requests, 1) {
		bad("parallel %d is outside 0–50 or above the requests (%d)", p.Expect.Parallel, p.Expect.Requests)
	}
	if len(p.Expect.Statuses) > 0 && (p.Expect.Requests < 2 || p.Expect.Status != 0 || slices.ContainsFunc(p.Expect.Statuses, func(s int) bool { return s < 100 || s > 599 })) {
		bad("statuses %v: HTTP statuses, for repeated requests, instead of one status", p.Expect.Statuses)
	}
	if p.Expect.MinSeconds < 0 || p.Expect.MaxSeconds < 0 || (p.Expect.MaxSeconds > 0 && p.Expect.MinSeconds > p.Expect.MaxSeconds) || p.Expect.MinSeconds > 60 {
		bad("minSeconds %g and maxSeconds %g: 0–60 s, the least first", p.Expect.MinSeconds, p.Expect.MaxSeconds)
	}
	if p.Expect.Body != "" && p.Expect.Outcome != Answered {
		bad("a body is expected only of an answer")
	}
	switch p.Expect.Outcome {
	case Answered:
		if p.Expect.Status != 0 && (p.Expect.Status < 100 || p.Expect.Status > 599) {
			bad("expected status %d is not an HTTP status", p.Expect.Status)
		}
		if p.Expect.DropIsRefusal {
			bad("dropIsRefusal is for a probe that expects a refusal")
		}
	case Refused:
		if p.Expect.Status != 0 {
			bad("a refusal has no status (got %d)", p.Expect.Status)
		}
	default:
		bad("expect.outcome %q is neither %q nor %q", p.Expect.Outcome, Answered, Refused)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("probe %q: %w", p.Name, err)
	}
	return nil
}

// Result is one probe's outcome.
type Result struct {
	Probe   Probe   `json:"probe"`
	Outcome Outcome `json:"outcome"`
	// Status is the HTTP status of an answer.
	Status int `json:"status,omitempty"`
	// TimedOut: the request timed out (Refused only under Expect.DropIsRefusal).
	TimedOut bool `json:"timedOut,omitempty"`
	// Seconds is how long the answer took (0: not measured).
	Seconds float64 `json:"seconds,omitempty"`
	Detail  string  `json:"detail,omitempty"`
	Pass    bool    `json:"pass"`
}

// Judge is p's result for what the request got.
func Judge(p Probe, got Outcome, status int, timedOut bool, detail string) Result {
	if timedOut && got == CouldNotProbe && p.Expect.DropIsRefusal {
		got = Refused
	}
	pass := got == p.Expect.Outcome && (got != Answered || p.Expect.Status == 0 || p.Expect.Status == status)
	return Result{Probe: p, Outcome: got, Status: status, TimedOut: timedOut, Detail: detail, Pass: pass}
}

// Got is the result of an HTTP answer with status.
func Got(p Probe, status int) Result { return GotAnswer(p, status, "", 0) }

// GotAnswer is the result of an HTTP answer with status and body that took seconds: the body must
// contain what the probe expects of it, in the time it expects.
func GotAnswer(p Probe, status int, body string, seconds float64) Result {
	r := Judge(p, Answered, status, false, "")
	r.Seconds = seconds
	switch {
	case !r.Pass:
	case p.Expect.Body != "" && !strings.Contains(body, p.Expect.Body):
		r.Pass = false
		r.Detail = fmt.Sprintf("the answer does not contain %q: %s", p.Expect.Body, clip(body))
	case p.Expect.MinSeconds > 0 && seconds < p.Expect.MinSeconds, p.Expect.MaxSeconds > 0 && seconds > p.Expect.MaxSeconds:
		r.Pass = false
		r.Detail = fmt.Sprintf("answered in %.2fs", seconds)
	}
	return r
}

// GotAnswers is the result of a repeated request: every answer must have the expected status,
// and the bodies must be shared as the probe's Split says.
func GotAnswers(p Probe, statuses []int, bodies []string) Result {
	if len(statuses) != p.Expect.Requests {
		return CouldNot(p, fmt.Sprintf("%d of %d requests reported", len(statuses), p.Expect.Requests))
	}
	if len(p.Expect.Statuses) > 0 {
		counts := map[int]int{}
		for _, s := range statuses {
			counts[s]++
		}
		r := Judge(p, Answered, 0, false, fmt.Sprintf("statuses (count): %v", counts)) // no one status
		for s := range counts {
			r.Pass = r.Pass && slices.Contains(p.Expect.Statuses, s)
		}
		for _, s := range p.Expect.Statuses {
			r.Pass = r.Pass && counts[s] > 0
		}
		return r
	}
	for _, s := range statuses {
		if s != statuses[0] || (p.Expect.Status != 0 && s != p.Expect.Status) {
			return Judge(p, Answered, s, false, fmt.Sprintf("statuses %v", statuses))
		}
	}
	r := Judge(p, Answered, statuses[0], false, "")
	var seen []string
	for _, text := range slices.Sorted(maps.Keys(p.Expect.Split)) {
		n := 0
		for _, b := range bodies {
			if strings.Contains(b, text) {
				n++
			}
		}
		share := n * 100 / len(bodies)
		seen = append(seen, fmt.Sprintf("%q %d %%", text, share))
		if d := share - p.Expect.Split[text]; d > p.Expect.Tolerance || -d > p.Expect.Tolerance {
			r.Pass = false
		}
	}
	r.Detail = fmt.Sprintf("%d answers: %s", len(bodies), strings.Join(seen, ", "))
	return r
}

// clip keeps a body short enough for one line of the verify table.
func clip(body string) string {
	body = strings.Join(strings.Fields(body), " ")
	if len(body) > 200 {
		return body[:200] + "…"
	}
	if body == "" {
		return "(empty)"
	}
	return body
}

// GotRefused is the result of a refused connection or handshake.
func GotRefused(p Probe, detail string) Result { return Judge(p, Refused, 0, false, detail) }

// GotTimeout is the result of a request that timed out.
func GotTimeout(p Probe, detail string) Result { return Judge(p, CouldNotProbe, 0, true, detail) }

// CouldNot is the result of a probe that could not be made; it never passes.
func CouldNot(p Probe, detail string) Result { return Judge(p, CouldNotProbe, 0, false, detail) }

// String is one line of the verify table.
func (r Result) String() string {
	mark := "PASS"
	if !r.Pass {
		mark = "FAIL"
	}
	var got string
	switch {
	case r.Outcome == Answered:
		got = fmt.Sprintf("HTTP %d", r.Status)
	case r.Outcome == Refused && r.TimedOut:
		got = "dropped (timed out)"
	case r.Outcome == Refused:
		got = "refused"
	case r.TimedOut:
		got = "could not probe: timed out"
	default:
		got = "could not probe"
	}
	if r.Detail != "" {
		got += " (" + r.Detail + ")"
	}
	return fmt.Sprintf("%s  %s\n      got %s", mark, r.Probe, got)
}

// Equal says p and o are the same probe (no header and an empty list of headers alike).
func (p Probe) Equal(o Probe) bool {
	a, errA := json.Marshal(p)
	b, errB := json.Marshal(o)
	return errA == nil && errB == nil && string(a) == string(b)
}

// Equal says e and o expect the same answer.
func (e Expect) Equal(o Expect) bool {
	a, errA := json.Marshal(e)
	b, errB := json.Marshal(o)
	return errA == nil && errB == nil && string(a) == string(b)
}
