package components

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingapi "istio.io/api/networking/v1"
	networking "istio.io/client-go/pkg/apis/networking/v1"
	security "istio.io/client-go/pkg/apis/security/v1"
	netv1 "k8s.io/api/networking/v1"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
)

func stageConfig(t *testing.T, stage string, mode config.MeshMode, extra ...string) config.Config {
	t.Helper()
	values := map[string]string{"workshop:stage": stage, "workshop:meshMode": string(mode)}
	for i := 0; i+1 < len(extra); i += 2 {
		values["workshop:"+extra[i]] = extra[i+1]
	}
	cfg, err := config.Load("test", values, config.Rules{Last: 99})
	require.NoError(t, err)
	return cfg
}

// byKind indexes objects by "Kind namespace/name".
func byKind[T interface{ GetName() string }](objs []T, key func(T) string) map[string]T {
	m := map[string]T{}
	for _, o := range objs {
		m[key(o)] = o
	}
	return m
}

func TestEgressSidecarRoutesRegisteredHostsThroughTheGateway(t *testing.T) {
	cfg := stageConfig(t, "6", config.Sidecar, "egressHosts", "httpbin.org,api.github.com")
	var entries []*networking.ServiceEntry
	var routes []*networking.VirtualService
	var sidecar *networking.Sidecar
	var gateway *networking.Gateway
	for _, o := range EgressObjects(cfg) {
		switch o := o.(type) {
		case *networking.ServiceEntry:
			entries = append(entries, o)
		case *networking.VirtualService:
			routes = append(routes, o)
		case *networking.Sidecar:
			sidecar = o
		case *networking.Gateway:
			gateway = o
		case *security.AuthorizationPolicy:
			t.Errorf("sidecar mode puts no policy on the egress gateway: %s", o.Name)
		}
	}
	require.NotNil(t, sidecar, "REGISTRY_ONLY mesh-wide")
	assert.Equal(t, names.IstioNamespace, sidecar.Namespace, "the root namespace: a mesh-wide default")
	assert.Nil(t, sidecar.Spec.WorkloadSelector)
	assert.Equal(t, networkingapi.OutboundTrafficPolicy_REGISTRY_ONLY, sidecar.Spec.OutboundTrafficPolicy.Mode)

	require.Len(t, entries, 2)
	for i, host := range []string{"httpbin.org", "api.github.com"} {
		se := entries[i]
		assert.Equal(t, []string{host}, se.Spec.Hosts)
		assert.Equal(t, networkingapi.ServiceEntry_MESH_EXTERNAL, se.Spec.Location)
		assert.Equal(t, networkingapi.ServiceEntry_DNS, se.Spec.Resolution)
		require.Len(t, se.Spec.Ports, 1)
		assert.Equal(t, uint32(443), se.Spec.Ports[0].Number)
		assert.Equal(t, "TLS", se.Spec.Ports[0].Protocol)
		assert.Empty(t, se.Labels, "no waypoint in sidecar mode")

		vs := routes[i]
		assert.Equal(t, []string{host}, vs.Spec.Hosts)
		assert.Equal(t, []string{"mesh", names.EgressGatewayName}, vs.Spec.Gateways)
		require.Len(t, vs.Spec.Tls, 2)
		toGateway, toHost := vs.Spec.Tls[0], vs.Spec.Tls[1]
		assert.Equal(t, []string{"mesh"}, toGateway.Match[0].Gateways)
		assert.Equal(t, []string{host}, toGateway.Match[0].SniHosts)
		assert.Equal(t, "egress-gateway.istio-egress.svc.cluster.local", toGateway.Route[0].Destination.Host, "sidecars send it to the egress gateway")
		assert.Equal(t, []string{names.EgressGatewayName}, toHost.Match[0].Gateways)
		assert.Equal(t, host, toHost.Route[0].Destination.Host, "the egress gateway sends it on to the host")
	}
	require.NotNil(t, gateway)
	assert.Equal(t, map[string]string{"istio": "egressgateway"}, gateway.Spec.Selector)
	require.Len(t, gateway.Spec.Servers, 1)
	assert.Equal(t, networkingapi.ServerTLSSettings_PASSTHROUGH, gateway.Spec.Servers[0].Tls.Mode, "the workload's TLS reaches the host unopened")
	assert.Equal(t, []string{"httpbin.org", "api.github.com"}, gateway.Spec.Servers[0].Hosts)
}

func TestEgressAmbientUsesAWaypointAndClosesTheBypass(t *testing.T) {
	cfg := stageConfig(t, "6", config.Ambient)
	var policy *security.AuthorizationPolicy
	entries := 0
	for _, o := range EgressObjects(cfg) {
		switch o := o.(type) {
		case *networking.ServiceEntry:
			entries++
			assert.Equal(t, names.EgressGatewayName, o.Labels["istio.io/use-waypoint"], "ztunnel sends the host's connections to the egress waypoint")
			assert.Equal(t, names.EgressNamespace, o.Namespace, "beside the waypoint")
		case *security.AuthorizationPolicy:
			policy = o
		case *networking.Sidecar, *networking.VirtualService, *networking.Gateway:
			t.Errorf("ambient mode needs no %T: ztunnel ignores Sidecar, the waypoint needs no routes", o)
		}
	}
	assert.Equal(t, 1, entries)
	require.NotNil(t, policy)
	assert.Equal(t, "Gateway", policy.Spec.TargetRefs[0].Kind)
	assert.Equal(t, names.EgressGatewayName, policy.Spec.TargetRefs[0].Name)
	assert.Equal(t, []string{names.BookinfoNamespace, names.EgressClientNamespace}, policy.Spec.Rules[0].From[0].Source.Namespaces)
	wp := waypointGateway(names.EgressGatewayName, names.EgressNamespace)
	assert.Equal(t, "istio-waypoint", string(wp.Spec.GatewayClassName))
	assert.Equal(t, "service", wp.Labels["istio.io/waypoint-for"], "ServiceEntries are services")

	policies := byKind(EgressThroughTheMesh(cfg), func(p *netv1.NetworkPolicy) string { return p.Namespace + "/" + p.Name })
	require.Len(t, policies, 2, "one per workload namespace")
	demo := policies[names.EgressClientNamespace+"/"+EgressPolicyName]
	require.NotNil(t, demo)
	assert.Equal(t, []netv1.PolicyType{netv1.PolicyTypeEgress}, demo.Spec.PolicyTypes)
	assert.Equal(t, []string{"kube-dns:UDP/53,TCP/53", "istiod:TCP/15012", "egress-gateway:TCP/15008"}, egressSummary(demo),
		"DNS, istiod, and HBONE to the egress waypoint: nothing leaves the cluster any other way")
	assert.Equal(t, []string{"kube-dns:UDP/53,TCP/53", "istiod:TCP/15012", "own namespace:TCP/15008"},
		egressSummary(policies[names.BookinfoNamespace+"/"+EgressPolicyName]))
}
