package stages

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/probe"
)

// load is a stack's configuration with the given settings (key without "workshop:", value).
func load(t *testing.T, stage config.Stage, mode config.MeshMode, kv ...string) config.Config {
	t.Helper()
	values := map[string]string{"workshop:meshMode": string(mode)}
	for i := 0; i+1 < len(kv); i += 2 {
		values["workshop:"+kv[i]] = kv[i+1]
	}
	c, err := Load(fmt.Sprintf("step%d", stage), values)
	require.NoError(t, err)
	return c
}

func TestTheRegistryIsNumberedInOrderAndComplete(t *testing.T) {
	all := All()
	require.NotEmpty(t, all)
	names := map[string]bool{}
	for i, s := range all {
		assert.Equal(t, config.Stage(i), s.Number, "stages are numbered 0, 1, 2... in order")
		assert.NotEmpty(t, s.Name, "stage %d", i)
		assert.False(t, names[s.Name], "stage %d: the name %q is taken", i, s.Name)
		names[s.Name] = true
		assert.NotEmpty(t, s.Title, "stage %d", i)
		assert.NotEmpty(t, s.Promise, "stage %d", i)
		assert.NotNil(t, s.Apply, "stage %d", i)
		assert.NotEmpty(t, s.Guide.Practices, "stage %d has best practices", i)
		assert.NotEmpty(t, s.Guide.Commands, "stage %d has troubleshooting commands", i)
		for _, c := range s.Guide.Commands {
			assert.NotEmpty(t, c.Run, "stage %d: %s", i, c.Why)
		}
		if i > 0 {
			assert.True(t, s.Probes != nil || s.Facts != nil, "stage %d: a promise verify cannot check is an assumption", i)
		}
	}
	assert.Equal(t, config.Stage(len(all)-1), Last())
	_, ok := Get(Last() + 1)
	assert.False(t, ok)
}

// Every key a stage says it reads is a setting, and every setting but the global ones is read by
// some stage.
func TestTheSettingsAStageReadsExist(t *testing.T) {
	known := map[string]bool{}
	for _, s := range Settings() {
		known[s.Key] = true
	}
	read := map[string]bool{}
	for _, s := range All() {
		for _, k := range s.Settings {
			assert.True(t, known[k], "stage %d reads workshop:%s, which is not a setting", s.Number, k)
			read[k] = true
		}
	}
	for k := range known {
		if k != "stage" {
			assert.True(t, read[k], "workshop:%s is read by no stage", k)
		}
	}
}

func TestEveryStageAddsAProbeOrFactOfItsOwn(t *testing.T) {
	for _, mode := range []config.MeshMode{config.Ambient, config.Sidecar} {
		for _, s := range All()[1:] {
			got := map[int]int{}
			for _, p := range Probes(load(t, s.Number, mode)) {
				require.NoError(t, p.Validate(), "%s stage %d: %s", mode, s.Number, p.Name)
				got[p.Stage]++
			}
			for _, f := range Facts(load(t, s.Number, mode)) {
				assert.NotEmpty(t, f.Name, "%s stage %d: a fact without a name", mode, s.Number)
				got[int(f.Stage)]++
			}
			assert.NotZero(t, got[int(s.Number)], "%s: stage %d has no probe or fact of its own", mode, s.Number)
		}
	}
}

// Stage 2 takes the product page to HTTPS: stage 1's plain HTTP check gives way to its own.
func TestStage2ReplacesThePlainHTTPCheck(t *testing.T) {
	one := Probes(load(t, 1, config.Ambient))
	require.Len(t, one, 1)
	assert.Equal(t, "http://bookinfo.localhost/productpage", one[0].URL)
	two := Probes(load(t, 2, config.Ambient, "plainHTTP", "closed"))
	for _, p := range two {
		assert.Equal(t, 2, p.Stage, "no stage 1 check survives: %s", p.Name)
	}
	assert.Equal(t, probe.Refusal(), two[len(two)-1].Expect, "closed plain HTTP is refused")
}

// Stage 4 gives the earlier ingress checks a reader's token; stage 5 denies a persona without
// the reader group and makes the in-mesh check call as productpage.
func TestLaterStagesChangeEarlierChecks(t *testing.T) {
	three := Probes(load(t, 3, config.Ambient))
	four := Probes(load(t, 4, config.Ambient))
	assert.Empty(t, three[0].Persona)
	assert.Equal(t, "alice", four[0].Persona, "the HTTPS check carries the first reader's token")

	five := Probes(load(t, 5, config.Ambient))
	expect := map[string]int{}
	for _, p := range five {
		if p.Stage == 4 {
			expect[p.Persona] = p.Expect.Status
		}
		if p.Stage == 3 && p.Name == inMeshProbe {
			assert.Equal(t, "bookinfo-productpage", p.ServiceAccount, "only allowed identities pass from stage 5")
		}
	}
	assert.Equal(t, 200, expect["alice"])
	assert.Equal(t, 403, expect["carol"], "carol has no group")
	assert.Equal(t, 401, expect[config.ExpiredPersona])
	assert.Equal(t, 403, expect[""])
	assert.Equal(t, len(four)+3, len(five), "stage 5 changes checks in place and adds three")
}

func TestEgressProbes(t *testing.T) {
	probes := Probes(load(t, 6, config.Ambient, "egressHosts", "example.com"))[len(Probes(load(t, 5, config.Ambient))):]
	require.Len(t, probes, 2)
	assert.Equal(t, "https://example.com/", probes[0].URL)
	assert.Equal(t, probe.AnyAnswer(), probes[0].Expect, "the external host's own status is not the stage's to promise")
	assert.Equal(t, "https://example.org/", probes[1].URL, "the refused host is not a registered one")
	assert.Equal(t, probe.Drop(), probes[1].Expect, "ambient: the stage's egress NetworkPolicy drops it")
	sidecar := Probes(load(t, 6, config.Sidecar, "egressHosts", "example.com"))
	assert.Equal(t, probe.Refusal(), sidecar[len(sidecar)-1].Expect, "sidecar: the black hole closes the connection; a timeout would prove nothing")
}

func TestBetaTestersAreRoutedOnAClaimTheIngressVerified(t *testing.T) {
	routes := PlanFor(load(t, 5, config.Sidecar)).Bookinfo.Routes
	require.Len(t, routes, 2)
	beta, rest := routes[0], routes[1]
	for _, m := range beta.Match {
		assert.Equal(t, config.BetaGroup, m.Headers["@request.auth.claims.groups"].GetExact(), "every beta path needs the claim")
	}
	assert.Equal(t, map[string]string{components.BetaHeader: components.BetaValue}, beta.Headers.Request.Set)
	assert.Equal(t, []string{components.BetaHeader}, rest.Headers.Request.Remove, "a client cannot send the header itself")
	assert.Len(t, rest.Match, len(beta.Match))

	four := PlanFor(load(t, 4, config.Sidecar)).Bookinfo.Routes
	require.Len(t, four, 1, "before stage 5: one plain route")
	assert.Nil(t, four[0].Headers)
	assert.Len(t, four[0].Match, len(beta.Match), "the same paths")
}

func TestStage5SendsBookinfoThroughTheWaypointInAmbientModeOnly(t *testing.T) {
	assert.Equal(t, map[string]string{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint", "istio.io/ingress-use-waypoint": "true"},
		PlanFor(load(t, 5, config.Ambient)).Bookinfo.NamespaceLabels)
	assert.Equal(t, map[string]string{"istio.io/dataplane-mode": "ambient"}, PlanFor(load(t, 4, config.Ambient)).Bookinfo.NamespaceLabels)
	assert.Equal(t, map[string]string{"istio-injection": "enabled"}, PlanFor(load(t, 5, config.Sidecar)).Bookinfo.NamespaceLabels)
}

func TestDryRunNeedsAnIstioThatHonoursIt(t *testing.T) {
	for _, tc := range []struct {
		mode    config.MeshMode
		version string
		ok      bool
	}{
		{config.Ambient, "1.31.1", true}, {config.Ambient, "1.24.0", true}, {config.Ambient, "1.23.4", false},
		{config.Sidecar, "1.10.0", true}, {config.Sidecar, "1.9.9", false},
	} {
		_, err := Load("step5", map[string]string{"workshop:meshMode": string(tc.mode), "workshop:istioVersion": tc.version})
		if tc.ok {
			assert.NoError(t, err, "%s %s", tc.mode, tc.version)
			continue
		}
		var errs config.Errors
		if assert.ErrorAs(t, err, &errs, "%s %s", tc.mode, tc.version) {
			assert.Equal(t, []string{"istioVersion"}, errs.Keys())
			assert.Contains(t, err.Error(), "does not honour the istio.io/dry-run annotation")
		}
	}
	_, err := Load("step4", map[string]string{"workshop:istioVersion": "1.20.0"})
	assert.NoError(t, err, "below stage 5 there is no dry-run policy")
}

func TestPersonasThatContradictTheProbesAreRefused(t *testing.T) {
	_, err := Load("step5", map[string]string{"workshop:personas": `{"dana": ["beta-testers"]}`})
	assert.ErrorContains(t, err, `workshop:personas: "dana" has no member of bookinfo-readers, the group stage 5 admits at the ingress`)
	_, err = Load("step4", map[string]string{"workshop:personas": `{"dana": ["beta-testers"]}`})
	assert.NoError(t, err, "before stage 5 no group is required")
	_, err = Load("step5", map[string]string{"workshop:personas": `{"dana": ["beta-testers"]}`, "workshop:httpPort": "0"})
	var errs config.Errors
	require.ErrorAs(t, err, &errs)
	assert.ElementsMatch(t, []string{"httpPort", "personas"}, errs.Keys(), "said with the other problems")
}

// The README's settings table lists every setting with its default and allowed values, from the
// same table the loader uses.
func TestTheREADMEListsEverySetting(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "README.md"))
	require.NoError(t, err)
	rows := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "| `workshop:"); ok {
			key, _, _ := strings.Cut(rest, "`")
			rows[key] = line
		}
	}
	settings := Settings()
	for _, s := range settings {
		row, ok := rows[s.Key]
		if !assert.True(t, ok, "README has no row for workshop:%s", s.Key) {
			continue
		}
		assert.Contains(t, row, strings.ReplaceAll(s.Allowed, "|", `\|`), "workshop:%s's allowed values", s.Key)
		if s.Default != "" && s.Key != "personas" {
			assert.Contains(t, row, "`"+s.Default+"`", "workshop:%s's default", s.Key)
		}
	}
	assert.Len(t, rows, len(settings), "no row for a setting that does not exist")
}
