package config

import "time"

// Resilience is stage 11: how callers of reviews protect themselves, and the faults that show it.
type Resilience struct {
	// Timeout bounds a request to reviews, retries included; 0: no timeout.
	Timeout time.Duration
	// Retries is how many more times a failed request to reviews is tried.
	Retries int
	// CircuitBreaking limits reviews' connection pool and ejects failing pods.
	CircuitBreaking bool
	// FaultInjection delays beta testers' calls to ratings by FaultDelay and aborts their calls to
	// details.
	FaultInjection bool
	FaultDelay     time.Duration
}

// PerTryTimeout bounds each try: the timeout shared by the first try and the retries, so the
// last retry still ends within it.
func (r Resilience) PerTryTimeout() time.Duration {
	if r.Timeout == 0 || r.Retries == 0 {
		return 0
	}
	return (r.Timeout / time.Duration(r.Retries+1)).Truncate(time.Millisecond)
}

var resilienceSettings = []Setting{
	{"reviewsTimeout", "3s", "a duration 1s–60s, such as 3s, or off",
		"how long a caller waits for reviews, retries included (stage 11 on)"},
	{"reviewsRetries", "2", "an integer 0–5 (more than 0 needs a reviewsTimeout)",
		"how many more times a request to reviews is tried after a connection failure or a 503; each try gets reviewsTimeout ÷ (retries + 1) (stage 11 on)"},
	{"circuitBreaking", "on", "on or off",
		"reviews' connection pool limits (one connection, one pending request) and outlier detection (stage 11 on)"},
	{"faultInjection", "on", "on or off",
		"for beta testers only: a delay on their calls to ratings and an abort (HTTP 503) of their calls to details (stage 11 on)"},
	{"faultDelay", "7s", "a duration 1s–30s", "the delay injected into beta testers' calls to ratings (stage 11 on)"},
}

func (l *loader) resilience() Resilience {
	var r Resilience
	if v, _ := l.val("reviewsTimeout"); v != "off" {
		r.Timeout = l.duration("reviewsTimeout", time.Second, time.Minute)
	}
	r.Retries = l.integer("reviewsRetries", 0, 5)
	r.CircuitBreaking = l.oneOf("circuitBreaking", "on", "off") == "on"
	r.FaultInjection = l.oneOf("faultInjection", "on", "off") == "on"
	r.FaultDelay = l.duration("faultDelay", time.Second, 30*time.Second)
	if v, _ := l.val("reviewsTimeout"); v == "off" && r.Retries > 0 {
		retries, _ := l.val("reviewsRetries")
		l.errs.add("reviewsRetries", retries, "needs workshop:reviewsTimeout: each retry must have a per-try timeout, or a hung try holds the request forever (set reviewsTimeout, such as 3s, or reviewsRetries 0)")
	}
	return r
}
