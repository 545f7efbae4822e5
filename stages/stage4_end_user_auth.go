package stages

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/outputs"
	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/policies/objects"
)

// Stage 4: the stack's own token issuer; every ingress request needs a valid JWT.
var endUserAuth = register(Stage{
	Number:  4,
	Name:    "end-user-auth",
	Title:   "End-user JWT authentication",
	Promise: "every ingress request needs a valid JWT issued by the stack",
	Enforced: []Enforcement{
		{Where: IngressGateway, What: "validates the JWT (issuer, audience, signature, expiry) and requires one"},
	},
	Settings:   []string{"jwtIssuer", "jwtAudience", "tokenLifetimeHours", "personas"},
	Components: []string{"EndUserAuth"},
	Apply: func(ctx *pulumi.Context, b *Built) error {
		auth, err := components.NewEndUserAuth(ctx, "end-user-auth", b.Config, b.Mesh, b.On())
		if err != nil {
			return err
		}
		ctx.Export(outputs.JWKS, auth.JWKS)
		ctx.Export(outputs.Tokens, auth.Tokens)
		return nil
	},
	// No token 403, a bad token 401, each persona's token 200; the earlier checks that the
	// ingress answers now carry a reader's token.
	Probes: func(c config.Config, earlier []probe.Probe) []probe.Probe {
		probes := make([]probe.Probe, 0, len(earlier)+3+len(c.Auth.Personas))
		for _, p := range earlier {
			if p.From == probe.Host && p.Expect.Equal(probe.Status(200)) {
				p.Persona = ReaderPersona(c)
			}
			probes = append(probes, p)
		}
		probes = append(probes,
			ingressProbe(c, 4, "a request without a token is refused", "", 403),
			ingressProbe(c, 4, "an expired token is rejected", config.ExpiredPersona, 401),
			ingressProbe(c, 4, "a token signed by another key is rejected", config.ForgedPersona, 401))
		for _, p := range c.Auth.Personas {
			probes = append(probes, ingressProbe(c, 4, "a valid token ("+p.Name+") passes", p.Name, 200))
		}
		return probes
	},
	Holds: &Holds{
		What: "a token at the ingress: a RequestAuthentication in " + names.IngressNamespace,
		Kept: func(objs []objects.Object, _ objects.Stack) bool {
			return objects.AnyObject(objs, "security.istio.io", "RequestAuthentication", names.IngressNamespace, func(objects.Object) bool { return true })
		},
	},
	Guide: Guide{
		Practices: []string{
			"RequestAuthentication only rejects bad tokens; pair it with an AuthorizationPolicy that requires a request principal, or requests without a token pass.",
			"Keep signing keys and tokens secret (Pulumi secrets here), check issuer and audience, and keep token lifetimes short.",
			"Validate JWTs at the edge (the ingress gateway), once for every service behind it.",
		},
		Commands: []Command{
			cmd("the ingress trusts the stack's JWKS and requires a principal", "", true, "kubectl", "get", "requestauthentications.security.istio.io,authorizationpolicies.security.istio.io", "-n", names.IngressNamespace),
			cmd("a token's claims (iss, aud, sub, groups, exp)", "", false, "sh", "-c", "scripts/workshop token alice --stack step4 | cut -d. -f2 | base64 -d 2>/dev/null; echo"),
			cmd("why the gateway answered 401/403", "", false, "kubectl", "logs", "-n", names.IngressNamespace, ingressDeploy, "--tail", "50"),
		},
	},
})

// ReaderPersona is the persona whose token the ingress checks of other stages carry: the first
// with the reader group (stage 5 admits only that group), else the first. Empty before stage 4.
func ReaderPersona(c config.Config) string {
	if !c.Stage.Includes(4) || len(c.Auth.Personas) == 0 {
		return ""
	}
	for _, p := range c.Auth.Personas {
		if p.HasGroup(config.ReaderGroup) {
			return p.Name
		}
	}
	return c.Auth.Personas[0].Name
}
