package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

type keyCert struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
}

// issueCert makes a certificate for name, signed by parent (self-signed when nil).
func issueCert(t *testing.T, name string, isCA bool, parent *keyCert) keyCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour), IsCA: isCA, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature}
	if isCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return keyCert{cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})}
}

func caSecret(crt, key, ca []byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "istiod-ca", Namespace: "istio-system"},
		Data: map[string][]byte{"tls.crt": crt, "tls.key": key, "ca.crt": ca}}
}

// The intermediate's Secret passes only when it holds a CA, not the root, signed by the stack's
// root, with its own key and the root as ca.crt.
func TestIssuedByRootTellsAnIntermediateOfTheStacksRootFromEverythingElse(t *testing.T) {
	root := issueCert(t, "workshop root", true, nil)
	other := issueCert(t, "someone else's root", true, nil)
	good := issueCert(t, "istiod intermediate", true, &root)
	leaf := issueCert(t, "not a CA", false, &root)
	stranger := issueCert(t, "intermediate of another root", true, &other)
	for name, tc := range map[string]struct {
		secret *corev1.Secret
		want   string
	}{
		"the intermediate":                {caSecret(good.certPEM, good.keyPEM, root.certPEM), ""},
		"the root itself":                 {caSecret(root.certPEM, root.keyPEM, root.certPEM), "holds the root itself"},
		"a leaf certificate":              {caSecret(leaf.certPEM, leaf.keyPEM, root.certPEM), "is not a CA"},
		"another root's intermediate":     {caSecret(stranger.certPEM, stranger.keyPEM, root.certPEM), "does not chain"},
		"another root as ca.crt":          {caSecret(good.certPEM, good.keyPEM, other.certPEM), "ca.crt is not the stack's root"},
		"a key that is not the cert's":    {caSecret(good.certPEM, leaf.keyPEM, root.certPEM), "tls.key is not the key"},
		"no certificate yet (not issued)": {nil, "does not exist"},
	} {
		t.Run(name, func(t *testing.T) {
			client := fake.NewClientset()
			if tc.secret != nil {
				client = fake.NewClientset(tc.secret)
			}
			err := IssuedByRoot(context.Background(), client, "istio-system", "istiod-ca", root.certPEM)
			if tc.want == "" {
				assert.NoError(t, err)
			} else if assert.Error(t, err) {
				assert.Contains(t, err.Error(), tc.want)
			}
		})
	}
}
