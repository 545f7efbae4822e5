package workshop

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/mockstack"
)

func TestStage2CertManagerAndTheChainOfTrust(t *testing.T) {
	m, err := run(t, "step2", map[string]string{"workshop:stage": "2", "workshop:ingressHost": "bookinfo.example.com"})
	require.NoError(t, err)
	cm := chartsOf(m)["cert-manager"]
	require.NotNil(t, cm)
	assert.Equal(t, "v1.21.2", cm["version"].StringValue(), "pinned")
	values := cm["values"].ObjectValue()
	assert.False(t, values["crds"].ObjectValue()["enabled"].BoolValue(), "the chart renders no CRD")
	bundle := m.Resources["workshop:index:CRDBundle cert-manager-crds"]
	require.NotNil(t, bundle, "cert-manager's CRDs are a bundle")
	assert.Equal(t, "github.com/cert-manager/cert-manager@v1.21.2", bundle["module"].StringValue(), "from the configured release")
	assert.Len(t, bundle["crds"].ObjectValue(), 6)
	assert.Contains(t, m.DependsOn[chartType+"cert-manager"], "workshop:index:CRDBundle cert-manager-crds", "the controllers start once their CRDs are there")
	assert.Equal(t, "v1.21.2", values["webhook"].ObjectValue()["image"].ObjectValue()["tag"].StringValue())

	secret := m.Resources["kubernetes:core/v1:Secret workshop-root-ca"]
	require.NotNil(t, secret)
	assert.Equal(t, "cert-manager", secret["metadata"].ObjectValue()["namespace"].StringValue())
	assert.True(t, secret["stringData"].ContainsSecrets(), "the CA key is a secret")

	issuer := m.Resources["kubernetes:cert-manager.io/v1:ClusterIssuer workshop-ca"]
	require.NotNil(t, issuer)
	assert.Equal(t, "workshop-root-ca", issuer["spec"].ObjectValue()["ca"].ObjectValue()["secretName"].StringValue())

	cert := m.Resources["kubernetes:cert-manager.io/v1:Certificate istio-ingress-bookinfo-ingress"]
	require.NotNil(t, cert)
	spec := cert["spec"].ObjectValue()
	assert.Equal(t, "bookinfo.example.com", spec["dnsNames"].ArrayValue()[0].StringValue())
	assert.Equal(t, "bookinfo-ingress-tls", spec["secretName"].StringValue())
	assert.Equal(t, "workshop-ca", spec["issuerRef"].ObjectValue()["name"].StringValue())
	assert.Equal(t, "ClusterIssuer", spec["issuerRef"].ObjectValue()["kind"].StringValue())
	assert.Equal(t, "ECDSA", spec["privateKey"].ObjectValue()["algorithm"].StringValue())
}

func gatewayServers(t *testing.T, m *mockstack.Stack) []resource.PropertyValue {
	gw := m.Resources["kubernetes:networking.istio.io/v1:Gateway bookinfo-bookinfo"]
	require.NotNil(t, gw)
	return gw["spec"].ObjectValue()["servers"].ArrayValue()
}

func TestStage2GatewayServesTLS12AndRedirectsPlainHTTP(t *testing.T) {
	m, err := run(t, "step2", map[string]string{"workshop:stage": "2"})
	require.NoError(t, err)
	servers := gatewayServers(t, m)
	require.Len(t, servers, 2)
	http, https := servers[0].ObjectValue(), servers[1].ObjectValue()
	assert.True(t, http["tls"].ObjectValue()["httpsRedirect"].BoolValue())
	tls := https["tls"].ObjectValue()
	assert.Equal(t, "HTTPS", https["port"].ObjectValue()["protocol"].StringValue())
	assert.Equal(t, "SIMPLE", tls["mode"].StringValue())
	assert.Equal(t, "TLSV1_2", tls["minProtocolVersion"].StringValue())
	assert.Equal(t, "bookinfo-ingress-tls", tls["credentialName"].StringValue())
}

func TestStage2PlainHTTPClosed(t *testing.T) {
	m, err := run(t, "step2", map[string]string{"workshop:stage": "2", "workshop:plainHTTP": "closed"})
	require.NoError(t, err)
	servers := gatewayServers(t, m)
	require.Len(t, servers, 1, "no plain HTTP listener")
	assert.Equal(t, "HTTPS", servers[0].ObjectValue()["port"].ObjectValue()["protocol"].StringValue())
}

func TestStage2MutualTLSAtTheIngress(t *testing.T) {
	m, err := run(t, "step2", map[string]string{"workshop:stage": "2", "workshop:ingressMutualTLS": "true"})
	require.NoError(t, err)
	tls := gatewayServers(t, m)[1].ObjectValue()["tls"].ObjectValue()
	assert.Equal(t, "MUTUAL", tls["mode"].StringValue())
	client := m.Resources["workshop:index:ClientCertificate workshop-participant"]
	require.NotNil(t, client)
	assert.True(t, client["caKeyPem"].ContainsSecrets(), "the CA key reaches the signer as a secret")

	simple, err := run(t, "step2", map[string]string{"workshop:stage": "2"})
	require.NoError(t, err)
	assert.NotContains(t, simple.Resources, "workshop:index:ClientCertificate workshop-participant")
}

func TestStage3StrictMTLSMeshWide(t *testing.T) {
	for _, mode := range []string{"ambient", "sidecar"} {
		t.Run(mode, func(t *testing.T) {
			m, err := run(t, "step3", map[string]string{"workshop:stage": "3", "workshop:meshMode": mode})
			require.NoError(t, err)
			pa := m.Resources["kubernetes:security.istio.io/v1:PeerAuthentication istio-system-default"]
			require.NotNil(t, pa)
			assert.Equal(t, "istio-system", pa["metadata"].ObjectValue()["namespace"].StringValue(), "the root namespace: mesh-wide")
			spec := pa["spec"].ObjectValue()
			assert.Equal(t, "STRICT", spec["mtls"].ObjectValue()["mode"].StringValue())
			assert.NotContains(t, spec, resource.PropertyKey("selector"), "no selector: every workload")

			ns := m.Resources["kubernetes:core/v1:Namespace outside-mesh"]
			require.NotNil(t, ns)
			labels := ns["metadata"].ObjectValue()["labels"].ObjectValue()
			assert.Equal(t, "none", labels["istio.io/dataplane-mode"].StringValue())
			assert.Equal(t, "disabled", labels["istio-injection"].StringValue())
			assert.Contains(t, m.Resources, "kubernetes:apps/v1:Deployment outside-mesh-curl-client")
		})
	}
}
