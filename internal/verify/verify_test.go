package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/sig"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/probe"
)

type pair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	kpem []byte
}

func issue(t *testing.T, parent *pair, tmpl *x509.Certificate) *pair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return &pair{cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})}
}

func TestProbePodKeepsTheTokenInASecret(t *testing.T) {
	pod := ProbePod("verify-1", probe.Probe{From: "bookinfo", ServiceAccount: "bookinfo-reviews", URL: "http://details.bookinfo:9080/details/0", Persona: "alice"}, "verify-1")
	assert.Equal(t, "bookinfo", pod.Namespace)
	assert.Equal(t, "bookinfo-reviews", pod.Spec.ServiceAccountName, "the probe's identity")
	c := pod.Spec.Containers[0]
	assert.Equal(t, "docker.io/curlimages/curl:8.11.1", c.Image, "pinned")
	assert.Equal(t, "http://details.bookinfo:9080/details/0", c.Args[len(c.Args)-1])
	assert.Contains(t, strings.Join(c.Args, " "), "-H @/probe/header")
	assert.NotContains(t, strings.Join(c.Args, " "), "Bearer")
	assert.Empty(t, c.Env)
	assert.Equal(t, "verify-1", pod.Spec.Volumes[0].Secret.SecretName)
	assert.Equal(t, "Never", string(pod.Spec.RestartPolicy))
	assert.Contains(t, strings.Join(c.Args, " "), "-o /dev/null", "only the status is judged")
	assert.Empty(t, pod.Labels["istio.io/dataplane-mode"])

	pod = ProbePod("verify-2", probe.Probe{From: "istio-system", InMesh: true, URL: "http://kiali.istio-system:20001/kiali/api", Headers: []string{"x-a: 1"},
		Expect: probe.Containing(200, "details-v1", 60)}, "")
	args := strings.Join(pod.Spec.Containers[0].Args, " ")
	assert.NotContains(t, args, "/dev/null", "the body is judged")
	assert.Contains(t, args, "-H x-a: 1")
	assert.Equal(t, "ambient", pod.Labels["istio.io/dataplane-mode"], "in the ambient mesh")
	assert.Equal(t, names.VerifyProbe, pod.Labels[names.VerifyLabel], "stage 9's NetworkPolicies admit it by this label")
}

func TestObjectOfComparesLabelsEverywhereAndSpecOfSecurityObjects(t *testing.T) {
	meta := func(ns, name string) map[string]any { return map[string]any{"name": name, "namespace": ns} }
	pa, ok := ObjectOf(
		map[string]any{"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication", "metadata": meta("istio-system", "default")},
		map[string]any{"metadata": map[string]any{"name": "default", "labels": map[string]any{"app": "x"}}, "spec": map[string]any{"mtls": map[string]any{"mode": "STRICT"}}})
	require.True(t, ok)
	assert.Equal(t, map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "x"}}, "spec": map[string]any{"mtls": map[string]any{"mode": "STRICT"}}}, pa.Want)

	deploy, ok := ObjectOf(
		map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("bookinfo", "details-v1")},
		map[string]any{"spec": map[string]any{"replicas": 1.0}})
	require.True(t, ok)
	assert.Nil(t, deploy.Want, "a workload's spec is the controllers' to change: only its existence is checked")

	secret, ok := ObjectOf(
		map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": meta("istio-ingress", "jwt")},
		map[string]any{"metadata": map[string]any{"labels": map[string]any{"a": "b"}}, "data": map[string]any{"k": "v"}})
	require.True(t, ok)
	assert.Nil(t, secret.Want, "a secret is never compared")

	_, ok = ObjectOf(map[string]any{"resources": []any{}}, nil)
	assert.False(t, ok, "a chart is not an object")
}

func TestDriftFindsWhatWasEditedAndIgnoresWhatTheClusterAdds(t *testing.T) {
	want := map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"istio.io/dataplane-mode": "ambient"}},
		"spec": map[string]any{
			"mtls":  map[string]any{"mode": "STRICT"},
			"ports": []any{map[string]any{"port": 15008.0, "protocol": "TCP"}},
			"empty": map[string]any{},
			"token": map[string]any{sig.Key: sig.Secret, "ciphertext": "v1:abc"},
		},
	}
	live := map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"istio.io/dataplane-mode": "ambient", "kubernetes.io/metadata.name": "bookinfo"}, "uid": "1"},
		"spec": map[string]any{
			"mtls":  map[string]any{"mode": "STRICT"},
			"ports": []any{map[string]any{"port": int64(15008), "protocol": "TCP", "endPort": nil}},
			"token": "whatever the cluster holds",
		},
		"status": map[string]any{"ok": true},
	}
	assert.Empty(t, Drift(want, live), "defaults, status, other labels, int64 numbers, an absent empty map and a secret are no drift")

	live["spec"].(map[string]any)["mtls"] = map[string]any{"mode": "PERMISSIVE"}
	live["spec"].(map[string]any)["ports"] = []any{}
	delete(live["metadata"].(map[string]any)["labels"].(map[string]any), "istio.io/dataplane-mode")
	assert.Equal(t, []string{
		`metadata.labels.istio.io/dataplane-mode: want "ambient", got nothing`,
		`spec.mtls.mode: want "STRICT", got "PERMISSIVE"`,
		`spec.ports: want [{"port":15008,"protocol":"TCP"}], got []`,
	}, Drift(want, live))
}
