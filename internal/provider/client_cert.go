package provider

import (
	"context"
	"time"

	"github.com/istio-workshop/istio-workshop/internal/pki"
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
	cert, key, err := pki.ClientCertificate(req.Inputs.CACertPEM, req.Inputs.CAKeyPEM, req.Inputs.CommonName, time.Duration(req.Inputs.ValidityDays)*24*time.Hour)
	if err != nil {
		return infer.CreateResponse[ClientCertificateState]{}, err
	}
	state.CertPEM, state.KeyPEM = cert, key
	return infer.CreateResponse[ClientCertificateState]{ID: req.Name, Output: state}, nil
}

func (ClientCertificate) Delete(context.Context, infer.DeleteRequest[ClientCertificateState]) (infer.DeleteResponse, error) {
	return infer.DeleteResponse{}, nil
}
