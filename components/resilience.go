package components

import (
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networkingapi "istio.io/api/networking/v1"
	networking "istio.io/client-go/pkg/apis/networking/v1"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
)

// RetryOn are the failures a retry follows: a refused or reset connection, a stream refused, an
// upstream 502/503/504, where the request most likely never reached a healthy application (an
// application's own 500 is not retried: it may have acted).
const RetryOn = "gateway-error,connect-failure,refused-stream"

// AbortStatus is what the injected abort answers.
const AbortStatus = 503

// WithTimeouts gives each route the stage's timeout and retries (each try bounded by the per-try
// timeout); routes are copied, not changed.
func WithTimeouts(routes []*networkingapi.HTTPRoute, r config.Resilience) []*networkingapi.HTTPRoute {
	out := make([]*networkingapi.HTTPRoute, 0, len(routes))
	for _, route := range routes {
		route = proto.Clone(route).(*networkingapi.HTTPRoute)
		if r.Timeout > 0 {
			route.Timeout = durationpb.New(r.Timeout)
		}
		if r.Retries > 0 {
			route.Retries = &networkingapi.HTTPRetry{Attempts: int32(r.Retries), PerTryTimeout: durationpb.New(r.PerTryTimeout()), RetryOn: RetryOn}
		}
		out = append(out, route)
	}
	return out
}

// CircuitBreaker is reviews' traffic policy: at most one connection and one pending request
// (Istio's circuit-breaking task's limits: a burst of two overflows, which a participant sees),
// and a pod that answers 5xx three times in a row ejected for 30 s, never more than half of them.
func CircuitBreaker() *networkingapi.TrafficPolicy {
	return &networkingapi.TrafficPolicy{
		ConnectionPool: &networkingapi.ConnectionPoolSettings{
			Tcp:  &networkingapi.ConnectionPoolSettings_TCPSettings{MaxConnections: 1},
			Http: &networkingapi.ConnectionPoolSettings_HTTPSettings{Http1MaxPendingRequests: 1, MaxRequestsPerConnection: 1},
		},
		OutlierDetection: &networkingapi.OutlierDetection{
			Consecutive_5XxErrors: wrapperspb.UInt32(3),
			Interval:              durationpb.New(10 * time.Second),
			BaseEjectionTime:      durationpb.New(30 * time.Second),
			MaxEjectionPercent:    50,
		},
	}
}

// Faults are stage 11's injected faults, for beta testers only (the header the ingress sets from
// their groups claim, which every Bookinfo service forwards): their calls to ratings wait
// FaultDelay, their calls to details are aborted. Everyone else's go straight through.
func Faults(r config.Resilience) []*networking.VirtualService {
	beta := []*networkingapi.HTTPMatchRequest{{Headers: map[string]*networkingapi.StringMatch{
		BetaHeader: {MatchType: &networkingapi.StringMatch_Exact{Exact: BetaValue}},
	}}}
	to := func(host string) []*networkingapi.HTTPRouteDestination {
		return []*networkingapi.HTTPRouteDestination{{Destination: &networkingapi.Destination{Host: host}}}
	}
	service := func(host string, fault *networkingapi.HTTPFaultInjection) *networking.VirtualService {
		return &networking.VirtualService{
			TypeMeta:   k8smeta.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "VirtualService"},
			ObjectMeta: k8smeta.ObjectMeta{Name: host, Namespace: names.BookinfoNamespace},
			Spec: networkingapi.VirtualService{Hosts: []string{host}, Http: []*networkingapi.HTTPRoute{
				{Name: "beta-testers-fault", Match: beta, Fault: fault, Route: to(host)},
				{Name: "everyone-else", Route: to(host)},
			}},
		}
	}
	all := &networkingapi.Percent{Value: 100}
	return []*networking.VirtualService{
		service("ratings", &networkingapi.HTTPFaultInjection{Delay: &networkingapi.HTTPFaultInjection_Delay{
			HttpDelayType: &networkingapi.HTTPFaultInjection_Delay_FixedDelay{FixedDelay: durationpb.New(r.FaultDelay)}, Percentage: all}}),
		service("details", &networkingapi.HTTPFaultInjection{Abort: &networkingapi.HTTPFaultInjection_Abort{
			ErrorType: &networkingapi.HTTPFaultInjection_Abort_HttpStatus{HttpStatus: AbortStatus}, Percentage: all}}),
	}
}

// Resilience is stage 11's own objects: the faults that show why callers need timeouts (reviews'
// timeouts, retries and circuit breaker are stage 5's routing, changed through the plan).
type Resilience struct {
	pulumi.ResourceState
}

// NewResilience applies the faults, if the stage's settings inject them.
func NewResilience(ctx *pulumi.Context, name string, cfg config.Config, mesh *Mesh, after []pulumi.Resource, opts ...pulumi.ResourceOption) (*Resilience, error) {
	r := &Resilience{}
	if err := ctx.RegisterComponentResource("istio-workshop:components:Resilience", name, r, opts...); err != nil {
		return nil, err
	}
	if cfg.Resilience.FaultInjection {
		for _, vs := range Faults(cfg.Resilience) {
			if _, err := customResource(ctx, vs, pulumi.Parent(r), pulumi.DependsOn(append(after, mesh.Istio...))); err != nil {
				return nil, err
			}
		}
	}
	return r, ctx.RegisterResourceOutputs(r, pulumi.Map{})
}
