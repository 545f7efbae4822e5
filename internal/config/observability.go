package config

import (
	"math"
	"strconv"
)

// Observability is stage 9: how much the mesh traces and logs.
type Observability struct {
	// TraceSampling is the percentage of requests traced at random (0–100).
	TraceSampling float64
	// AccessLogs is what the proxies log.
	AccessLogs AccessLogs
}

// AccessLogs is which requests the mesh's proxies write an access log line for.
type AccessLogs string

const (
	// FailedRequests logs the requests answered with an error (status 400 or more).
	FailedRequests AccessLogs = "failed"
	// AllRequests logs every request.
	AllRequests AccessLogs = "all"
	// NoAccessLogs logs none.
	NoAccessLogs AccessLogs = "off"
)

var observabilitySettings = []Setting{
	{"traceSampling", "1", "a percentage 0–100, such as 1 or 0.5",
		"the share of requests traced at random (stage 9 on); a request that sends an x-client-trace-id header is traced whatever the rate"},
	{"accessLogs", string(FailedRequests), "failed, all or off",
		"which requests the mesh's proxies log (stage 9 on): those answered with an error (status 400 or more), every one, or none"},
}

func (l *loader) observability() Observability {
	v, _ := l.val("traceSampling")
	rate, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(rate) || rate < 0 || rate > 100 {
		l.errs.add("traceSampling", v, "must be "+l.allowed("traceSampling")+" (a percentage of requests, without the % sign)")
		rate = 0
	}
	return Observability{
		TraceSampling: rate,
		AccessLogs:    AccessLogs(l.oneOf("accessLogs", string(FailedRequests), string(AllRequests), string(NoAccessLogs))),
	}
}
