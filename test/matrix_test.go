package test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/mockstack"
	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/internal/workshop"
	"github.com/istio-workshop/istio-workshop/stages"
	"github.com/istio-workshop/istio-workshop/test/harness"
)

// TestEveryStackFromEmpty is the matrix: every stage's stack, from the registry, in both mesh modes, applied
// to an empty cluster (one local control plane per mode, the modes side by side) through the real CLI. Each up makes
// exactly the stage's resources (the set the same program registers under Pulumi's mocks), every
// Kubernetes object of the state is in the cluster as the stack set it (workshop verify), a
// re-preview is clean, a second up changes nothing, and destroy leaves the cluster equal to its
// snapshot (namespaces, CRDs, webhooks, cluster-scoped objects).
func TestEveryStackFromEmpty(t *testing.T) {
	harness.Require(t)
	// One control plane per mode, the modes side by side on the machine's two cores. What each
	// stack must make is computed first, under mocks, before any Pulumi CLI runs: the mocks set
	// the program's settings in this process's environment, which a CLI started beside them would
	// inherit.
	type lane struct {
		mode     string
		kc       string
		expected [][]string
	}
	var lanes []lane
	for _, mode := range []string{"ambient", "sidecar"} {
		l := lane{mode: mode, kc: harness.SharedControlPlane(t, "e2e-matrix-"+mode, 2).KubeconfigPath()}
		for n := range int(stages.Last()) + 1 {
			stage := strconv.Itoa(n)
			l.expected = append(l.expected, expectedResources(t, "step"+stage, stackOn(l.kc, stage, mode)))
		}
		lanes = append(lanes, l)
	}
	for _, l := range lanes {
		mode, kc := l.mode, l.kc
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			before := harness.Snapshot(t, kc)
			for n := range int(stages.Last()) + 1 {
				stage := strconv.Itoa(n)
				t.Run("step"+stage, func(t *testing.T) {
					p := harness.NewProject(t)
					stack := "step" + stage
					cfg := stackOn(kc, stage, mode)
					p.WriteStack(stack, cfg)
					p.MustPulumi("stack", "init", stack)
					p.MustPulumi("up", "--yes", "--skip-preview", "--stack", stack)

					assert.Equal(t, l.expected[n], stateResources(t, p, stack), "the up made exactly stage %s's resources", stage)
					v := p.Workshop("verify", "--stack", stack, "--objects-only", "--json")
					require.NoError(t, v.Err, v.String())
					var rep struct {
						Objects int
						Missing []string
						Drifted map[string][]string
						Skipped []probe.Probe
						Pass    bool
					}
					require.NoError(t, json.Unmarshal([]byte(v.Stdout), &rep), v.Stdout)
					// The probes reach the CLI whole: the stack's output equals what the stages define
					// for these settings, field by field, and verify lists them as the ones it would run.
					loaded, err := stages.Load(stack, cfg)
					require.NoError(t, err)
					assert.Equal(t, stages.Probes(loaded), p.Outputs(t, stack).Probes, "the exported probes")
					assert.Equal(t, stages.Probes(loaded), nilIfEmpty(rep.Skipped), "verify lists the real probes it would run")
					assert.True(t, rep.Pass && len(rep.Missing) == 0 && len(rep.Drifted) == 0, "every object is in the cluster as the stack set it: %+v", rep)
					if n > 0 {
						own := 0 // the program's own Kubernetes objects; the charts' come on top
						for _, r := range l.expected[n] {
							if strings.HasPrefix(r, "kubernetes:") && !strings.HasPrefix(r, "kubernetes:helm.sh/") && !strings.HasPrefix(r, "kubernetes:yaml/") {
								own++
							}
						}
						assert.Greater(t, rep.Objects, own, "the charts' objects are checked too, not only the program's own %d", own)
					}

					p.MustPulumi("preview", "--expect-no-changes", "--stack", stack)
					again := p.MustPulumi("up", "--yes", "--skip-preview", "--stack", stack)
					for _, op := range []string{"created", "updated", "replaced", "deleted"} {
						assert.NotContains(t, again.Stdout, op, "a second up changes nothing")
					}
					p.MustPulumi("destroy", "--yes", "--skip-preview", "--stack", stack)
					assert.Equal(t, before, harness.Snapshot(t, kc), "destroy leaves the cluster as it found it")
				})
			}
		})
	}
}

// expectedResources is what the program registers with cfg under Pulumi's mocks, as sorted
// "type name", providers left out (the engine adds default ones the mocks never see).
func expectedResources(t *testing.T, stack string, cfg map[string]string) []string {
	t.Helper()
	m, err := mockstack.Run(t, workshop.Program, stack, cfg)
	require.NoError(t, err)
	var out []string
	for key := range m.Resources {
		if !strings.HasPrefix(key, "pulumi:providers:") {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out
}

// stateResources is what the stack's state holds, the same way: charts and config groups and files count
// as one resource each (mocks do not render them), the stack and providers not at all.
func stateResources(t *testing.T, p *harness.Project, stack string) []string {
	t.Helper()
	var export struct {
		Deployment struct {
			Resources []struct {
				URN  string `json:"urn"`
				Type string `json:"type"`
			} `json:"resources"`
		} `json:"deployment"`
	}
	require.NoError(t, json.Unmarshal([]byte(p.MustPulumi("stack", "export", "--stack", stack).Stdout), &export))
	var out []string
	for _, r := range export.Deployment.Resources {
		parents, _, nested := strings.Cut(strings.Split(r.URN, "::")[2], "$"+r.Type)
		if !nested {
			parents = ""
		}
		if r.Type == "pulumi:pulumi:Stack" || strings.HasPrefix(r.Type, "pulumi:providers:") ||
			strings.Contains(parents, "kubernetes:helm.sh/v4:Chart") || strings.Contains(parents, "kubernetes:yaml/v2:Config") {
			if r.Type == "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition" {
				t.Errorf("%s: a chart or manifest rendered a CRD; CRDs are CRDBundles, never objects of the state", r.URN)
			}
			continue
		}
		out = append(out, mockstack.TypeAndName(r.URN))
	}
	slices.Sort(out)
	return out
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
