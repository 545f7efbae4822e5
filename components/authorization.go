package components

import (
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	securityapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	security "istio.io/client-go/pkg/apis/security/v1"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	yamlv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/yaml/v2"

	"github.com/istio-workshop/istio-workshop/infra"
	"github.com/istio-workshop/istio-workshop/internal/charts"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// Principal is the SPIFFE-style identity Istio gives a service account.
func Principal(namespace, serviceAccount string) string {
	return "cluster.local/ns/" + namespace + "/sa/" + serviceAccount
}

// bookinfoCallers says who may call each Bookinfo service, and with which methods (empty: any):
// the call graph of the sample, and nothing else.
var bookinfoCallers = []struct {
	service, caller string
	methods         []string
}{
	{"productpage", Principal(names.IngressNamespace, names.IngressName), nil},
	{"details", Principal(names.BookinfoNamespace, "bookinfo-productpage"), nil},
	{"reviews", Principal(names.BookinfoNamespace, "bookinfo-productpage"), nil},
	// An L7 rule: reviews only reads ratings. In ambient it needs the waypoint.
	{"ratings", Principal(names.BookinfoNamespace, "bookinfo-reviews"), []string{"GET"}},
}

// attachment is how a Bookinfo policy reaches a service: by pod selector in sidecar mode (the
// sidecar enforces it), by targetRefs to the Service in ambient mode (the waypoint enforces it,
// with the caller's identity; ztunnel would only see the waypoint's).
type attachment func(spec *securityapi.AuthorizationPolicy, service string)

func attachFor(mode config.MeshMode) attachment {
	if mode == config.Ambient {
		return func(spec *securityapi.AuthorizationPolicy, service string) {
			if service == "" {
				spec.TargetRefs = []*typeapi.PolicyTargetReference{{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: names.Waypoint}}
				return
			}
			spec.TargetRefs = []*typeapi.PolicyTargetReference{{Kind: "Service", Name: service}}
		}
	}
	return func(spec *securityapi.AuthorizationPolicy, service string) {
		if service != "" {
			spec.Selector = &typeapi.WorkloadSelector{MatchLabels: map[string]string{"app": service}}
		}
	}
}

// authorizationPolicy is an AuthorizationPolicy whose spec the caller fills in place (the
// generated spec types must not be copied).
func authorizationPolicy(name, namespace string, action securityapi.AuthorizationPolicy_Action, rules ...*securityapi.Rule) *security.AuthorizationPolicy {
	p := &security.AuthorizationPolicy{
		TypeMeta:   k8smeta.TypeMeta{APIVersion: "security.istio.io/v1", Kind: "AuthorizationPolicy"},
		ObjectMeta: k8smeta.ObjectMeta{Name: name, Namespace: namespace},
	}
	p.Spec.Action, p.Spec.Rules = action, rules
	return p
}

// from is a rule matching callers with one of principals.
func from(principals ...string) *securityapi.Rule {
	return &securityapi.Rule{From: []*securityapi.Rule_From{{Source: &securityapi.Source{Principals: principals}}}}
}

// BookinfoPolicies are stage 5's policies in the Bookinfo namespace: deny by default, then allow
// each service only from its callers' identities; a dry-run DENY that is logged, not enforced.
// In ambient mode one more policy runs on ztunnel (L4): pods accept only the waypoint, so no
// caller can bypass the L7 policies.
func BookinfoPolicies(cfg config.Config) []*security.AuthorizationPolicy {
	attach := attachFor(cfg.MeshMode)
	// ALLOW with no rules matches nothing: everything not allowed below is denied.
	denyAll := authorizationPolicy("deny-all", names.BookinfoNamespace, securityapi.AuthorizationPolicy_ALLOW)
	attach(&denyAll.Spec, "")
	policies := []*security.AuthorizationPolicy{denyAll}
	for _, c := range bookinfoCallers {
		rule := from(c.caller)
		if len(c.methods) > 0 {
			rule.To = []*securityapi.Rule_To{{Operation: &securityapi.Operation{Methods: c.methods}}}
		}
		allow := authorizationPolicy("allow-"+c.service, names.BookinfoNamespace, securityapi.AuthorizationPolicy_ALLOW, rule)
		attach(&allow.Spec, c.service)
		policies = append(policies, allow)
	}

	// What would happen if productpage lost details? Logged as a would-be denial; details still
	// answers. Envoy (sidecar or waypoint) honours istio.io/dry-run.
	dryRun := authorizationPolicy("dry-run-deny-details", names.BookinfoNamespace, securityapi.AuthorizationPolicy_DENY,
		from(Principal(names.BookinfoNamespace, "bookinfo-productpage")))
	dryRun.Annotations = map[string]string{"istio.io/dry-run": "true"}
	attach(&dryRun.Spec, "details")
	policies = append(policies, dryRun)

	if cfg.MeshMode == config.Ambient {
		policies = append(policies, authorizationPolicy("ztunnel-only-waypoint", names.BookinfoNamespace, securityapi.AuthorizationPolicy_ALLOW,
			from(Principal(names.BookinfoNamespace, names.Waypoint))))
	}
	return policies
}

// IngressPolicies are stage 5's policies at the ingress gateway (an Envoy in either mode):
// a token without the reader group is denied, and an explicit DENY keeps the product API
// private for everyone.
func IngressPolicies(cfg config.Config) []*security.AuthorizationPolicy {
	// Stage 4's ALLOW lets any valid token in; ALLOW policies add up, so narrowing it takes a
	// DENY: a request with a principal (the plain-HTTP redirect carries none and still answers)
	// whose groups claim lacks the reader group.
	group := authorizationPolicy("require-reader-group", names.IngressNamespace, securityapi.AuthorizationPolicy_DENY, &securityapi.Rule{
		From: []*securityapi.Rule_From{{Source: &securityapi.Source{RequestPrincipals: []string{"*"}}}},
		When: []*securityapi.Condition{{Key: "request.auth.claims[groups]", NotValues: []string{config.ReaderGroup}}},
	})
	// An explicit DENY wins over every ALLOW: the product API stays private for everyone.
	api := authorizationPolicy("deny-product-api", names.IngressNamespace, securityapi.AuthorizationPolicy_DENY, &securityapi.Rule{
		To: []*securityapi.Rule_To{{Operation: &securityapi.Operation{Paths: []string{"/api/*"}}}},
	})
	for _, p := range []*security.AuthorizationPolicy{group, api} {
		p.Spec.Selector = &typeapi.WorkloadSelector{MatchLabels: ingressSelector}
	}
	return []*security.AuthorizationPolicy{group, api}
}

// Authorization is stage 5: who may call what, enforced where each mode enforces it.
type Authorization struct {
	pulumi.ResourceState

	// GatewayAPI is the Gateway API CRDs (ambient mode; nil in sidecar mode): later waypoints
	// need them.
	GatewayAPI pulumi.Resource
}

// NewAuthorization applies the ingress and Bookinfo policies, and in ambient mode the Gateway API
// CRDs and the namespace's waypoint that the L7 policies run on. (config refuses an Istio that
// would mishandle the dry-run policy, before anything changes.)
func NewAuthorization(ctx *pulumi.Context, name string, cfg config.Config, cluster *infra.Cluster, mesh *Mesh, bookinfo *Bookinfo, reviews ReviewsShape, opts ...pulumi.ResourceOption) (*Authorization, error) {
	a := &Authorization{}
	if err := ctx.RegisterComponentResource("istio-workshop:components:Authorization", name, a, opts...); err != nil {
		return nil, err
	}
	under := []pulumi.ResourceOption{pulumi.Parent(a)}
	after := append([]pulumi.Resource{bookinfo.Namespace, mesh.IngressNamespace}, mesh.Istio...)
	if cfg.MeshMode == config.Ambient {
		// The standard channel, from the configured release's module: its CRDs as a bundle, and
		// the admission policy the release ships beside them (it refuses experimental CRDs over
		// standard ones) as an object of its own.
		module := versions.GatewayAPIModulePath + "@" + cfg.Versions.GatewayAPI
		crds, err := newCRDBundle(ctx, "gateway-api", cluster, module, []string{"config/crd/standard/gateway.networking.k8s.io_[^v]*.yaml"}, under...)
		if err != nil {
			return nil, err
		}
		dir, err := charts.ModuleDir(module)
		if err != nil {
			return nil, err
		}
		if _, err := yamlv2.NewConfigFile(ctx, "gateway-api-safe-upgrades", &yamlv2.ConfigFileArgs{
			File: pulumi.String(filepath.Join(dir, "config", "crd", "standard", "gateway.networking.k8s.io_vap_safeupgrades.yaml")),
		}, append(under, pulumi.DependsOn([]pulumi.Resource{crds}))...); err != nil {
			return nil, err
		}
		a.GatewayAPI = crds
		waypoint, err := customResource(ctx, WaypointGateway(), append(under, pulumi.DependsOn([]pulumi.Resource{crds, bookinfo.Namespace}))...)
		if err != nil {
			return nil, err
		}
		after = append(after, waypoint)
	}
	crds := append(under, pulumi.DependsOn(after))
	for _, p := range append(IngressPolicies(cfg), BookinfoPolicies(cfg)...) {
		if _, err := customResource(ctx, p, crds...); err != nil {
			return nil, err
		}
	}
	for _, obj := range ReviewsRouting(reviews) {
		if _, err := customResource(ctx, obj, crds...); err != nil {
			return nil, err
		}
	}
	return a, ctx.RegisterResourceOutputs(a, pulumi.Map{})
}

// WaypointGateway is the Bookinfo namespace's waypoint: a Gateway of Istio's waypoint class,
// for the namespace's services, listening for HBONE.
func WaypointGateway() *gatewayv1.Gateway {
	return waypointGateway(names.Waypoint, names.BookinfoNamespace)
}

// waypointGateway is a waypoint for the services (ServiceEntries included) of namespace ns.
func waypointGateway(name, ns string) *gatewayv1.Gateway {
	return &gatewayv1.Gateway{
		TypeMeta: k8smeta.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "Gateway"},
		ObjectMeta: k8smeta.ObjectMeta{Name: name, Namespace: ns,
			Labels: map[string]string{"istio.io/waypoint-for": "service"}},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: "istio-waypoint",
			Listeners:        []gatewayv1.Listener{{Name: "mesh", Port: 15008, Protocol: "HBONE"}},
		},
	}
}
