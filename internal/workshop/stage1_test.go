package workshop

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/mockstack"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

func chartsOf(m *mockstack.Stack) map[string]resource.PropertyMap {
	out := map[string]resource.PropertyMap{}
	for k, v := range m.Resources {
		if len(k) > len("kubernetes:helm.sh/v4:Chart ") && k[:len("kubernetes:helm.sh/v4:Chart ")] == "kubernetes:helm.sh/v4:Chart " {
			out[k[len("kubernetes:helm.sh/v4:Chart "):]] = v
		}
	}
	return out
}

func TestStage1AmbientInstallsTheAmbientCharts(t *testing.T) {
	m, err := run(t, "step1", map[string]string{"workshop:stage": "1"})
	require.NoError(t, err)
	c := chartsOf(m)
	assert.ElementsMatch(t, []string{"istiod", "istio-cni", "ztunnel", "istio-ingressgateway"}, keys(c), "the base chart holds only the CRDs: a CRDBundle applies them")
	for _, name := range []string{"istiod", "istio-cni", "ztunnel"} {
		assert.Equal(t, "ambient", c[name]["values"].ObjectValue()["profile"].StringValue(), name)
	}
	assert.Equal(t, "istiod", c["istiod"]["chart"].StringValue(), "the official chart by default")
	assert.Equal(t, "1.31.1", c["istiod"]["version"].StringValue(), "pinned")
	assert.Equal(t, "https://istio-release.storage.googleapis.com/charts", c["istiod"]["repositoryOpts"].ObjectValue()["repo"].StringValue())
	assert.Equal(t, "Fail", c["istiod"]["values"].ObjectValue()["base"].ObjectValue()["validationFailurePolicy"].StringValue(),
		"no perpetual diff from istiod patching its webhook")
	assert.Equal(t, "1.31.1", c["ztunnel"]["values"].ObjectValue()["tag"].StringValue())

	ns := m.Resources["kubernetes:core/v1:Namespace bookinfo"]
	require.NotNil(t, ns)
	assert.Equal(t, "ambient", ns["metadata"].ObjectValue()["labels"].ObjectValue()["istio.io/dataplane-mode"].StringValue())
}

func TestStage1SidecarInstallsOnlyIstiodAndGateway(t *testing.T) {
	m, err := run(t, "step1", map[string]string{"workshop:stage": "1", "workshop:meshMode": "sidecar"})
	require.NoError(t, err)
	c := chartsOf(m)
	assert.ElementsMatch(t, []string{"istiod", "istio-ingressgateway"}, keys(c))
	assert.Equal(t, "", c["istiod"]["values"].ObjectValue()["profile"].StringValue())
	labels := m.Resources["kubernetes:core/v1:Namespace bookinfo"]["metadata"].ObjectValue()["labels"].ObjectValue()
	assert.Equal(t, "enabled", labels["istio-injection"].StringValue())
	assert.NotContains(t, labels, resource.PropertyKey("istio.io/dataplane-mode"))
}

func TestStage1IngressOnKindUsesTheMappedNodePorts(t *testing.T) {
	m, err := run(t, "step1", map[string]string{"workshop:stage": "1"})
	require.NoError(t, err)
	svc := chartsOf(m)["istio-ingressgateway"]["values"].ObjectValue()["service"].ObjectValue()
	assert.Equal(t, "true", svc["annotations"].ObjectValue()["pulumi.com/skipAwait"].StringValue(), "kind has no load balancer by default")
	nodePorts := map[string]float64{}
	for _, p := range svc["ports"].ArrayValue() {
		if np, ok := p.ObjectValue()["nodePort"]; ok {
			nodePorts[p.ObjectValue()["name"].StringValue()] = np.NumberValue()
		}
	}
	assert.Equal(t, map[string]float64{"http2": 30080, "https": 30443}, nodePorts)

	local, err := run(t, "step1", map[string]string{"workshop:stage": "1", "workshop:clusterProvider": "local"})
	require.NoError(t, err)
	svc = chartsOf(local)["istio-ingressgateway"]["values"].ObjectValue()["service"].ObjectValue()
	assert.Equal(t, map[string]any{"pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress}"},
		svc["annotations"].ObjectValue().Mappable(), "the local control plane assigns LoadBalancer addresses: await them (and only them)")
}

func TestStage1BookinfoAndItsIngress(t *testing.T) {
	m, err := run(t, "step1", map[string]string{"workshop:stage": "1", "workshop:ingressHost": "bookinfo.example.com", "workshop:httpPort": "8080", "workshop:httpsPort": "8443"})
	require.NoError(t, err)
	for _, d := range []string{"details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3", "productpage-v1"} {
		dep := m.Resources["kubernetes:apps/v1:Deployment bookinfo-"+d]
		require.NotNil(t, dep, d)
		spec := dep["spec"].ObjectValue()["template"].ObjectValue()["spec"].ObjectValue()
		assert.Contains(t, spec["containers"].ArrayValue()[0].ObjectValue()["image"].StringValue(), ":1.20.3", "pinned image")
		assert.NotEmpty(t, spec["serviceAccountName"].StringValue(), "each workload has its own identity")
	}
	gw := m.Resources["kubernetes:networking.istio.io/v1:Gateway bookinfo-bookinfo"]
	require.NotNil(t, gw)
	server := gw["spec"].ObjectValue()["servers"].ArrayValue()[0].ObjectValue()
	assert.Equal(t, "bookinfo.example.com", server["hosts"].ArrayValue()[0].StringValue())
	assert.Equal(t, "HTTP", server["port"].ObjectValue()["protocol"].StringValue())
	assert.Equal(t, "ingressgateway", gw["spec"].ObjectValue()["selector"].ObjectValue()["istio"].StringValue())
	assert.NotContains(t, gw, resource.PropertyKey("status"), "no empty status: it would diff on refresh")

	vs := m.Resources["kubernetes:networking.istio.io/v1:VirtualService bookinfo-bookinfo"]
	require.NotNil(t, vs)
	route := vs["spec"].ObjectValue()["http"].ArrayValue()[0].ObjectValue()
	assert.Equal(t, "/productpage", route["match"].ArrayValue()[0].ObjectValue()["uri"].ObjectValue()["exact"].StringValue())
	assert.Equal(t, "productpage", route["route"].ArrayValue()[0].ObjectValue()["destination"].ObjectValue()["host"].StringValue())
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Istio's CRDs are one bundle from the pinned module, named and hashed in the state (no schema),
// and no chart renders a CRD.
func TestStage1IstioCRDsAreABundle(t *testing.T) {
	m, err := run(t, "step1", map[string]string{"workshop:stage": "1"})
	require.NoError(t, err)
	b := m.Resources["workshop:index:CRDBundle istio-crds"]
	require.NotNil(t, b)
	assert.Equal(t, versions.IstioModule, b["module"].StringValue())
	crds := b["crds"].ObjectValue()
	assert.Contains(t, crds, resource.PropertyKey("virtualservices.networking.istio.io"))
	assert.Contains(t, crds, resource.PropertyKey("authorizationpolicies.security.istio.io"))
	for name, hash := range crds {
		assert.Len(t, hash.StringValue(), 16, "%s: a hash, not the definition", name)
	}
	assert.True(t, b["kubeconfig"].ContainsSecrets())
	for key := range m.Resources {
		assert.False(t, strings.HasPrefix(key, "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"), "%s: the Kubernetes provider creates no CRD", key)
	}
}
