package test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/test/harness"
)

// TestPolicyPackFailsASeededPreview: the real engine runs the Go policy pack (built from source
// by the language host) on a preview and fails it on the program's seeded mistakes; without
// the pack the same preview passes. (The stage walk shows the project's own stacks pass it.)
func TestPolicyPackFailsASeededPreview(t *testing.T) {
	harness.Require(t)
	p := harness.NewProjectFor(t, "seeded", harness.Built(t, "./test/testdata/seeded"))
	p.WriteStack("dev", map[string]string{"seeded:renderDir": t.TempDir()})
	p.MustPulumi("stack", "init", "dev")

	r := p.Pulumi("preview", "--stack", "dev", "--policy-pack", harness.Root()+"/policies")
	require.Error(t, r.Err, "mandatory violations fail the preview:\n%s", r.String())
	out := r.Stdout + r.Stderr
	for _, rule := range []string{"peer-authentication-strict", "no-key-or-token-outside-secrets", "images-pinned"} {
		assert.Contains(t, out, rule)
	}
	assert.Contains(t, out, "mandatory")
	t.Log(r.String())

	p.MustPulumi("preview", "--stack", "dev")
}
