package workshop

import (
	"slices"
	"strconv"
	"testing"

	"github.com/istio-workshop/istio-workshop/stages"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	requestAuthN = "kubernetes:security.istio.io/v1:RequestAuthentication istio-ingress-workshop-jwt"
	requireJWT   = "kubernetes:security.istio.io/v1:AuthorizationPolicy istio-ingress-require-jwt"
)

func TestStage4TheIngressTrustsOnlyTheStacksIssuer(t *testing.T) {
	for _, mode := range []string{"ambient", "sidecar"} {
		t.Run(mode, func(t *testing.T) {
			m, err := run(t, "step4", map[string]string{"workshop:stage": "4", "workshop:meshMode": mode,
				"workshop:jwtIssuer": "https://auth.example.com", "workshop:jwtAudience": "shop"})
			require.NoError(t, err)
			ra := m.Resources[requestAuthN]
			require.NotNil(t, ra)
			assert.Equal(t, "istio-ingress", ra["metadata"].ObjectValue()["namespace"].StringValue())
			spec := ra["spec"].ObjectValue()
			assert.Equal(t, "ingressgateway", spec["selector"].ObjectValue()["matchLabels"].ObjectValue()["istio"].StringValue(),
				"at the ingress gateway, in either mode")
			rules := spec["jwtRules"].ArrayValue()
			require.Len(t, rules, 1)
			rule := rules[0].ObjectValue()
			assert.Equal(t, "https://auth.example.com", rule["issuer"].StringValue())
			assert.Equal(t, []resource.PropertyValue{resource.NewStringProperty("shop")}, rule["audiences"].ArrayValue())
			assert.Equal(t, `{"keys":[{"kty":"RSA","kid":"jwt-signing-key"}]}`, rule["jwks"].StringValue(),
				"the JWKS of the signing key, not the forger's and not the placeholder")
		})
	}
}

func TestStage4NoTokenNoEntry(t *testing.T) {
	m, err := run(t, "step4", map[string]string{"workshop:stage": "4", "workshop:jwtIssuer": "https://auth.example.com"})
	require.NoError(t, err)
	ap := m.Resources[requireJWT]
	require.NotNil(t, ap)
	spec := ap["spec"].ObjectValue()
	assert.NotContains(t, spec, resource.PropertyKey("action"), "ALLOW, the default (the typed object drops it)")
	assert.Equal(t, "ingressgateway", spec["selector"].ObjectValue()["matchLabels"].ObjectValue()["istio"].StringValue())
	rules := spec["rules"].ArrayValue()
	require.Len(t, rules, 2, "a request principal, or the plain-HTTP redirect listener")
	principals := rules[0].ObjectValue()["from"].ArrayValue()[0].ObjectValue()["source"].ObjectValue()["requestPrincipals"].ArrayValue()
	assert.Equal(t, []resource.PropertyValue{resource.NewStringProperty("https://auth.example.com/*")}, principals,
		"only principals of the stack's issuer")
	ports := rules[1].ObjectValue()["to"].ArrayValue()[0].ObjectValue()["operation"].ObjectValue()["ports"].ArrayValue()
	assert.Equal(t, []resource.PropertyValue{resource.NewStringProperty("80")}, ports)
	assert.NotContains(t, rules[1].ObjectValue(), resource.PropertyKey("from"))

	closed, err := run(t, "step4", map[string]string{"workshop:stage": "4", "workshop:plainHTTP": "closed"})
	require.NoError(t, err)
	assert.Len(t, closed.Resources[requireJWT]["spec"].ObjectValue()["rules"].ArrayValue(), 1,
		"with plain HTTP closed, only the request principal rule")
}

func TestStage4TokensForEachPersonaAreSecrets(t *testing.T) {
	m, err := run(t, "step4", map[string]string{"workshop:stage": "4",
		"workshop:personas": `{"dana": ["bookinfo-readers"], "eve": []}`, "workshop:tokenLifetimeHours": "8"})
	require.NoError(t, err)
	for _, name := range []string{"dana", "eve", "expired", "forged"} {
		tok := m.Resources["workshop:index:Token jwt-"+name]
		require.NotNil(t, tok, name)
		assert.Equal(t, name, tok["subject"].StringValue())
		assert.True(t, tok["privateKeyPem"].ContainsSecrets(), "the signing key reaches the minter as a secret")
	}
	assert.Equal(t, 8.0, m.Resources["workshop:index:Token jwt-dana"]["lifetimeHours"].NumberValue())
	assert.Equal(t, -1.0, m.Resources["workshop:index:Token jwt-expired"]["lifetimeHours"].NumberValue())
	assert.Empty(t, m.Resources["workshop:index:Token jwt-eve"]["groups"].ArrayValue())
	assert.Contains(t, m.Resources["workshop:index:Token jwt-forged"]["privateKeyPem"].SecretValue().Element.StringValue(),
		"jwt-forger-key", "the forgery is signed by the untrusted key")
	assert.Contains(t, m.Resources["workshop:index:Token jwt-dana"]["privateKeyPem"].SecretValue().Element.StringValue(),
		"jwt-signing-key")
}

// stageUpdates are the only earlier resources a stage changes, and why.
var stageUpdates = map[int][]string{
	2: {"kubernetes:networking.istio.io/v1:Gateway bookinfo-bookinfo"}, // the ingress gains its HTTPS listener
	5: {
		"kubernetes:networking.istio.io/v1:VirtualService bookinfo-bookinfo", // the beta testers' route
		"kubernetes:core/v1:Namespace bookinfo",                              // ambient: traffic goes through the waypoint
	},
	9: {
		"kubernetes:helm.sh/v4:Chart istiod",                    // the mesh config declares the tracing backend
		"kubernetes:apps/v1:Deployment bookinfo-productpage-v1", // its own metrics are scraped
	},
	10: {
		"kubernetes:networking.istio.io/v1:VirtualService bookinfo-reviews",  // the A/B route, the weights, the mirror
		"kubernetes:networking.istio.io/v1:DestinationRule bookinfo-reviews", // subset v2
	},
	11: {
		"kubernetes:networking.istio.io/v1:VirtualService bookinfo-reviews",  // timeouts and retries
		"kubernetes:networking.istio.io/v1:DestinationRule bookinfo-reviews", // the circuit breaker
	},
}

// TestEachStageKeepsTheEarlierStagesUnchanged: every resource of stage N is registered with the
// same inputs at stage N+1 (apart from stageUpdates), so moving a live stack up a stage updates
// and replaces nothing else.
func TestEachStageKeepsTheEarlierStagesUnchanged(t *testing.T) {
	for _, mode := range []string{"ambient", "sidecar"} {
		t.Run(mode, func(t *testing.T) {
			prev, err := run(t, "walk", map[string]string{"workshop:stage": "0", "workshop:meshMode": mode})
			require.NoError(t, err)
			for stage := 1; stage <= int(stages.Last()); stage++ {
				cur, err := run(t, "walk", map[string]string{"workshop:stage": strconv.Itoa(stage), "workshop:meshMode": mode})
				require.NoError(t, err)
				for k, inputs := range prev.Resources {
					if assert.Contains(t, cur.Resources, k, "stage %d keeps %s", stage, k) && !isProbeExport(k) && !slices.Contains(stageUpdates[stage], k) {
						assert.True(t, inputs.DeepEquals(cur.Resources[k]), "stage %d changes the inputs of %s:\n%v\n%v", stage, k, inputs, cur.Resources[k])
					}
				}
				prev = cur
			}
		})
	}
}

// isProbeExport: the root stack resource carries the exports, which grow with each stage.
func isProbeExport(k string) bool { return k == "pulumi:pulumi:Stack istio-workshop-walk" }
