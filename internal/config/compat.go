package config

import "fmt"

// minDryRunIstio is the oldest Istio whose proxies honour istio.io/dry-run where stage 5 puts
// its dry-run policy: the sidecar has since 1.10; in ambient mode the policy is on the waypoint,
// whose targetRefs attachment is stable since 1.24. The policy is never an L4 one, because
// ztunnel enforced dry-run policies before 1.25, and ignores them until 1.29 unless istiod's
// AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY is on.
var minDryRunIstio = map[MeshMode][2]int{Sidecar: {1, 10}, Ambient: {1, 24}}

// checkDryRun refuses, at stage 5 and above, an Istio that would enforce the dry-run policy or
// silently ignore it.
func (l *loader) checkDryRun(c Config) {
	if !c.Stage.Includes(5) {
		return
	}
	var major, minor int
	if _, err := fmt.Sscanf(c.Versions.Istio, "%d.%d", &major, &minor); err != nil {
		return // already reported as a malformed version
	}
	min, ok := minDryRunIstio[c.MeshMode]
	if ok && (major < min[0] || major == min[0] && minor < min[1]) {
		l.errs.add("istioVersion", c.Versions.Istio, fmt.Sprintf(
			"does not honour the istio.io/dry-run annotation in %s mode where stage 5 puts it (needs %d.%d or newer): raise workshop:istioVersion, or stay at stage 4",
			c.MeshMode, min[0], min[1]))
	}
}
