package stages

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	networkingapi "istio.io/api/networking/v1"
	securityapi "istio.io/api/security/v1beta1"
	security "istio.io/client-go/pkg/apis/security/v1"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/policies/objects"
)

// Stage 5: deny by default, allow by identity and claim, route beta testers to reviews v3.
var authorization = register(Stage{
	Number:  5,
	Name:    "authorization",
	Title:   "Authorization policies",
	Promise: "only the right principal with the right groups claim is allowed; everything else is denied",
	Enforced: []Enforcement{
		{Where: IngressGateway, What: "denies tokens without the reader group and the product API; sets the beta header"},
		{Where: Sidecar, What: "allows each service only its callers' identities", Mode: config.Sidecar},
		{Where: Waypoint, What: "allows each service only its callers' identities", Mode: config.Ambient},
		{Where: Ztunnel, What: "lets Bookinfo's pods accept only the waypoint", Mode: config.Ambient},
	},
	Settings: []string{"gatewayAPIVersion", "personas"},
	Check: func(c config.Config) []config.FieldError {
		return append(dryRunIsHonoured(c), personasKeepTheProbes(c)...)
	},
	Amend: func(c config.Config, p *Plan) {
		if c.MeshMode == config.Ambient {
			// Bookinfo's traffic, from the ingress too, goes through the namespace's waypoint,
			// where L7 policy runs.
			p.Bookinfo.NamespaceLabels["istio.io/use-waypoint"] = names.Waypoint
			p.Bookinfo.NamespaceLabels["istio.io/ingress-use-waypoint"] = "true"
		}
		p.Reviews = components.ReviewsShape{Versions: []string{"v1", "v3"},
			Routes: []*networkingapi.HTTPRoute{components.BetaTestersRoute(), components.EveryoneElseRoute(config.Traffic{})}}
		// A beta tester gets BetaHeader set, which the reviews route follows; everyone else
		// gets it removed.
		p.Bookinfo.Routes = []*networkingapi.HTTPRoute{
			components.ProductPageRoute("beta-testers", config.BetaGroup,
				&networkingapi.Headers{Request: &networkingapi.Headers_HeaderOperations{Set: map[string]string{components.BetaHeader: components.BetaValue}}}),
			components.ProductPageRoute("everyone-else", "",
				&networkingapi.Headers{Request: &networkingapi.Headers_HeaderOperations{Remove: []string{components.BetaHeader}}}),
		}
	},
	Components: []string{"Authorization"},
	Apply: func(ctx *pulumi.Context, b *Built) error {
		authz, err := components.NewAuthorization(ctx, "authorization", b.Config, b.Cluster, b.Mesh, b.Bookinfo, b.Plan.Reviews, b.On())
		b.Authorization = authz
		return err
	},
	// An explicit DENY beats a valid token, and inside the mesh only the call graph's identities
	// pass: stage 3's in-mesh check calls as productpage, which may call details, and stage 4's
	// personas without the reader group are now denied.
	Probes: func(c config.Config, earlier []probe.Probe) []probe.Probe {
		probes := make([]probe.Probe, 0, len(earlier)+3)
		for _, p := range earlier {
			switch {
			case p.Stage == 3 && p.Name == inMeshProbe:
				p.ServiceAccount, p.URL = "bookinfo-productpage", "http://details."+names.BookinfoNamespace+":9080/details/0"
			case p.Stage == 4 && p.Persona != "" && p.Expect.Equal(probe.Status(200)):
				if persona, ok := c.Auth.Persona(p.Persona); ok && !persona.HasGroup(config.ReaderGroup) {
					p = ingressProbe(c, 4, "a valid token without the "+config.ReaderGroup+" group ("+p.Persona+") is denied", p.Persona, 403)
				}
			}
			probes = append(probes, p)
		}
		in := c.Ingress
		api := strings.TrimSuffix(names.ProductPageURL("https", in.Host, in.HTTPSPort), "/productpage") + "/api/v1/products"
		deny := ingressProbe(c, 5, "the product API is denied even to a reader (explicit DENY)", ReaderPersona(c), 403)
		deny.URL = api
		return append(probes, deny,
			probe.Probe{Stage: 5, Name: "a workload without an allowed identity is denied", From: names.BookinfoNamespace,
				URL: "http://productpage." + names.BookinfoNamespace + ":9080/productpage", Expect: probe.Status(403)},
			probe.Probe{Stage: 5, Name: "reviews may not call details (not in the call graph)", From: names.BookinfoNamespace, ServiceAccount: "bookinfo-reviews",
				URL: "http://details." + names.BookinfoNamespace + ":9080/details/0", Expect: probe.Status(403)})
	},
	Holds: &Holds{
		What: "deny by default: an ALLOW AuthorizationPolicy without rules in " + names.BookinfoNamespace,
		Kept: func(objs []objects.Object, _ objects.Stack) bool {
			return objects.AnyObject(objs, "security.istio.io", "AuthorizationPolicy", names.BookinfoNamespace, func(o objects.Object) bool {
				var ap security.AuthorizationPolicy
				return o.Decode(&ap) == nil && ap.Spec.GetAction() == securityapi.AuthorizationPolicy_ALLOW && len(ap.Spec.GetRules()) == 0
			})
		},
	},
	Guide: Guide{
		Practices: []string{
			"Deny by default, then allow each service only its callers' identities (SPIFFE principals), and only the methods they need.",
			"DENY policies are evaluated before ALLOW: use them for what must never happen, whatever else is allowed.",
			"Try a policy in dry-run (istio.io/dry-run) before enforcing it, on an Envoy that honours it.",
			"In ambient mode put L7 policy on a waypoint (targetRefs) and let ztunnel accept only the waypoint.",
		},
		Commands: []Command{
			cmd("every policy, per namespace", "", true, "kubectl", "get", "authorizationpolicies.security.istio.io", "-A"),
			cmd("the waypoint is programmed and used", config.Ambient, true, "istioctl", "waypoint", "status", "-n", names.BookinfoNamespace),
			cmd("the waypoint's RBAC decisions (and dry-run shadow denials)", config.Ambient, false, "kubectl", "logs", "-n", names.BookinfoNamespace, "deploy/"+names.Waypoint, "--tail", "50"),
			cmd("which policies apply to productpage, and why", config.Sidecar, true, "istioctl", "x", "authz", "check", "deploy/productpage-v1", "-n", names.BookinfoNamespace),
		},
	},
})

// minDryRunIstio is the oldest Istio whose proxies honour istio.io/dry-run where this stage puts
// its dry-run policy: the sidecar has since 1.10; in ambient mode the policy is on the waypoint,
// whose targetRefs attachment is stable since 1.24. The policy is never an L4 one, because
// ztunnel enforced dry-run policies before 1.25, and ignores them until 1.29 unless istiod's
// AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY is on.
var minDryRunIstio = map[config.MeshMode][2]int{config.Sidecar: {1, 10}, config.Ambient: {1, 24}}

// dryRunIsHonoured refuses an Istio that would enforce the dry-run policy or silently ignore it.
func dryRunIsHonoured(c config.Config) []config.FieldError {
	var major, minor int
	if _, err := fmt.Sscanf(c.Versions.Istio, "%d.%d", &major, &minor); err != nil {
		return nil // reported as a malformed version
	}
	min, ok := minDryRunIstio[c.MeshMode]
	if !ok || major > min[0] || major == min[0] && minor >= min[1] {
		return nil
	}
	return []config.FieldError{{Key: "istioVersion", Value: c.Versions.Istio, Problem: fmt.Sprintf(
		"does not honour the istio.io/dry-run annotation in %s mode where stage 5 puts it (needs %d.%d or newer): raise workshop:istioVersion, or stay at stage 4",
		c.MeshMode, min[0], min[1])}}
}

// personasKeepTheProbes: the ingress now admits only the reader group, and the earlier stages'
// checks of the product page carry a reader's token: with no reader among the personas those
// checks would contradict each other.
func personasKeepTheProbes(c config.Config) []config.FieldError {
	if len(c.Auth.Personas) == 0 {
		return nil
	}
	var given []string
	for _, p := range c.Auth.Personas {
		if p.HasGroup(config.ReaderGroup) {
			return nil
		}
		given = append(given, p.Name)
	}
	return []config.FieldError{{Key: "personas", Value: strings.Join(given, ", "),
		Problem: "has no member of " + config.ReaderGroup + ", the group stage 5 admits at the ingress: give at least one persona that group"}}
}
