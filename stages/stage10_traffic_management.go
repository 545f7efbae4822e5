package stages

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	networkingapi "istio.io/api/networking/v1"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/policies/objects"
)

// splitRequests and splitTolerance: 100 requests tell an 80/20 split from a 50/50 one with room
// to spare (the standard deviation of an 80 % share over 100 requests is 4 points).
const (
	splitRequests  = 100
	splitTolerance = 12
)

// Stage 10: request routing by claim and by cookie, a weighted canary and a mirror, on the reviews
// service's routes (stage 5's objects: one VirtualService per host, so this stage changes them).
var trafficManagement = register(Stage{
	Number:  10,
	Name:    "traffic-management",
	Title:   "Traffic management: request routing, canary weights, A/B testing and mirroring",
	Promise: "reviews' ordinary traffic is shared between its versions by the configured weights, with a copy mirrored to another version; beta testers (a JWT claim) get v3 and the A/B cookie gets v2",
	Enforced: []Enforcement{
		{Where: Sidecar, What: "routes reviews by claim, cookie, weight and mirror", Mode: config.Sidecar},
		{Where: Waypoint, What: "routes reviews by claim, cookie, weight and mirror", Mode: config.Ambient},
	},
	Settings: []string{"reviewsWeights", "reviewsMirror"},
	Amend: func(c config.Config, p *Plan) {
		p.Reviews.Versions = config.ReviewsVersions
		p.Reviews.Routes = []*networkingapi.HTTPRoute{components.BetaTestersRoute(), components.ABTestRoute(), components.EveryoneElseRoute(c.Traffic)}
	},
	// Its objects are stage 5's reviews routing, changed through the plan.
	Apply: func(*pulumi.Context, *Built) error { return nil },
	// From productpage's identity, the only one allowed to call reviews: each route's version
	// answers (reviews names its pod in the answer), and the ordinary traffic splits as weighted.
	Probes: func(c config.Config, earlier []probe.Probe) []probe.Probe {
		url := "http://reviews." + names.BookinfoNamespace + ":9080/reviews/0"
		asProductPage := func(name string, expect probe.Expect, headers ...string) probe.Probe {
			return probe.Probe{Stage: 10, Name: name, From: names.BookinfoNamespace, ServiceAccount: "bookinfo-productpage", URL: url, Headers: headers, Expect: expect}
		}
		split := map[string]int{}
		var shares []string
		for _, w := range c.Traffic.Weights {
			split["reviews-"+w.Version+"-"] = w.Percent
			shares = append(shares, fmt.Sprintf("%s %d %%", w.Version, w.Percent))
		}
		return append(earlier,
			asProductPage("reviews' ordinary traffic is shared by the weights ("+strings.Join(shares, ", ")+")", probe.Shared(200, splitRequests, split, splitTolerance)),
			asProductPage("the A/B cookie gets reviews v2", probe.Containing(200, "reviews-v2-", 0), "cookie: "+components.ABCookie),
			asProductPage("a beta tester's request gets reviews v3", probe.Containing(200, "reviews-v3-", 0), components.BetaHeader+": "+components.BetaValue),
		)
	},
	Holds: &Holds{
		What: "the canary: reviews' VirtualService in " + names.BookinfoNamespace + " shares the everyone-else route between versions with weights adding up to 100, and keeps the A/B route",
		Kept: func(objs []objects.Object, _ objects.Stack) bool {
			return objects.AnyObject(objs, "networking.istio.io", "VirtualService", names.BookinfoNamespace, func(o objects.Object) bool {
				routes, _ := objects.Field(o.Fields, "spec", "http").([]any)
				weighted, ab := false, false
				for _, r := range routes {
					r, _ := r.(map[string]any)
					dests, _ := r["route"].([]any)
					total := 0.0
					for _, d := range dests {
						w, _ := d.(map[string]any)["weight"].(float64)
						total += w
					}
					weighted = weighted || (r["name"] == "everyone-else" && (len(dests) == 1 || total == 100))
					ab = ab || r["name"] == "ab-test-b"
				}
				return o.Name == "reviews" && weighted && ab
			})
		},
	},
	Guide: Guide{
		Concepts: []string{
			"Traffic management is routing by the request, not by the connection: which version of reviews answers depends on a header, a cookie, a claim or a weighted draw. Only an Envoy can do it: the sidecar of the caller in sidecar mode, the waypoint of reviews' namespace in ambient mode (ztunnel moves connections, it never reads a request).",
			"One API in both modes: Istio's VirtualService and DestinationRule (subsets v1, v2, v3 by the pods' version label). Stage 5 already routes reviews with them, and Istio applies one VirtualService per host, so this stage changes that one rather than adding a Gateway API HTTPRoute beside it; waypoints accept VirtualServices, and the Gateway API (HTTPRoute with the Service as parent) is the choice for a mesh that starts from it.",
			"The routes, in order, first match wins: beta testers (the ingress turns the groups claim into the jwt header, which productpage and reviews forward) get v3; a request with the cookie " + components.ABCookie + " gets v2 (an A/B test: the group is chosen, not drawn); everyone else is shared by workshop:reviewsWeights (a canary; 0/100 is blue/green) while workshop:reviewsMirror sends a copy of a share to another version, whose answers are dropped (shadow traffic: test a version with real requests, invisibly).",
			"Moving the canary is one setting: `scripts/pulumi config set workshop:reviewsWeights v1=50,v2=50 --stack step10`, and the preview shows the two weights change, nothing else.",
		},
		Practices: []string{
			"Shift traffic in small steps (1, 10, 50, 100 %) and watch the new version's error rate and latency between steps (stage 9's dashboards); roll back by setting the weights back.",
			"Mirror before you shift: shadow traffic exercises a version with real requests without anyone seeing its answers; make sure it has no side effects (writes, e-mails) or that they go to a sandbox.",
			"Route by something the caller cannot forge for a decision that matters: a claim verified at the ingress, not a raw header a client can set.",
			"Keep one VirtualService per host and name its routes: the order is the precedence, and `istioctl analyze` warns about conflicts.",
		},
		Commands: []Command{
			cmd("reviews' routes and subsets as applied", "", true, "kubectl", "get", "virtualservices.networking.istio.io,destinationrules.networking.istio.io", "reviews", "-n", names.BookinfoNamespace, "-o", "yaml"),
			cmd("the routes productpage's sidecar holds for reviews", config.Sidecar, true, "istioctl", "proxy-config", "routes", "deploy/productpage-v1", "-n", names.BookinfoNamespace, "--name", "9080", "-o", "json"),
			cmd("the routes the waypoint holds for reviews", config.Ambient, true, "istioctl", "proxy-config", "routes", "deploy/"+names.Waypoint, "-n", names.BookinfoNamespace, "-o", "json"),
			cmd("Istio's own checks of the routing", "", true, "istioctl", "analyze", "-n", names.BookinfoNamespace),
			cmd("twenty requests to reviews as productpage: which versions answer", "", false, "kubectl", "exec", "-n", names.BookinfoNamespace, "deploy/productpage-v1", "-c", "productpage", "--",
				"python3", "-c", "import urllib.request as u\nfor _ in range(20): print(u.urlopen('http://reviews:9080/reviews/0').read().decode().split('\"podname\": \"')[1].split('\"')[0])"),
			cmd("move the canary: the preview shows the two weights", "", false, "sh", "-c", "scripts/pulumi config set workshop:reviewsWeights v1=50,v2=50 --stack step10 && scripts/pulumi preview --diff --stack step10"),
		},
	},
})
