package main

import (
	"fmt"
	"testing"

	"github.com/istio-workshop/istio-workshop/internal/versions"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/sig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuildSplitsChartsFromTheProgramsOwnObjects(t *testing.T) {
	deploy := map[string]any{"kind": "Deployment", "metadata": map[string]any{"name": "istiod", "namespace": "istio-system"}}
	s, err := build([]resource{
		{URN: "stack", Type: "pulumi:pulumi:Stack"},
		{URN: "ns", Type: "kubernetes:core/v1:Namespace", Inputs: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "istio-system"}}},
		{URN: "urn:pulumi:s::p::kubernetes:helm.sh/v4:Chart::istiod", Type: "kubernetes:helm.sh/v4:Chart"},
		{URN: "sa", Type: "kubernetes:core/v1:ServiceAccount", Parent: "urn:pulumi:s::p::kubernetes:helm.sh/v4:Chart::istiod", Inputs: map[string]any{"kind": "ServiceAccount"}},
		{URN: "deploy", Type: "kubernetes:apps/v1:Deployment", Parent: "urn:pulumi:s::p::kubernetes:helm.sh/v4:Chart::istiod", Inputs: deploy},
		{URN: "gwapi", Type: "kubernetes:yaml/v2:ConfigGroup"},
		{URN: "crd", Type: "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", Parent: "gwapi", Inputs: map[string]any{"kind": "CustomResourceDefinition"}},
		{URN: "pa", Type: "kubernetes:security.istio.io/v1:PeerAuthentication", Inputs: map[string]any{"kind": "PeerAuthentication"}},
		{URN: "prov", Type: "pulumi:providers:kubernetes", Inputs: map[string]any{"kind": "x"}},
		{URN: "ca", Type: "workshop:index:CertificateAuthority"},
		{URN: "crds", Type: "workshop:index:CRDBundle", Inputs: map[string]any{"module": versions.IstioModule, "paths": []any{"manifests/charts/base/files/crd-all.gen.yaml"}}},
	})
	require.NoError(t, err)
	require.Len(t, s.Charts, 1)
	assert.Equal(t, "istiod", s.Charts[0].Release)
	assert.Equal(t, []map[string]any{{"kind": "ServiceAccount"}, deploy}, s.Charts[0].Objects, "the chart's rendered objects")
	assert.Equal(t, []string{"deployment istio-system istiod"}, s.Charts[0].Waits, "what helm --wait waits for")
	var first []string
	for _, o := range s.First {
		meta, _ := o["metadata"].(map[string]any)
		first = append(first, fmt.Sprint(o["kind"], " ", meta["name"]))
	}
	assert.Contains(t, first, "Namespace istio-system", "namespaces before the charts")
	assert.Contains(t, first, "CustomResourceDefinition virtualservices.networking.istio.io", "and the bundles' CRDs, from their files")
	assert.Equal(t, []map[string]any{{"kind": "PeerAuthentication"}}, s.Rest, "not the provider, not the workshop's own resources")

	_, err = build([]resource{{URN: "urn:x::c", Type: "kubernetes:helm.sh/v4:Chart"}})
	assert.ErrorContains(t, err, "no rendered object")
}

func TestRevealUnwrapsExportedSecrets(t *testing.T) {
	v, err := reveal(map[string]any{"data": map[string]any{"ca.crt": map[string]any{sig.Key: sig.Secret, "plaintext": `"Q0E="`}}, "kind": "Secret"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"data": map[string]any{"ca.crt": "Q0E="}, "kind": "Secret"}, v)

	_, err = reveal([]any{map[string]any{sig.Key: sig.Secret, "ciphertext": "v1:x"}})
	assert.ErrorContains(t, err, "--show-secrets")
}
