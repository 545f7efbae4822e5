package verify

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// certFor issues a certificate for name with issue (verify_test.go): a CA when isCA, signed by
// parent (self-signed when nil).
func certFor(t *testing.T, name string, isCA bool, parent *pair) *pair {
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: isCA, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature}
	if isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	return issue(t, parent, tmpl)
}

func caSecret(crt, key, ca []byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "istiod-ca", Namespace: "istio-system"},
		Data: map[string][]byte{"tls.crt": crt, "tls.key": key, "ca.crt": ca}}
}

// The intermediate's Secret passes only when it holds a CA, not the root, signed by the stack's
// root, with its own key and the root as ca.crt.
func TestIssuedByRootTellsAnIntermediateOfTheStacksRootFromEverythingElse(t *testing.T) {
	root := certFor(t, "workshop root", true, nil)
	other := certFor(t, "someone else's root", true, nil)
	good := certFor(t, "istiod intermediate", true, root)
	leaf := certFor(t, "not a CA", false, root)
	stranger := certFor(t, "intermediate of another root", true, other)
	for name, tc := range map[string]struct {
		secret *corev1.Secret
		want   string
	}{
		"the intermediate":                {caSecret(good.pem, good.kpem, root.pem), ""},
		"the root itself":                 {caSecret(root.pem, root.kpem, root.pem), "holds the root itself"},
		"a leaf certificate":              {caSecret(leaf.pem, leaf.kpem, root.pem), "is not a CA"},
		"another root's intermediate":     {caSecret(stranger.pem, stranger.kpem, root.pem), "does not chain"},
		"another root as ca.crt":          {caSecret(good.pem, good.kpem, other.pem), "ca.crt is not the stack's root"},
		"a key that is not the cert's":    {caSecret(good.pem, leaf.kpem, root.pem), "tls.key is not the key"},
		"no certificate yet (not issued)": {nil, "does not exist"},
	} {
		t.Run(name, func(t *testing.T) {
			client := fake.NewClientset()
			if tc.secret != nil {
				client = fake.NewClientset(tc.secret)
			}
			err := IssuedByRoot(context.Background(), client, "istio-system", "istiod-ca", root.pem)
			if tc.want == "" {
				assert.NoError(t, err)
			} else if assert.Error(t, err) {
				assert.Contains(t, err.Error(), tc.want)
			}
		})
	}
}
