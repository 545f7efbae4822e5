package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaults(t *testing.T) {
	c, err := load("step4", map[string]string{"workshop:stage": "7"})
	require.NoError(t, err)
	assert.Equal(t, Stage(7), c.Stage)
	assert.Equal(t, Ambient, c.MeshMode)
	assert.Equal(t, Kind, c.Cluster.Provider)
	assert.Equal(t, "istio-workshop-step4", c.Cluster.Name)
	assert.Equal(t, 1, c.Cluster.Workers)
	assert.Equal(t, Auto, c.ChartSource)
	assert.Equal(t, Ingress{Host: "bookinfo.localhost", HTTPPort: 80, HTTPSPort: 443, PlainHTTP: Redirect}, c.Ingress)
	assert.Equal(t, "1.31.1", c.Versions.Istio)
	assert.Equal(t, "v1.21.2", c.Versions.CertManager)
}

func TestAStacksNameIsItsStage(t *testing.T) {
	for stack, want := range map[string]Stage{"step0": 0, "step4": 4, "step7": 7} {
		c, err := load(stack, nil)
		require.NoError(t, err)
		assert.Equal(t, want, c.Stage, stack)
	}
	c, err := load("step4", map[string]string{"workshop:stage": "5"})
	require.NoError(t, err)
	assert.Equal(t, Stage(5), c.Stage, "a setting moves a stack to another stage (the walk)")

	_, err = load("dev", nil)
	require.Error(t, err, "never stage 0 without a word")
	assert.Contains(t, err.Error(), fmt.Sprintf("workshop:stage is not set, and stack \"dev\" is not named stepN (0–%d): set it with `scripts/pulumi config set workshop:stage N --stack dev`", testRules.Last))
	_, err = load("dev", map[string]string{"istio-workshop:stage": "5"})
	assert.Error(t, err)
	c, err = load("dev", map[string]string{"workshop:stage": "3"})
	require.NoError(t, err)
	assert.Equal(t, Stage(3), c.Stage)

	_, err = load("step99", nil)
	assert.ErrorContains(t, err, fmt.Sprintf(`workshop:stage: "99" is not a stage (0–%d)`, testRules.Last))
}

func TestOtherNamespacesAreIgnored(t *testing.T) {
	_, err := load("step0", map[string]string{"kubernetes:context": "x", "pulumi:disable-default-providers": "[]"})
	require.NoError(t, err)
}

// `pulumi config set stage 5` (no namespace) files the key under the project's name: it used to
// be ignored, and stage 0 deployed without a word.
func TestAKeyUnderTheProjectsNameIsRefused(t *testing.T) {
	_, err := load("dev", map[string]string{"istio-workshop:stage": "5", "istio-workshop:meshmod": "sidecar"})
	var errs Errors
	require.ErrorAs(t, err, &errs)
	assert.ElementsMatch(t, []string{"istio-workshop:stage", "istio-workshop:meshmod", "stage"}, errs.Keys())
	assert.Contains(t, err.Error(), "istio-workshop:stage: \"5\" is under the project's name, where nothing reads it: the workshop's settings are workshop:KEY (`scripts/pulumi config rm stage`, then `scripts/pulumi config set workshop:stage VALUE`)")
	assert.Contains(t, err.Error(), "istio-workshop:meshmod: \"sidecar\" is under the project's name, where nothing reads it: the workshop's settings are workshop:KEY (did you mean workshop:meshMode?)")
}

func TestAnEmptyValueIsRefused(t *testing.T) {
	_, err := load("step1", map[string]string{"workshop:meshMode": " ", "workshop:egressHosts": ""})
	var errs Errors
	require.ErrorAs(t, err, &errs)
	assert.ElementsMatch(t, []string{"meshMode", "egressHosts"}, errs.Keys())
	assert.Contains(t, err.Error(), "workshop:meshMode: \" \" is empty: give it a value, or `scripts/pulumi config rm workshop:meshMode` for the default (ambient)")
}

func TestVersionsAreNormalised(t *testing.T) {
	c, err := load("step0", map[string]string{"workshop:istioVersion": "v1.30.2", "workshop:certManagerVersion": "1.20.0"})
	require.NoError(t, err)
	assert.Equal(t, "1.30.2", c.Versions.Istio)
	assert.Equal(t, "v1.20.0", c.Versions.CertManager)
}

func TestExistingCluster(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\ncontexts: [{name: ctx, context: {cluster: c, user: u}}]\ncurrent-context: ctx\n"), 0o600))
	c, err := load("step0", map[string]string{"workshop:clusterProvider": "existing", "workshop:kubeconfig": kc, "workshop:kubeContext": "ctx"})
	require.NoError(t, err)
	assert.Equal(t, Cluster{Provider: Existing, Name: "istio-workshop-step0", Workers: 1, Kubeconfig: kc, Context: "ctx"}, c.Cluster)
}

func TestDefaultClusterNameIsAcceptedByKind(t *testing.T) {
	for _, stack := range []string{"step4", "My_Stack.Name", "organization/project/step1", strings.Repeat("x", 80)} {
		name := DefaultClusterName(stack)
		assert.LessOrEqual(t, len(name), maxClusterName, stack)
		assert.Regexp(t, dnsLabel, name, stack)
	}
}

func TestBadConfigurations(t *testing.T) {
	kcMissing := filepath.Join(t.TempDir(), "nope")
	cases := []struct {
		name    string
		values  map[string]string
		keys    []string // keys named in the error, in order
		message string   // part of the message that tells the fix
	}{
		{"unknown stage word", map[string]string{"workshop:stage": "four"}, []string{"stage"}, "is not a stage number (0–7)"},
		{"stage 9", map[string]string{"workshop:stage": "9"}, []string{"stage"}, "is not a stage (0–7)"},
		{"negative stage", map[string]string{"workshop:stage": "-1"}, []string{"stage"}, "is not a stage (0–7)"},
		{"mode istio", map[string]string{"workshop:meshMode": "istio"}, []string{"meshMode"}, "must be ambient or sidecar"},
		{"mode in capitals", map[string]string{"workshop:meshMode": "Ambient"}, []string{"meshMode"}, "must be ambient or sidecar"},
		{"unknown provider", map[string]string{"workshop:clusterProvider": "k3d"}, []string{"clusterProvider"}, "kind, minikube, existing or local"},
		{"malformed host with scheme", map[string]string{"workshop:ingressHost": "https://bookinfo.example.com"}, []string{"ingressHost"}, "no scheme"},
		{"malformed host with port", map[string]string{"workshop:ingressHost": "bookinfo.local:8443"}, []string{"ingressHost"}, "a DNS name"},
		{"host in capitals", map[string]string{"workshop:ingressHost": "Bookinfo.Example.com"}, []string{"ingressHost"}, "lowercase"},
		{"port 0", map[string]string{"workshop:httpPort": "0"}, []string{"httpPort"}, "a port 1–65535"},
		{"port 70000", map[string]string{"workshop:httpsPort": "70000"}, []string{"httpsPort"}, "a port 1–65535"},
		{"port not a number", map[string]string{"workshop:httpPort": "http"}, []string{"httpPort"}, "a port 1–65535"},
		{"same host port twice", map[string]string{"workshop:httpPort": "8080", "workshop:httpsPort": "8080"}, []string{"httpsPort"}, "must differ from workshop:httpPort"},
		{"existing without kubeconfig", map[string]string{"workshop:clusterProvider": "existing"}, []string{"kubeconfig"}, "pulumi config set workshop:kubeconfig"},
		{"existing with missing kubeconfig", map[string]string{"workshop:clusterProvider": "existing", "workshop:kubeconfig": kcMissing}, []string{"kubeconfig"}, "cannot be read"},
		{"kubeconfig with kind", map[string]string{"workshop:kubeconfig": "/tmp/kc"}, []string{"kubeconfig"}, "only used with clusterProvider existing"},
		{"cluster name kind refuses", map[string]string{"workshop:clusterName": "My_Cluster"}, []string{"clusterName"}, "kind refuses other names"},
		{"cluster name too long", map[string]string{"workshop:clusterName": strings.Repeat("a", 41)}, []string{"clusterName"}, "at most 40 characters"},
		{"unknown plain HTTP mode", map[string]string{"workshop:plainHTTP": "allow"}, []string{"plainHTTP"}, "redirect or closed"},
		{"mutual TLS not a boolean", map[string]string{"workshop:ingressMutualTLS": "yes"}, []string{"ingressMutualTLS"}, "true or false"},
		{"unknown chart source", map[string]string{"workshop:chartSource": "oci"}, []string{"chartSource"}, "repo or module"},
		{"bad istio version", map[string]string{"workshop:istioVersion": "latest"}, []string{"istioVersion"}, "a release such as"},
		{"bad cert-manager version", map[string]string{"workshop:certManagerVersion": "1.21"}, []string{"certManagerVersion"}, "a release such as"},
		{"too many workers", map[string]string{"workshop:workers": "12"}, []string{"workers"}, "an integer 0–5"},
		{"typo in a key", map[string]string{"workshop:meshmode": "sidecar"}, []string{"meshmode"}, "did you mean workshop:meshMode?"},
		{"unknown key", map[string]string{"workshop:colour": "blue"}, []string{"colour"}, "is not a workshop setting"},
		{"issuer over plain http", map[string]string{"workshop:jwtIssuer": "http://auth.example"}, []string{"jwtIssuer"}, "an https:// URL"},
		{"issuer not a URL", map[string]string{"workshop:jwtIssuer": "workshop"}, []string{"jwtIssuer"}, "an https:// URL"},
		{"audience with spaces", map[string]string{"workshop:jwtAudience": "book info"}, []string{"jwtAudience"}, "lowercase letters"},
		{"token lifetime zero", map[string]string{"workshop:tokenLifetimeHours": "0"}, []string{"tokenLifetimeHours"}, "an integer 1–720"},
		{"token lifetime a year", map[string]string{"workshop:tokenLifetimeHours": "8760"}, []string{"tokenLifetimeHours"}, "an integer 1–720"},
		{"personas not JSON", map[string]string{"workshop:personas": "alice,bob"}, []string{"personas"}, `e.g. {"alice": ["bookinfo-readers"]}`},
		{"personas empty", map[string]string{"workshop:personas": "{}"}, []string{"personas"}, "at least one persona"},
		{"persona name with capitals", map[string]string{"workshop:personas": `{"Alice": []}`}, []string{"personas"}, "is not a persona name"},
		{"persona name reserved", map[string]string{"workshop:personas": `{"expired": []}`}, []string{"personas"}, "reserved for the probes"},
		{"egress host with a scheme", map[string]string{"workshop:egressHosts": "https://httpbin.org"}, []string{"egressHosts"}, "no scheme"},
		{"egress host wildcard", map[string]string{"workshop:egressHosts": "*.github.com"}, []string{"egressHosts"}, "no wildcards"},
		{"egress host not qualified", map[string]string{"workshop:egressHosts": "httpbin"}, []string{"egressHosts"}, "a fully qualified name"},
		{"egress host twice", map[string]string{"workshop:egressHosts": "httpbin.org, httpbin.org"}, []string{"egressHosts"}, "names httpbin.org twice"},
		{"egress hosts only commas", map[string]string{"workshop:egressHosts": ",,"}, []string{"egressHosts"}, "at least one host"},
		{"egress hosts broken list", map[string]string{"workshop:egressHosts": `["httpbin.org"`}, []string{"egressHosts"}, "or a list of such names"},
		{"trace sampling over 100", map[string]string{"workshop:traceSampling": "150"}, []string{"traceSampling"}, "a percentage 0–100"},
		{"trace sampling negative", map[string]string{"workshop:traceSampling": "-1"}, []string{"traceSampling"}, "a percentage 0–100"},
		{"trace sampling with a percent sign", map[string]string{"workshop:traceSampling": "1%"}, []string{"traceSampling"}, "without the % sign"},
		{"access logs unknown", map[string]string{"workshop:accessLogs": "errors"}, []string{"accessLogs"}, "failed, all or off"},
		{"weights not adding up", map[string]string{"workshop:reviewsWeights": "v1=80,v2=30"}, []string{"reviewsWeights"}, "adds up to 110: the weights must add up to 100"},
		{"weights of an unknown version", map[string]string{"workshop:reviewsWeights": "v1=50,v4=50"}, []string{"reviewsWeights"}, `names version "v4": reviews has v1, v2, v3`},
		{"a negative weight", map[string]string{"workshop:reviewsWeights": "v1=100,v2=-10"}, []string{"reviewsWeights"}, `has "v2=-10": each pair is version=percent with a whole percentage 0–100`},
		{"a version weighted twice", map[string]string{"workshop:reviewsWeights": "v1=50,v1=50"}, []string{"reviewsWeights"}, "names v1 twice"},
		{"weights as percentages", map[string]string{"workshop:reviewsWeights": "v1=80%,v2=20"}, []string{"reviewsWeights"}, "a whole percentage"},
		{"mirror over 100", map[string]string{"workshop:reviewsMirror": "v3=150"}, []string{"reviewsMirror"}, "a whole percentage 0–100"},
		{"mirror of nothing", map[string]string{"workshop:reviewsMirror": "v3=0"}, []string{"reviewsMirror"}, "a percentage of 1 or more"},
		{"mirror to two versions", map[string]string{"workshop:reviewsMirror": "v2=10,v3=10"}, []string{"reviewsMirror"}, "one version"},
		{"retries without a timeout", map[string]string{"workshop:reviewsTimeout": "off"}, []string{"reviewsRetries"}, "each retry must have a per-try timeout"},
		{"a timeout too short", map[string]string{"workshop:reviewsTimeout": "100ms"}, []string{"reviewsTimeout"}, "a duration 1s–60s"},
		{"a negative delay", map[string]string{"workshop:faultDelay": "-7s"}, []string{"faultDelay"}, "a duration 1s–30s"},
		{"too many retries", map[string]string{"workshop:reviewsRetries": "10"}, []string{"reviewsRetries"}, "an integer 0–5"},
		{"fault injection maybe", map[string]string{"workshop:faultInjection": "yes"}, []string{"faultInjection"}, "on or off"},
		{"persona group with a space", map[string]string{"workshop:personas": `{"alice": ["book readers"]}`}, []string{"personas"}, "groups are non-empty words"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load("step0", tc.values)
			require.Error(t, err)
			var errs Errors
			require.ErrorAs(t, err, &errs)
			assert.Equal(t, tc.keys, errs.Keys())
			assert.Contains(t, err.Error(), "workshop:"+tc.keys[0])
			assert.Contains(t, err.Error(), tc.message)
			assert.Contains(t, err.Error(), "nothing was changed")
		})
	}
}

func TestEgressHosts(t *testing.T) {
	c, err := load("step0", nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"httpbin.org"}, c.Egress.Hosts)
	assert.Equal(t, "example.com", c.Egress.RefusedHost())

	c, err = load("step0", map[string]string{"workshop:egressHosts": " example.com , api.github.com"})
	require.NoError(t, err)
	assert.Equal(t, []string{"example.com", "api.github.com"}, c.Egress.Hosts)
	assert.Equal(t, "example.org", c.Egress.RefusedHost(), "the refused host is never a registered one")

	c, err = load("step0", map[string]string{"workshop:egressHosts": `["httpbin.org","pypi.org"]`})
	require.NoError(t, err, "a YAML list in the stack file")
	assert.Equal(t, []string{"httpbin.org", "pypi.org"}, c.Egress.Hosts)
}

func TestObservabilitySettings(t *testing.T) {
	c, err := load("step0", nil)
	require.NoError(t, err)
	assert.Equal(t, Observability{TraceSampling: 1, AccessLogs: FailedRequests}, c.Observability, "low sampling and failed requests only, by default")
	c, err = load("step0", map[string]string{"workshop:traceSampling": "0.5", "workshop:accessLogs": "all"})
	require.NoError(t, err)
	assert.Equal(t, Observability{TraceSampling: 0.5, AccessLogs: AllRequests}, c.Observability)
}

func TestTrafficSettings(t *testing.T) {
	c, err := load("step0", nil)
	require.NoError(t, err)
	assert.Equal(t, Traffic{Weights: []Share{{"v1", 80}, {"v2", 20}}, Mirror: &Share{"v3", 20}}, c.Traffic, "a canary and a mirror, by default")
	c, err = load("step0", map[string]string{"workshop:reviewsWeights": " v2=100 ", "workshop:reviewsMirror": "off"})
	require.NoError(t, err)
	assert.Equal(t, Traffic{Weights: []Share{{"v2", 100}}}, c.Traffic, "blue/green, no mirror")
	c, err = load("step0", map[string]string{"workshop:reviewsWeights": "v3=10,v1=90"})
	require.NoError(t, err)
	assert.Equal(t, []Share{{"v1", 90}, {"v3", 10}}, c.Traffic.Weights, "in version order, whatever the order given")
}

func TestResilienceSettings(t *testing.T) {
	c, err := load("step0", nil)
	require.NoError(t, err)
	assert.Equal(t, Resilience{Timeout: 3 * time.Second, Retries: 2, CircuitBreaking: true, FaultInjection: true, FaultDelay: 7 * time.Second}, c.Resilience)
	assert.Equal(t, time.Second, c.Resilience.PerTryTimeout(), "three tries in three seconds")
	c, err = load("step0", map[string]string{"workshop:reviewsTimeout": "off", "workshop:reviewsRetries": "0", "workshop:faultInjection": "off"})
	require.NoError(t, err)
	assert.Equal(t, time.Duration(0), c.Resilience.Timeout)
	assert.Equal(t, time.Duration(0), c.Resilience.PerTryTimeout())
	assert.False(t, c.Resilience.FaultInjection)
}

func TestDefaultPersonasShowEveryOutcome(t *testing.T) {
	c, err := load("step0", nil)
	require.NoError(t, err)
	assert.Equal(t, "https://auth.istio-workshop.local", c.Auth.Issuer)
	assert.Equal(t, "bookinfo", c.Auth.Audience)
	assert.Equal(t, 48, c.Auth.TokenLifetimeHours)
	names := []string{}
	for _, p := range c.Auth.Personas {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"alice", "bob", "carol"}, names, "sorted by name")
	alice, _ := c.Auth.Persona("alice")
	carol, _ := c.Auth.Persona("carol")
	assert.True(t, alice.HasGroup(ReaderGroup) && alice.HasGroup(BetaGroup))
	assert.False(t, carol.HasGroup(ReaderGroup), "one persona has a valid token but not the group")
	assert.Equal(t, []string{}, carol.Groups, "no groups is an empty list, not null")
}

func TestPersonasFromStructuredConfig(t *testing.T) {
	// A YAML object in the stack file reaches the program as JSON.
	c, err := load("step0", map[string]string{"workshop:personas": `{"dana": ["ops", "bookinfo-readers"]}`})
	require.NoError(t, err)
	assert.Equal(t, []Persona{{Name: "dana", Groups: []string{"ops", "bookinfo-readers"}}}, c.Auth.Personas)
}

func TestEveryProblemIsReportedTogether(t *testing.T) {
	_, err := load("step0", map[string]string{
		"workshop:stage":           "9",
		"workshop:meshMode":        "istio",
		"workshop:clusterProvider": "existing",
		"workshop:httpPort":        "0",
	})
	var errs Errors
	require.ErrorAs(t, err, &errs)
	assert.ElementsMatch(t, []string{"stage", "meshMode", "kubeconfig", "httpPort"}, errs.Keys())
}

// The registry's rules bound the stage and add their checks to the others' problems.
func TestTheRegistrysRulesJudgeTheStage(t *testing.T) {
	rules := Rules{Last: 3, Check: func(c Config) []FieldError {
		if c.Stage.Includes(2) {
			return []FieldError{{Key: "meshMode", Value: string(c.MeshMode), Problem: "is refused by stage 2"}}
		}
		return nil
	}}
	_, err := Load("step4", nil, rules)
	assert.ErrorContains(t, err, `workshop:stage: "4" is not a stage (0–3): this version has stages 0–3; use stack step3 or lower`)
	_, err = Load("step2", map[string]string{"workshop:httpPort": "0"}, rules)
	var errs Errors
	require.ErrorAs(t, err, &errs)
	assert.Equal(t, []string{"httpPort", "meshMode"}, errs.Keys(), "a stage's check is said with the other problems")
	_, err = Load("step1", nil, rules)
	assert.NoError(t, err, "a check runs only for the stages in force")
	assert.True(t, Stage(4).Includes(3))
	assert.False(t, Stage(2).Includes(3))
}

func TestEverySettingHasADefaultThatValidates(t *testing.T) {
	values := map[string]string{}
	for _, s := range Settings {
		if s.Default != "" && !strings.Contains(s.Default, "<") {
			values["workshop:"+s.Key] = s.Default
		}
	}
	_, err := load("step0", values)
	require.NoError(t, err)
}

func TestAnExistingClustersKubeconfigIsReadBeforeAnythingRuns(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\ncontexts: [{name: a}, {name: b}]\n"), 0o600))
	existing := func(kv ...string) error {
		values := map[string]string{"workshop:clusterProvider": "existing"}
		for i := 0; i < len(kv); i += 2 {
			values[kv[i]] = kv[i+1]
		}
		_, err := load("step0", values)
		return err
	}
	assert.ErrorContains(t, existing("workshop:kubeconfig", dir), "is a directory: name the kubeconfig file (for example "+kc+")")
	assert.ErrorContains(t, existing("workshop:kubeconfig", kc, "workshop:kubeContext", "c"), `workshop:kubeContext: "c" is not a context of `+kc+" (it has: a, b)")
	assert.ErrorContains(t, existing("workshop:kubeconfig", kc), "workshop:kubeContext is required: "+kc+" sets no current-context (it has: a, b)")
	assert.NoError(t, existing("workshop:kubeconfig", kc, "workshop:kubeContext", "b"))

	_, err := load("step0", map[string]string{"workshop:clusterProvider": "kind", "workshop:kubeContext": "b"})
	var errs Errors
	require.ErrorAs(t, err, &errs)
	assert.Equal(t, []string{"kubeContext"}, errs.Keys(), "reported under its own key, not kubeconfig's")
}

func TestKindNodeImage(t *testing.T) {
	c, err := load("step0", nil)
	require.NoError(t, err)
	assert.Empty(t, c.Cluster.NodeImage, "unset: kind's own pinned image")

	for _, ok := range []string{"workshop.local/kind-node:v1.34.4-0123456789ab", "kindest/node:v1.34.0",
		"localhost:5000/kind/node@sha256:" + strings.Repeat("a", 64)} {
		c, err := load("step0", map[string]string{"workshop:kindNodeImage": ok})
		require.NoError(t, err, ok)
		assert.Equal(t, ok, c.Cluster.NodeImage)
	}
	for _, bad := range []string{"Kindest/Node:v1", "kindest/node: v1", "kindest//node", "node@sha256:abc"} {
		_, err := load("step0", map[string]string{"workshop:kindNodeImage": bad})
		assert.ErrorContains(t, err, "workshop:kindNodeImage: "+strconv.Quote(bad)+" is not an image reference", bad)
	}
	_, err = load("step0", map[string]string{"workshop:clusterProvider": "local", "workshop:kindNodeImage": "kindest/node:v1.34.0"})
	assert.ErrorContains(t, err, "is only used with clusterProvider kind (this stack uses local)")
}

func TestEgressHostsAreExternalNames(t *testing.T) {
	_, err := load("step6", map[string]string{"workshop:egressHosts": "10.1.2.3,details.bookinfo.svc.cluster.local,api.github.com"})
	var errs Errors
	require.ErrorAs(t, err, &errs)
	assert.Equal(t, []string{"egressHosts", "egressHosts"}, errs.Keys())
	assert.Contains(t, err.Error(), `"10.1.2.3" is an IP address`)
	assert.Contains(t, err.Error(), `"details.bookinfo.svc.cluster.local" is an in-cluster name`)
}

// testRules stand for the registry's: eight stages, no stage checks (package stages tests those).
var testRules = Rules{Last: 7}

func load(stack string, values map[string]string) (Config, error) {
	return Load(stack, values, testRules)
}
