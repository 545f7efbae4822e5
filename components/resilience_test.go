package components

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingapi "istio.io/api/networking/v1"

	"github.com/istio-workshop/istio-workshop/internal/config"
)

// Stage 11 bounds every reviews route, each try within the total, and leaves stage 10's routes
// (what the plan held before) as they were.
func TestWithTimeoutsBoundsEveryTryWithinTheTotal(t *testing.T) {
	cfg := stageConfig(t, "11", config.Ambient)
	before := []*networkingapi.HTTPRoute{BetaTestersRoute(), ABTestRoute(), EveryoneElseRoute(cfg.Traffic)}
	after := WithTimeouts(before, cfg.Resilience)
	require.Len(t, after, 3)
	for i, r := range after {
		assert.Equal(t, 3*time.Second, r.GetTimeout().AsDuration(), r.GetName())
		assert.Equal(t, int32(2), r.GetRetries().GetAttempts())
		assert.Equal(t, time.Second, r.GetRetries().GetPerTryTimeout().AsDuration(), "three tries fit in the timeout")
		assert.Equal(t, RetryOn, r.GetRetries().GetRetryOn())
		assert.Nil(t, before[i].GetTimeout(), "the earlier routes are copied, not changed")
		assert.Equal(t, before[i].GetRoute(), r.GetRoute(), "same destinations and weights")
	}
	cfg.Resilience.Timeout, cfg.Resilience.Retries = 0, 0
	for _, r := range WithTimeouts(before, cfg.Resilience) {
		assert.Nil(t, r.GetTimeout())
		assert.Nil(t, r.GetRetries(), "off: Istio's defaults")
	}
}

// The faults match the beta testers' header only; everyone else's route has none.
func TestFaultsAreForBetaTestersOnly(t *testing.T) {
	cfg := stageConfig(t, "11", config.Sidecar)
	faults := Faults(cfg.Resilience)
	require.Len(t, faults, 2)
	for _, vs := range faults {
		routes := vs.Spec.GetHttp()
		require.Len(t, routes, 2, vs.Name)
		assert.Equal(t, BetaValue, routes[0].GetMatch()[0].GetHeaders()[BetaHeader].GetExact(), vs.Name)
		assert.NotNil(t, routes[0].GetFault())
		assert.Nil(t, routes[1].GetFault(), "%s: everyone else goes straight through", vs.Name)
		assert.Empty(t, routes[1].GetMatch())
	}
	assert.Equal(t, 7*time.Second, faults[0].Spec.GetHttp()[0].GetFault().GetDelay().GetFixedDelay().AsDuration(), "ratings is delayed")
	assert.Equal(t, int32(AbortStatus), faults[1].Spec.GetHttp()[0].GetFault().GetAbort().GetHttpStatus(), "details is aborted")
}
