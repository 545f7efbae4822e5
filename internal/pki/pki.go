// Package pki makes the workshop's certificates: the stack's root CA and participants' client
// certificates (the provider's resources), and the local control plane's CA and server and
// client certificates. One way to make a key and sign a certificate, so all of them share its
// choices: ECDSA P-256 keys, 126-bit random serials, an hour of clock skew allowed.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Issue makes a key and a certificate from tmpl, valid for validity from an hour ago, signed by
// parent with parentKey (self-signed when parent is nil). tmpl's serial and validity are set.
func Issue(tmpl *x509.Certificate, validity time.Duration, parent *x509.Certificate, parentKey crypto.Signer) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(validity)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("signing %s: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

// RootCA makes a self-signed CA certificate and its key (PKCS #8), PEM encoded.
func RootCA(commonName string, validity time.Duration) (certPEM, keyPEM string, err error) {
	key, cert, err := Issue(&x509.Certificate{
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"istio-workshop"}},
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            1,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}, validity, nil, nil)
	if err != nil {
		return "", "", err
	}
	return encode(key, cert)
}

// ClientCertificate signs a client-auth certificate for commonName with the CA (both PEM).
func ClientCertificate(caCertPEM, caKeyPEM, commonName string, validity time.Duration) (certPEM, keyPEM string, err error) {
	cb, _ := pem.Decode([]byte(caCertPEM))
	kb, _ := pem.Decode([]byte(caKeyPEM))
	if cb == nil || kb == nil {
		return "", "", errors.New("the CA certificate or key is not PEM")
	}
	ca, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return "", "", err
	}
	caKey, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return "", "", err
	}
	signer, ok := caKey.(crypto.Signer)
	if !ok {
		return "", "", errors.New("the CA key cannot sign")
	}
	key, cert, err := Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: []string{"istio-workshop"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, validity, ca, signer)
	if err != nil {
		return "", "", err
	}
	return encode(key, cert)
}

// encode is the certificate and its key (PKCS #8) in PEM.
func encode(key *ecdsa.PrivateKey, cert *x509.Certificate) (certPEM, keyPEM string, err error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})), nil
}
