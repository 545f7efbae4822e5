package config

import (
	"encoding/json"
	"net"
	"slices"
	"strings"
)

// Egress is stage 6: the external hosts the mesh may reach, only through the egress gateway.
type Egress struct {
	// Hosts are the registered external hosts (HTTPS, port 443), in the order given.
	Hosts []string
}

// maxEgressHosts keeps the generated routes reviewable in a preview.
const maxEgressHosts = 10

var egressSettings = []Setting{
	{"egressHosts", "httpbin.org", "comma-separated DNS names such as httpbin.org,api.github.com (no wildcards, at most 10)",
		"the external hosts (HTTPS) the mesh may reach through the egress gateway; every other host is refused (stage 6 on)"},
}

func (l *loader) egress() Egress {
	raw, _ := l.val("egressHosts")
	hosts := strings.Split(raw, ",")
	// A YAML list in the stack file reaches the program as a JSON array.
	if strings.HasPrefix(raw, "[") {
		if err := json.Unmarshal([]byte(raw), &hosts); err != nil {
			l.errs.add("egressHosts", raw, "must be "+l.allowed("egressHosts")+", or a list of such names")
			return Egress{}
		}
	}
	var e Egress
	seen, bad := map[string]bool{}, false
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		switch {
		case h == "":
			continue
		case net.ParseIP(h) != nil:
			bad = true
			l.errs.add("egressHosts", h, "is an IP address: register the host's DNS name (ServiceEntries and the gateway's SNI routes match names)")
		case InCluster(h):
			bad = true
			l.errs.add("egressHosts", h, "is an in-cluster name: the mesh reaches it directly; egressHosts are for hosts outside the cluster")
		case len(h) > 253 || !dnsSubdomain.MatchString(h) || !strings.Contains(h, "."):
			bad = true
			l.errs.add("egressHosts", h, "must be "+l.allowed("egressHosts")+" (a fully qualified name, lowercase, no scheme, port or path)")
		case seen[h]:
			bad = true
			l.errs.add("egressHosts", raw, "names "+h+" twice: list each host once")
		default:
			seen[h] = true
			e.Hosts = append(e.Hosts, h)
		}
	}
	if len(e.Hosts) == 0 && !bad {
		l.errs.add("egressHosts", raw, "must name at least one host: "+l.allowed("egressHosts"))
	}
	if len(e.Hosts) > maxEgressHosts {
		l.errs.add("egressHosts", raw, "must be "+l.allowed("egressHosts"))
	}
	return e
}

// RefusedHost is an external host that is not registered: stage 6's probes expect it refused.
func (e Egress) RefusedHost() string {
	for _, h := range []string{"example.com", "example.org", "example.net"} {
		if !slices.Contains(e.Hosts, h) {
			return h
		}
	}
	return "refused.invalid"
}

// InCluster reports a Kubernetes service name (name.namespace.svc, ….cluster.local).
func InCluster(h string) bool {
	return strings.HasSuffix(h, ".svc") || strings.HasSuffix(h, ".cluster.local") || strings.Contains(h, ".svc.")
}
