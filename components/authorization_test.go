package components

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	securityapi "istio.io/api/security/v1beta1"
	security "istio.io/client-go/pkg/apis/security/v1"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
)

func stage5(mode config.MeshMode) config.Config {
	return config.Config{Stage: 5, MeshMode: mode,
		Ingress: config.Ingress{Host: "bookinfo.localhost", HTTPSPort: 443, PlainHTTP: config.Redirect},
		Auth:    config.Auth{Issuer: "https://auth.example", Personas: []config.Persona{{Name: "alice", Groups: []string{config.ReaderGroup}}}}}
}

func byName(ps []*security.AuthorizationPolicy) map[string]*security.AuthorizationPolicy {
	m := map[string]*security.AuthorizationPolicy{}
	for _, p := range ps {
		m[p.Name] = p
	}
	return m
}

func TestBookinfoIsDenyByDefaultAndAllowsOnlyTheCallGraph(t *testing.T) {
	for _, mode := range []config.MeshMode{config.Ambient, config.Sidecar} {
		t.Run(string(mode), func(t *testing.T) {
			ps := byName(BookinfoPolicies(stage5(mode)))
			deny := ps["deny-all"]
			require.NotNil(t, deny)
			assert.Equal(t, securityapi.AuthorizationPolicy_ALLOW, deny.Spec.Action)
			assert.Empty(t, deny.Spec.Rules, "an ALLOW policy with no rule allows nothing")

			allow := ps["allow-ratings"]
			require.NotNil(t, allow)
			require.Len(t, allow.Spec.Rules, 1)
			assert.Equal(t, []string{"cluster.local/ns/bookinfo/sa/bookinfo-reviews"}, allow.Spec.Rules[0].From[0].Source.Principals)
			assert.Equal(t, []string{"GET"}, allow.Spec.Rules[0].To[0].Operation.Methods, "an L7 rule")
			assert.Equal(t, []string{"cluster.local/ns/istio-ingress/sa/istio-ingressgateway"},
				ps["allow-productpage"].Spec.Rules[0].From[0].Source.Principals, "only the ingress gateway calls productpage")

			dry := ps["dry-run-deny-details"]
			require.NotNil(t, dry)
			assert.Equal(t, "true", dry.Annotations["istio.io/dry-run"])
			assert.Equal(t, securityapi.AuthorizationPolicy_DENY, dry.Spec.Action)

			if mode == config.Ambient {
				// L7 policies on the waypoint (targetRefs), the L4 one on ztunnel.
				assert.Nil(t, allow.Spec.Selector)
				require.Len(t, allow.Spec.TargetRefs, 1)
				assert.Equal(t, "Service", allow.Spec.TargetRefs[0].Kind)
				assert.Equal(t, "ratings", allow.Spec.TargetRefs[0].Name)
				assert.Equal(t, "Gateway", deny.Spec.TargetRefs[0].Kind)
				assert.Equal(t, names.Waypoint, deny.Spec.TargetRefs[0].Name)
				assert.Equal(t, "details", dry.Spec.TargetRefs[0].Name, "dry-run on Envoy (the waypoint), never on ztunnel")
				zt := ps["ztunnel-only-waypoint"]
				require.NotNil(t, zt)
				assert.Nil(t, zt.Spec.Selector)
				assert.Empty(t, zt.Spec.TargetRefs, "namespace-wide at ztunnel")
				assert.Equal(t, []string{"cluster.local/ns/bookinfo/sa/waypoint"}, zt.Spec.Rules[0].From[0].Source.Principals)
				assert.Nil(t, zt.Spec.Rules[0].To, "L4 only: ztunnel cannot match methods or paths")
			} else {
				assert.Empty(t, allow.Spec.TargetRefs)
				assert.Equal(t, map[string]string{"app": "ratings"}, allow.Spec.Selector.MatchLabels)
				assert.Nil(t, deny.Spec.Selector, "namespace-wide")
				assert.NotContains(t, ps, "ztunnel-only-waypoint")
			}
		})
	}
}

func TestTheIngressRequiresTheReaderGroupAndDeniesTheAPI(t *testing.T) {
	ps := byName(IngressPolicies(stage5(config.Ambient)))
	group := ps["require-reader-group"]
	require.NotNil(t, group)
	assert.Equal(t, securityapi.AuthorizationPolicy_DENY, group.Spec.Action)
	rule := group.Spec.Rules[0]
	assert.Equal(t, []string{"*"}, rule.From[0].Source.RequestPrincipals, "only requests with a token: the redirect still answers")
	assert.Equal(t, "request.auth.claims[groups]", rule.When[0].Key)
	assert.Equal(t, []string{config.ReaderGroup}, rule.When[0].NotValues)
	assert.Equal(t, ingressSelector, group.Spec.Selector.MatchLabels)

	api := ps["deny-product-api"]
	require.NotNil(t, api)
	assert.Equal(t, []string{"/api/*"}, api.Spec.Rules[0].To[0].Operation.Paths)
	assert.Nil(t, api.Spec.Rules[0].From, "for everyone")
}
