package workshop

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const chartType = "kubernetes:helm.sh/v4:Chart "

const istioCRDs = "workshop:index:CRDBundle istio-crds"

// The install order waits only where Istio needs it: istiod after the CRDs, every Istio custom
// resource after istiod (its webhook validates them), the gateway's pod after istiod (its webhook
// injects it); nothing else waits for another chart, for the ingress gateway or for Bookinfo's pods.
func TestInstallWaitsOnlyWhereIstioNeedsIt(t *testing.T) {
	for _, mode := range []string{"ambient", "sidecar"} {
		t.Run(mode, func(t *testing.T) {
			m, err := run(t, "step7", map[string]string{"workshop:stage": "7", "workshop:meshMode": mode})
			require.NoError(t, err)
			deps := func(key string) []string {
				_, ok := m.Resources[key]
				require.True(t, ok, "%s is registered", key)
				return m.DependsOn[key]
			}
			assert.Contains(t, deps(chartType+"istiod"), istioCRDs)
			gateway := deps(chartType + "istio-ingressgateway")
			assert.Contains(t, gateway, chartType+"istiod")
			if mode == "ambient" {
				for _, c := range []string{"istio-cni", "ztunnel"} {
					assert.Contains(t, deps(chartType+c), istioCRDs, c)
					assert.NotContains(t, deps(chartType+c), chartType+"istiod", "%s installs beside istiod", c)
					assert.NotContains(t, gateway, chartType+c, "the gateway does not wait for %s", c)
				}
			}

			istioCRs := 0
			for key := range m.Resources {
				typ, _, _ := strings.Cut(key, " ")
				if strings.Contains(typ, ".istio.io/") {
					istioCRs++
					assert.Contains(t, m.DependsOn[key], chartType+"istiod", "%s waits for the webhook that validates it", key)
					assert.Contains(t, m.DependsOn[key], istioCRDs, "%s is deleted before its CRD", key)
				}
				if strings.HasPrefix(typ, "kubernetes:apps/") || strings.HasPrefix(typ, "kubernetes:core/v1:Namespace") || typ == "kubernetes:networking.k8s.io/v1:NetworkPolicy" {
					continue // workloads wait for the mesh; stage 7's policies come last on purpose
				}
				for _, d := range m.DependsOn[key] {
					assert.NotEqual(t, chartType+"istio-ingressgateway", d, "%s does not wait for the ingress gateway's pods", key)
					assert.False(t, strings.HasPrefix(d, "kubernetes:apps/v1:Deployment bookinfo-"), "%s does not wait for Bookinfo's pods (%s)", key, d)
				}
			}
			assert.Greater(t, istioCRs, 10, "the stage 3-6 Istio resources are checked")
		})
	}
}

// On destroy (or a walk back past the stage that made a namespace) the objects Kubernetes
// removes with their container go with it, instead of being deleted and awaited one by one:
// every object in a namespace the program made names that namespace as DeletedWith, every
// cluster-scoped custom resource the CRD bundle of its kind; everything else keeps its own delete.
func TestObjectsGoWithTheirContainer(t *testing.T) {
	for _, mode := range []string{"ambient", "sidecar"} {
		t.Run(mode, func(t *testing.T) {
			m, err := run(t, "step7", map[string]string{"workshop:stage": "7", "workshop:meshMode": mode})
			require.NoError(t, err)
			const nsType, bundleType = "kubernetes:core/v1:Namespace ", "workshop:index:CRDBundle "
			bundleOf := map[string]string{} // API group -> bundle
			for key, inputs := range m.Resources {
				if strings.HasPrefix(key, bundleType) {
					for crd := range inputs["crds"].ObjectValue() {
						_, group, _ := strings.Cut(string(crd), ".")
						bundleOf[group] = key
					}
				}
			}
			require.Contains(t, bundleOf, "cert-manager.io")
			inNamespace, clusterScoped := 0, 0
			for key, inputs := range m.Resources {
				ns := ""
				if meta, ok := inputs["metadata"]; ok && meta.IsObject() {
					if v, ok := meta.ObjectValue()["namespace"]; ok && v.IsString() {
						ns = v.StringValue()
					}
				}
				typ, _, _ := strings.Cut(strings.TrimPrefix(key, "kubernetes:"), ":")
				group, _, _ := strings.Cut(typ, "/")
				if _, made := m.Resources[nsType+ns]; ns != "" && made {
					assert.Equal(t, nsType+ns, m.DeletedWith[key], "%s is deleted with its namespace", key)
					inNamespace++
				} else if bundle, ok := bundleOf[group]; ok && ns == "" && strings.HasPrefix(key, "kubernetes:") {
					assert.Equal(t, bundle, m.DeletedWith[key], "%s is deleted with its CRDs", key)
					clusterScoped++
				} else {
					assert.Empty(t, m.DeletedWith[key], "%s keeps its own delete", key)
				}
			}
			assert.Greater(t, inNamespace, 30, "Bookinfo, the Istio resources and the curl clients are covered")
			assert.Equal(t, 1, clusterScoped, "the ClusterIssuer is covered")
		})
	}
}
