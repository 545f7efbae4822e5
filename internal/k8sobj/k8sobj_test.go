package k8sobj

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	securityapi "istio.io/api/security/v1beta1"
	security "istio.io/client-go/pkg/apis/security/v1"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func requestAuthentication() *security.RequestAuthentication {
	return &security.RequestAuthentication{
		TypeMeta:   k8smeta.TypeMeta{APIVersion: "security.istio.io/v1", Kind: "RequestAuthentication"},
		ObjectMeta: k8smeta.ObjectMeta{Name: "jwt", Namespace: "istio-ingress"},
		Spec: securityapi.RequestAuthentication{
			JwtRules: []*securityapi.JWTRule{{Issuer: "https://auth.example", Jwks: "placeholder"}},
		},
	}
}

func TestFieldsDropTypeMetaAndStatus(t *testing.T) {
	f, err := Fields(requestAuthentication())
	require.NoError(t, err)
	assert.Equal(t, []string{"spec"}, keys(f))
	assert.Equal(t, "istio-ingress-jwt", Name(requestAuthentication()))
}

func TestSetReplacesAPlaceholderAndRefusesUnknownPaths(t *testing.T) {
	f, err := Fields(requestAuthentication())
	require.NoError(t, err)
	require.NoError(t, set(f, []any{"spec", "jwtRules", 0, "jwks"}, "real", false))
	assert.Equal(t, "real", f["spec"].(map[string]any)["jwtRules"].([]any)[0].(map[string]any)["jwks"])

	assert.ErrorContains(t, set(f, []any{"spec", "jwtRules", 1, "jwks"}, "x", false), "no element 1")
	assert.ErrorContains(t, set(f, []any{"spec", "jwtRule", 0}, "x", false), "no field jwtRule")
	assert.ErrorContains(t, set(f, []any{"spec", "jwtRules", 0, "jwks", "deeper"}, "x", false), "not an object or list")

	assert.ErrorContains(t, set(f, []any{"spec", "jwtRules", 0, "newKey"}, "x", false), "no field newKey")
	require.NoError(t, set(f, []any{"spec", "jwtRules", 0, "newKey"}, "x", true), "add writes a new last key")
	assert.ErrorContains(t, set(f, []any{"spec", "missing", "newKey"}, "x", true), "no field missing", "only the last key may be new")
}

func keys(m map[string]any) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	return out
}
