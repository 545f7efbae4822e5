package pki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewRootCA(t *testing.T) {
	certPEM, keyPEM, err := RootCA("workshop root", 24*time.Hour)
	require.NoError(t, err)
	block, _ := pem.Decode([]byte(certPEM))
	require.NotNil(t, block)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	assert.True(t, cert.IsCA)
	assert.Equal(t, "workshop root", cert.Subject.CommonName)
	assert.NoError(t, cert.CheckSignatureFrom(cert), "self-signed")
	kb, _ := pem.Decode([]byte(keyPEM))
	require.NotNil(t, kb)
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	require.NoError(t, err)
	assert.True(t, key.(*ecdsa.PrivateKey).PublicKey.Equal(cert.PublicKey), "the key belongs to the certificate")
}

func TestClientCertificateChainsToTheRootCA(t *testing.T) {
	caPEM, caKey, err := RootCA("root", time.Hour)
	require.NoError(t, err)
	certPEM, _, err := ClientCertificate(caPEM, caKey, "participant", time.Hour)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM([]byte(caPEM)))
	block, _ := pem.Decode([]byte(certPEM))
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	_, err = cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err, "a client certificate the gateway accepts")

	otherCA, _, err := RootCA("other", time.Hour)
	require.NoError(t, err)
	other := x509.NewCertPool()
	require.True(t, other.AppendCertsFromPEM([]byte(otherCA)))
	_, err = cert.Verify(x509.VerifyOptions{Roots: other, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.Error(t, err, "not trusted by another CA")
}
