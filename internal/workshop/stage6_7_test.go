package workshop

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStage6And7WiringPerMode(t *testing.T) {
	amb, err := run(t, "step7", map[string]string{"workshop:stage": "7", "workshop:chartSource": "module"})
	require.NoError(t, err)
	assert.Contains(t, amb.Resources, "kubernetes:gateway.networking.k8s.io/v1:Gateway istio-egress-egress-gateway", "the egress waypoint")
	assert.Contains(t, amb.Resources, "kubernetes:networking.istio.io/v1:ServiceEntry istio-egress-httpbin-org")
	assert.Contains(t, amb.Resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy bookinfo-egress-through-the-mesh")
	assert.Contains(t, amb.Resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy bookinfo-default-deny")
	assert.Contains(t, amb.Resources, "kubernetes:apps/v1:Deployment egress-demo-curl-client")
	assert.NotContains(t, amb.Resources, "kubernetes:helm.sh/v4:Chart egress-gateway", "ambient's egress gateway is a waypoint")
	labels := amb.Resources["kubernetes:core/v1:Namespace egress-demo"]["metadata"].ObjectValue()["labels"].ObjectValue()
	assert.Equal(t, "ambient", labels["istio.io/dataplane-mode"].StringValue(), "the egress client is in the mesh")

	side, err := run(t, "step7", map[string]string{"workshop:stage": "7", "workshop:meshMode": "sidecar", "workshop:chartSource": "module"})
	require.NoError(t, err)
	chart := side.Resources["kubernetes:helm.sh/v4:Chart egress-gateway"]
	require.NotNil(t, chart, "sidecar mode's egress gateway comes from the gateway chart")
	assert.Contains(t, chart["chart"].StringValue(), "manifests/charts/gateway")
	values := chart["values"].ObjectValue()
	assert.Equal(t, "ClusterIP", values["service"].ObjectValue()["type"].StringValue(), "reached from inside the mesh only")
	sc := side.Resources["kubernetes:networking.istio.io/v1:Sidecar istio-system-default"]
	require.NotNil(t, sc)
	assert.Equal(t, "REGISTRY_ONLY", sc["spec"].ObjectValue()["outboundTrafficPolicy"].ObjectValue()["mode"].StringValue(),
		"a proto3 zero enum, written out for the reader")
	se := side.Resources["kubernetes:networking.istio.io/v1:ServiceEntry istio-egress-httpbin-org"]["spec"].ObjectValue()
	assert.Equal(t, "MESH_EXTERNAL", se["location"].StringValue())
	gw := side.Resources["kubernetes:networking.istio.io/v1:Gateway istio-egress-egress-gateway"]["spec"].ObjectValue()
	assert.Equal(t, "PASSTHROUGH", gw["servers"].ArrayValue()[0].ObjectValue()["tls"].ObjectValue()["mode"].StringValue())
	assert.Contains(t, side.Resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy egress-demo-egress-through-the-mesh")
	for k := range side.Resources {
		assert.False(t, strings.Contains(k, "gateway.networking.k8s.io"), "sidecar mode needs no Gateway API: %s", k)
	}

	six, err := run(t, "step6", map[string]string{"workshop:stage": "6", "workshop:meshMode": "sidecar"})
	require.NoError(t, err)
	for k := range six.Resources {
		assert.NotContains(t, k, "NetworkPolicy", "sidecar mode has no NetworkPolicy before stage 7")
	}
}
