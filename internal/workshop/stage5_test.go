package workshop

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStage5WaypointAndGatewayAPIOnlyInAmbient(t *testing.T) {
	amb, err := run(t, "step5", map[string]string{"workshop:stage": "5", "workshop:chartSource": "module"})
	require.NoError(t, err)
	cg := amb.Resources["kubernetes:yaml/v2:ConfigGroup gateway-api"]
	require.NotNil(t, cg, "ambient installs the Gateway API CRDs for the waypoint")
	files := cg["files"].ArrayValue()
	require.NotEmpty(t, files)
	for _, f := range files {
		assert.Contains(t, f.StringValue(), "sigs.k8s.io/gateway-api@v1.6.0/config/crd/standard/", "the pinned module's standard channel")
	}
	wp := amb.Resources["kubernetes:gateway.networking.k8s.io/v1:Gateway bookinfo-waypoint"]
	require.NotNil(t, wp)
	assert.Equal(t, "istio-waypoint", wp["spec"].ObjectValue()["gatewayClassName"].StringValue())
	labels := amb.Resources["kubernetes:core/v1:Namespace bookinfo"]["metadata"].ObjectValue()["labels"].ObjectValue()
	assert.Equal(t, "waypoint", labels["istio.io/use-waypoint"].StringValue())
	assert.Equal(t, "true", labels["istio.io/ingress-use-waypoint"].StringValue())

	side, err := run(t, "step5", map[string]string{"workshop:stage": "5", "workshop:meshMode": "sidecar"})
	require.NoError(t, err)
	for k := range side.Resources {
		assert.False(t, strings.Contains(k, "gateway.networking.k8s.io") || strings.Contains(k, "gateway-api"), "sidecar mode needs no Gateway API: %s", k)
	}
	assert.Contains(t, side.Resources, "kubernetes:security.istio.io/v1:AuthorizationPolicy bookinfo-deny-all")
	assert.Contains(t, side.Resources, "kubernetes:networking.istio.io/v1:VirtualService bookinfo-reviews")
}

func TestStage5RepoSourceTakesTheReleaseManifest(t *testing.T) {
	m, err := run(t, "step5", map[string]string{"workshop:stage": "5"})
	require.NoError(t, err)
	files := m.Resources["kubernetes:yaml/v2:ConfigGroup gateway-api"]["files"].ArrayValue()
	require.Len(t, files, 1)
	assert.Equal(t, "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.0/standard-install.yaml", files[0].StringValue())
}

func TestStage5RefusesAnIstioThatWouldEnforceADryRun(t *testing.T) {
	m, err := run(t, "step5", map[string]string{"workshop:stage": "5", "workshop:istioVersion": "1.23.0"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "workshop:istioVersion")
	assert.Contains(t, err.Error(), "istio.io/dry-run")
	assert.Empty(t, m.Resources, "refused before anything is registered")
}
