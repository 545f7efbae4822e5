package controlplane

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/istio-workshop/istio-workshop/internal/pki"
)

// validity is the local control plane's certificates': it lives as long as the workshop's cache.
const validity = 10 * 365 * 24 * time.Hour

// pki writes the certificates a control plane needs into dir: a CA, the API server's serving
// certificate, a system:masters client certificate for the kubeconfig, and the service-account
// signing key pair.
func writePKI(dir string, serviceIP net.IP) error {
	caKey, caCert, err := pki.Issue(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "istio-workshop-local-ca"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, validity, nil, nil)
	if err != nil {
		return err
	}
	if err := writePair(dir, "ca", caKey, caCert); err != nil {
		return err
	}
	serverKey, serverCert, err := pki.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), serviceIP},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
	}, validity, caCert, caKey)
	if err != nil {
		return err
	}
	if err := writePair(dir, "apiserver", serverKey, serverCert); err != nil {
		return err
	}
	adminKey, adminCert, err := pki.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "istio-workshop-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	}, validity, caCert, caKey)
	if err != nil {
		return err
	}
	if err := writePair(dir, "admin", adminKey, adminCert); err != nil {
		return err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, "sa.pub"), "PUBLIC KEY", pub); err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, "sa.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(saKey))
}

func writePair(dir, name string, key *ecdsa.PrivateKey, cert *x509.Certificate) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, name+".key"), "EC PRIVATE KEY", der); err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, name+".crt"), "CERTIFICATE", cert.Raw)
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
