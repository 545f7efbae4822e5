package stages

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/probe"
)

// Stage 11: timeouts, retries and a circuit breaker for reviews' callers; faults for beta testers
// that show why.
var resilience = register(Stage{
	Number:  11,
	Name:    "resilience",
	Title:   "Resilience: timeouts, retries, circuit breaking and fault injection",
	Promise: "a call to reviews ends within its timeout, retried only after a connection failure or a gateway error, and a burst beyond reviews' connection pool is shed (503) instead of queued; beta testers alone get the injected faults (ratings delayed, details aborted)",
	Enforced: []Enforcement{
		{Where: Sidecar, What: "timeouts, retries, the circuit breaker and the faults", Mode: config.Sidecar},
		{Where: Waypoint, What: "timeouts, retries, the circuit breaker and the faults", Mode: config.Ambient},
	},
	Settings: []string{"reviewsTimeout", "reviewsRetries", "circuitBreaking", "faultInjection", "faultDelay"},
	Amend: func(c config.Config, p *Plan) {
		p.Reviews.Routes = components.WithTimeouts(p.Reviews.Routes, c.Resilience)
		if c.Resilience.CircuitBreaking {
			p.Reviews.TrafficPolicy = components.CircuitBreaker()
		}
	},
	Components: []string{"Resilience"},
	Apply: func(ctx *pulumi.Context, b *Built) error {
		_, err := components.NewResilience(ctx, "resilience", b.Config, b.Mesh, []pulumi.Resource{b.Bookinfo, b.Authorization}, b.On())
		return err
	},
	// From the identities Bookinfo's authorization allows (reviews calls ratings, productpage
	// calls details and reviews), with and without the beta testers' header.
	Probes: func(c config.Config, earlier []probe.Probe) []probe.Probe {
		as := func(account, name, service, path string, expect probe.Expect, headers ...string) probe.Probe {
			return probe.Probe{Stage: 11, Name: name, From: names.BookinfoNamespace, ServiceAccount: "bookinfo-" + account,
				URL: fmt.Sprintf("http://%s.%s:9080%s", service, names.BookinfoNamespace, path), Headers: headers, Expect: expect}
		}
		beta := components.BetaHeader + ": " + components.BetaValue
		r := c.Resilience
		probes := earlier
		if r.FaultInjection {
			delay := r.FaultDelay.Seconds()
			probes = append(probes,
				as("reviews", fmt.Sprintf("a beta tester's call to ratings is delayed %gs (fault injection)", delay), "ratings", "/ratings/0",
					probe.Expect{Outcome: probe.Answered, Status: 200, MinSeconds: delay - 0.5}, beta),
				as("reviews", "anyone else's call to ratings is not delayed", "ratings", "/ratings/0",
					probe.Expect{Outcome: probe.Answered, Status: 200, MaxSeconds: 2}),
				as("productpage", fmt.Sprintf("a beta tester's call to details is aborted (%d)", components.AbortStatus), "details", "/details/0",
					probe.Status(components.AbortStatus), beta),
			)
			if r.Timeout > 0 {
				// reviews v3 waits for the slow ratings; the route's timeout (or v3's own, 2.5 s, which
				// answers without stars) ends the call, never the 7 s delay.
				probes = append(probes, as("productpage", "a beta tester's call to reviews ends within its timeout although ratings is slow", "reviews", "/reviews/0",
					probe.Expect{Outcome: probe.Answered, MaxSeconds: r.Timeout.Seconds() + 1}, beta))
			}
		}
		if r.CircuitBreaking {
			probes = append(probes, as("productpage", "a burst of calls to reviews trips the circuit breaker (some shed with 503)", "reviews", "/reviews/0",
				probe.Expect{Outcome: probe.Answered, Requests: 30, Parallel: 15, Statuses: []int{200, 503}}))
		}
		return probes
	},
	Guide: Guide{
		Concepts: []string{
			"Resilience in the mesh is the caller's: a timeout says how long a caller waits, retries how often it tries again, a circuit breaker how much it sends before shedding load, all in the caller's Envoy (its sidecar in sidecar mode, the waypoint of the called service's namespace in ambient mode; ztunnel has none of them: they are HTTP features).",
			"Here reviews' routes get workshop:reviewsTimeout (retries included) and workshop:reviewsRetries tries more, each bounded by the timeout ÷ (retries + 1), retried only on connection failures and gateway errors (" + components.RetryOn + ": 502, 503, 504 and refused or reset connections, where the request most likely never reached a healthy application); retrying anything else risks doing it twice.",
			"The circuit breaker is reviews' DestinationRule: one connection and one pending request (a burst overflows at once and the caller gets 503 immediately instead of queueing), and outlier detection ejects a pod that answered 5xx three times in a row for 30 s.",
			"Fault injection tests all this without breaking anything: beta testers only (the header the ingress sets from their claim) get a delay on their calls to ratings and an abort on their calls to details. The classic lesson: reviews v3 gives up on ratings after 2.5 s and shows no stars (the application's own resilience), while a caller with a longer timeout than its callee's, or retries that multiply it, turns a slow service into a slow page.",
			"Mesh or application? The mesh gives every service the same timeouts, retries and breakers without code, observed in its metrics; the application knows what a sensible fallback is (stars hidden, a cached answer). Use both, and keep their timeouts consistent: the caller's larger than the callee's retries add up to.",
		},
		Practices: []string{
			"Always set a per-try timeout with retries, and a total timeout above it: retries without one multiply the wait.",
			"Retry only what is likely safe to repeat (connection failures, gateway errors), never an application's own 500; keep attempts low (2) so a struggling service is not hit three times as hard.",
			"Size connection pools from measurements and eject with outlier detection, capped (maxEjectionPercent) so an outage of one dependency does not eject every pod.",
			"Inject faults for a test persona or header only, never for everyone, and remove them after the exercise.",
		},
		Commands: []Command{
			cmd("reviews' timeout, retries and circuit breaker as applied", "", true, "kubectl", "get", "virtualservices.networking.istio.io,destinationrules.networking.istio.io", "-n", names.BookinfoNamespace, "-o", "yaml"),
			cmd("the circuit breaker's overflows, as productpage's sidecar counts them", config.Sidecar, false, "kubectl", "exec", "-n", names.BookinfoNamespace, "deploy/productpage-v1", "-c", "istio-proxy", "--",
				"pilot-agent", "request", "GET", "stats", "|", "grep", "reviews.*upstream_rq_pending_overflow"),
			cmd("the circuit breaker's overflows, as the waypoint counts them", config.Ambient, false, "kubectl", "exec", "-n", names.BookinfoNamespace, "deploy/"+names.Waypoint, "--",
				"pilot-agent", "request", "GET", "stats", "|", "grep", "reviews.*upstream_rq_pending_overflow"),
			cmd("the faults and the routes they are on", "", true, "istioctl", "analyze", "-n", names.BookinfoNamespace),
			cmd("a beta tester's call to ratings takes the injected delay", "", false, "kubectl", "exec", "-n", names.BookinfoNamespace, "deploy/reviews-v3", "--",
				"curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}s\\n", "-H", components.BetaHeader+": "+components.BetaValue, "http://ratings:9080/ratings/0"),
			cmd("turn the faults off after the exercise", "", false, "sh", "-c", "scripts/pulumi config set workshop:faultInjection off --stack step11 && scripts/pulumi up --stack step11"),
		},
	},
})
