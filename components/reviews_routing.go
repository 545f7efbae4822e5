package components

import (
	"fmt"

	networkingapi "istio.io/api/networking/v1"
	networking "istio.io/client-go/pkg/apis/networking/v1"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/k8sobj"
	"github.com/istio-workshop/istio-workshop/internal/names"
)

// BetaHeader carries the ingress's verdict on the `groups` claim to the reviews route.
// productpage forwards this header (it is in its list of propagated headers), so the route for
// reviews can follow a decision only the ingress gateway can take: JWT claims are matched at
// gateways only. The ingress sets or strips it on every request, so a client cannot send it.
const BetaHeader = "jwt"

// BetaValue is BetaHeader's value for a beta tester.
const BetaValue = config.BetaGroup

// ABCookie is the cookie that puts a participant in the B group of stage 10's A/B test (reviews
// v2). productpage and reviews forward cookies, so the route sees it on every hop.
const ABCookie = "workshop-ab=b"

// ReviewsShape is what the stages in force make of the reviews service's routing: the versions
// the DestinationRule names as subsets, and the VirtualService's routes in order. Stage 5 makes
// it (beta testers to v3, everyone else to v1); stage 10 adds the A/B route and shares everyone
// else's traffic by weight, with a mirror; stage 11 gives the routes timeouts and retries and the
// DestinationRule a circuit breaker.
type ReviewsShape struct {
	Versions []string
	Routes   []*networkingapi.HTTPRoute
	// TrafficPolicy is the DestinationRule's (stage 11: the circuit breaker).
	TrafficPolicy *networkingapi.TrafficPolicy
}

// ReviewsRouting is reviews' DestinationRule and VirtualService, as shape says.
func ReviewsRouting(shape ReviewsShape) []k8sobj.Object {
	subsets := make([]*networkingapi.Subset, 0, len(shape.Versions))
	for _, v := range shape.Versions {
		subsets = append(subsets, &networkingapi.Subset{Name: v, Labels: map[string]string{"version": v}})
	}
	return []k8sobj.Object{
		&networking.DestinationRule{
			TypeMeta:   k8smeta.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "DestinationRule"},
			ObjectMeta: k8smeta.ObjectMeta{Name: "reviews", Namespace: names.BookinfoNamespace},
			Spec:       networkingapi.DestinationRule{Host: "reviews", Subsets: subsets, TrafficPolicy: shape.TrafficPolicy},
		},
		&networking.VirtualService{
			TypeMeta:   k8smeta.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "VirtualService"},
			ObjectMeta: k8smeta.ObjectMeta{Name: "reviews", Namespace: names.BookinfoNamespace},
			Spec:       networkingapi.VirtualService{Hosts: []string{"reviews"}, Http: shape.Routes},
		},
	}
}

// reviewsTo is a route's destination: one version of reviews, with a weight when it shares.
func reviewsTo(version string, weight int32) *networkingapi.HTTPRouteDestination {
	return &networkingapi.HTTPRouteDestination{Destination: &networkingapi.Destination{Host: "reviews", Subset: version}, Weight: weight}
}

// BetaTestersRoute sends the requests the ingress marked as a beta tester's to reviews v3.
func BetaTestersRoute() *networkingapi.HTTPRoute {
	return &networkingapi.HTTPRoute{
		Name: "beta-testers",
		Match: []*networkingapi.HTTPMatchRequest{{Headers: map[string]*networkingapi.StringMatch{
			BetaHeader: {MatchType: &networkingapi.StringMatch_Exact{Exact: BetaValue}},
		}}},
		Route: []*networkingapi.HTTPRouteDestination{reviewsTo("v3", 0)},
	}
}

// EveryoneElseRoute is the route of every other request: to one version, or shared by weight
// with a copy of some to the mirror (stage 10).
func EveryoneElseRoute(t config.Traffic) *networkingapi.HTTPRoute {
	r := &networkingapi.HTTPRoute{Name: "everyone-else"}
	if len(t.Weights) == 0 {
		r.Route = []*networkingapi.HTTPRouteDestination{reviewsTo("v1", 0)}
		return r
	}
	for _, w := range t.Weights {
		r.Route = append(r.Route, reviewsTo(w.Version, int32(w.Percent)))
	}
	if t.Mirror != nil {
		r.Mirrors = []*networkingapi.HTTPMirrorPolicy{{
			Destination: &networkingapi.Destination{Host: "reviews", Subset: t.Mirror.Version},
			Percentage:  &networkingapi.Percent{Value: float64(t.Mirror.Percent)},
		}}
	}
	return r
}

// ABTestRoute sends the requests that carry ABCookie to reviews v2: the B group of an A/B test,
// chosen by the participant (or a front end that assigns groups), not by chance.
func ABTestRoute() *networkingapi.HTTPRoute {
	return &networkingapi.HTTPRoute{
		Name: "ab-test-b",
		Match: []*networkingapi.HTTPMatchRequest{{Headers: map[string]*networkingapi.StringMatch{
			"cookie": {MatchType: &networkingapi.StringMatch_Regex{Regex: fmt.Sprintf(`^(.*;\s*)?%s(;.*)?$`, ABCookie)}},
		}}},
		Route: []*networkingapi.HTTPRouteDestination{reviewsTo("v2", 0)},
	}
}
