package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"time"

	"github.com/pulumi/pulumi-go-provider/infer"
)

// ClientCertificate is a client certificate signed by the workshop's root CA, for mutual TLS at
// the ingress gateway. Its key is a secret output; any input change replaces it.
type ClientCertificate struct{}

type ClientCertificateArgs struct {
	CommonName   string `pulumi:"commonName"`
	ValidityDays int    `pulumi:"validityDays"`
	CACertPEM    string `pulumi:"caCertPem"`
	CAKeyPEM     string `pulumi:"caKeyPem" provider:"secret"`
}

type ClientCertificateState struct {
	ClientCertificateArgs
	CertPEM string `pulumi:"certPem"`
	KeyPEM  string `pulumi:"keyPem" provider:"secret"`
}

func (ClientCertificate) Annotate(a infer.Annotator) {
	a.Describe(&ClientCertificate{}, "A client certificate signed by the workshop root CA (mutual TLS at the ingress).")
}

func (ClientCertificate) WireDependencies(f infer.FieldSelector, _ *ClientCertificateArgs, s *ClientCertificateState) {
	f.OutputField(&s.KeyPEM).AlwaysSecret()
	f.OutputField(&s.CAKeyPEM).AlwaysSecret()
}

func (ClientCertificate) Create(ctx context.Context, req infer.CreateRequest[ClientCertificateArgs]) (infer.CreateResponse[ClientCertificateState], error) {
	state := ClientCertificateState{ClientCertificateArgs: req.Inputs}
	if req.DryRun {
		return infer.CreateResponse[ClientCertificateState]{ID: req.Name, Output: state}, nil
	}
	cert, key, err := NewClientCertificate(req.Inputs.CACertPEM, req.Inputs.CAKeyPEM, req.Inputs.CommonName, time.Duration(req.Inputs.ValidityDays)*24*time.Hour)
	if err != nil {
		return infer.CreateResponse[ClientCertificateState]{}, err
	}
	state.CertPEM, state.KeyPEM = cert, key
	return infer.CreateResponse[ClientCertificateState]{ID: req.Name, Output: state}, nil
}

func (ClientCertificate) Delete(context.Context, infer.DeleteRequest[ClientCertificateState]) (infer.DeleteResponse, error) {
	return infer.DeleteResponse{}, nil
}

// NewClientCertificate signs a client-auth certificate for commonName with the CA.
func NewClientCertificate(caCertPEM, caKeyPEM, commonName string, validity time.Duration) (certPEM, keyPEM string, err error) {
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
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"istio-workshop"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})), nil
}
