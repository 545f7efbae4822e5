package components

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	securityapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	security "istio.io/client-go/pkg/apis/security/v1"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/k8sobj"
	"github.com/istio-workshop/istio-workshop/internal/names"
)

// Names of the stage 4 objects.
const (
	// SigningKeyID is the `kid` of the stack's signing key in its JWKS and token headers.
	SigningKeyID = "workshop-1"
	// RequireJWT is the ingress AuthorizationPolicy that turns "no token" into 403.
	RequireJWT = "require-jwt"
)

// ingressSelector picks the ingress gateway's pods (the gateway chart labels them so).
var ingressSelector = map[string]string{"istio": "ingressgateway"}

// EndUserAuth is stage 4: the stack is its own token issuer (a signing key whose JWKS the
// ingress trusts, tokens minted for each persona) and every request through the ingress must
// carry a valid token. An invalid or expired token is rejected by RequestAuthentication (401);
// a request without one is refused by the AuthorizationPolicy that requires a request
// principal (403), since RequestAuthentication alone lets token-less requests through.
type EndUserAuth struct {
	pulumi.ResourceState

	// JWKS is the public key set (plain): anyone may verify the workshop's tokens.
	JWKS pulumi.StringOutput
	// Tokens maps each persona, plus "expired" and "forged", to its JWT (secret).
	Tokens pulumi.StringMapOutput
}

type signingKey struct {
	pulumi.CustomResourceState
	PrivateKeyPEM pulumi.StringOutput `pulumi:"privateKeyPem"`
	JWKS          pulumi.StringOutput `pulumi:"jwks"`
}

type token struct {
	pulumi.CustomResourceState
	Token pulumi.StringOutput `pulumi:"token"`
}

// NewEndUserAuth makes the issuer, the tokens and the ingress policies.
func NewEndUserAuth(ctx *pulumi.Context, name string, cfg config.Config, mesh *Mesh, opts ...pulumi.ResourceOption) (*EndUserAuth, error) {
	a := &EndUserAuth{}
	if err := ctx.RegisterComponentResource("istio-workshop:components:EndUserAuth", name, a, opts...); err != nil {
		return nil, err
	}
	under := []pulumi.ResourceOption{pulumi.Parent(a)}
	secretOutputs := pulumi.AdditionalSecretOutputs([]string{"privateKeyPem", "token"})
	newKey := func(resName string) (*signingKey, error) {
		k := &signingKey{}
		err := ctx.RegisterResource("workshop:index:SigningKey", resName, pulumi.Map{"keyId": pulumi.String(SigningKeyID)},
			k, append(under, secretOutputs)...)
		return k, err
	}
	key, err := newKey("jwt-signing-key")
	if err != nil {
		return nil, err
	}
	// A key nobody trusts, with the same kid: its tokens are the forgeries the probes send.
	forger, err := newKey("jwt-forger-key")
	if err != nil {
		return nil, err
	}
	mint := func(persona string, groups []string, lifetime int, k *signingKey) (pulumi.StringOutput, error) {
		t := &token{}
		err := ctx.RegisterResource("workshop:index:Token", "jwt-"+persona, pulumi.Map{
			"privateKeyPem": k.PrivateKeyPEM,
			"keyId":         pulumi.String(SigningKeyID),
			"issuer":        pulumi.String(cfg.Auth.Issuer),
			"audience":      pulumi.String(cfg.Auth.Audience),
			"subject":       pulumi.String(persona),
			"groups":        pulumi.ToStringArray(append([]string{}, groups...)),
			"lifetimeHours": pulumi.Int(lifetime),
		}, t, append(under, secretOutputs)...)
		return t.Token, err
	}
	tokens := pulumi.StringMap{}
	for _, p := range cfg.Auth.Personas {
		if tokens[p.Name], err = mint(p.Name, p.Groups, cfg.Auth.TokenLifetimeHours, key); err != nil {
			return nil, err
		}
	}
	reader := []string{config.ReaderGroup}
	if tokens[config.ExpiredPersona], err = mint(config.ExpiredPersona, reader, -1, key); err != nil {
		return nil, err
	}
	if tokens[config.ForgedPersona], err = mint(config.ForgedPersona, reader, cfg.Auth.TokenLifetimeHours, forger); err != nil {
		return nil, err
	}

	crds := append(under, pulumi.DependsOn(append([]pulumi.Resource{mesh.IngressNamespace}, mesh.Istio...)))
	if _, err := customResourceWith(ctx, IngressRequestAuthentication(cfg), []k8sobj.Input{
		{Path: []any{"spec", "jwtRules", 0, "jwks"}, Value: key.JWKS},
	}, crds...); err != nil {
		return nil, err
	}
	if _, err := customResource(ctx, IngressRequireJWT(cfg), crds...); err != nil {
		return nil, err
	}
	a.JWKS = key.JWKS
	a.Tokens = pulumi.ToSecret(tokens.ToStringMapOutput()).(pulumi.StringMapOutput)
	return a, ctx.RegisterResourceOutputs(a, pulumi.Map{"jwks": a.JWKS})
}

// IngressRequestAuthentication trusts the stack's issuer at the ingress gateway. Its JWKS is a
// placeholder here: the component sets the signing key's JWKS when the key exists.
func IngressRequestAuthentication(cfg config.Config) *security.RequestAuthentication {
	return &security.RequestAuthentication{
		TypeMeta:   k8smeta.TypeMeta{APIVersion: "security.istio.io/v1", Kind: "RequestAuthentication"},
		ObjectMeta: k8smeta.ObjectMeta{Name: "workshop-jwt", Namespace: names.IngressNamespace},
		Spec: securityapi.RequestAuthentication{
			Selector: &typeapi.WorkloadSelector{MatchLabels: ingressSelector},
			JwtRules: []*securityapi.JWTRule{{
				Issuer:    cfg.Auth.Issuer,
				Audiences: []string{cfg.Auth.Audience},
				Jwks:      "set from the signing key",
			}},
		},
	}
}

// IngressRequireJWT allows only requests that carry a principal from the stack's issuer. When
// plain HTTP is redirected, port 80 stays open so the redirect to HTTPS still answers (that
// listener only redirects; it routes nothing to the application).
func IngressRequireJWT(cfg config.Config) *security.AuthorizationPolicy {
	rules := []*securityapi.Rule{{
		From: []*securityapi.Rule_From{{Source: &securityapi.Source{RequestPrincipals: []string{cfg.Auth.Issuer + "/*"}}}},
	}}
	if cfg.Ingress.PlainHTTP == config.Redirect {
		rules = append(rules, &securityapi.Rule{
			To: []*securityapi.Rule_To{{Operation: &securityapi.Operation{Ports: []string{"80"}}}},
		})
	}
	p := authorizationPolicy(RequireJWT, names.IngressNamespace, securityapi.AuthorizationPolicy_ALLOW, rules...)
	p.Spec.Selector = &typeapi.WorkloadSelector{MatchLabels: ingressSelector}
	return p
}
