package workshop

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStage5WaypointAndGatewayAPIOnlyInAmbient(t *testing.T) {
	amb, err := run(t, "step5", map[string]string{"workshop:stage": "5", "workshop:chartSource": "module"})
	require.NoError(t, err)
	bundle := amb.Resources["workshop:index:CRDBundle gateway-api"]
	require.NotNil(t, bundle, "ambient installs the Gateway API CRDs for the waypoint")
	assert.Equal(t, "sigs.k8s.io/gateway-api@v1.6.0", bundle["module"].StringValue(), "the pinned release's standard channel")
	assert.Contains(t, bundle["crds"].ObjectValue(), resource.PropertyKey("gateways.gateway.networking.k8s.io"))
	vap := amb.Resources["kubernetes:yaml/v2:ConfigFile gateway-api-safe-upgrades"]
	require.NotNil(t, vap, "the release's admission policy comes with its CRDs")
	assert.Contains(t, vap["file"].StringValue(), "sigs.k8s.io/gateway-api@v1.6.0/config/crd/standard/gateway.networking.k8s.io_vap_safeupgrades.yaml")
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

// Whatever the charts' source, the CRDs come from the module of the configured release.
func TestStage5CRDsComeFromTheModuleWhateverTheChartSource(t *testing.T) {
	repo, err := run(t, "step5", map[string]string{"workshop:chartSource": "repo"})
	require.NoError(t, err)
	module, err := run(t, "step5", map[string]string{"workshop:chartSource": "module"})
	require.NoError(t, err)
	key := "workshop:index:CRDBundle gateway-api"
	assert.Equal(t, module.Resources[key], repo.Resources[key])
}

func TestStage5RefusesAnIstioThatWouldEnforceADryRun(t *testing.T) {
	m, err := run(t, "step5", map[string]string{"workshop:stage": "5", "workshop:istioVersion": "1.23.0"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "workshop:istioVersion")
	assert.Contains(t, err.Error(), "istio.io/dry-run")
	assert.Empty(t, m.Resources, "refused before anything is registered")
}
