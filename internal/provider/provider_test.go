package provider

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/istio-workshop/istio-workshop/internal/config"
)

func intPtr(i int) *int { return &i }

func TestKindClusterConfig(t *testing.T) {
	cfg := KindClusterArgs{Name: "istio-workshop-step4", Workers: intPtr(2), HTTPPort: 8080, HTTPSPort: 8443}.Config()
	require.Len(t, cfg.Nodes, 3, "one control plane and two workers")
	cp := cfg.Nodes[0]
	assert.Equal(t, v1alpha4.ControlPlaneRole, cp.Role)
	assert.Equal(t, "true", cp.Labels["ingress-ready"])
	assert.Equal(t, []v1alpha4.PortMapping{
		{ContainerPort: config.IngressNodePortHTTP, HostPort: 8080, Protocol: v1alpha4.PortMappingProtocolTCP, ListenAddress: "127.0.0.1"},
		{ContainerPort: config.IngressNodePortHTTPS, HostPort: 8443, Protocol: v1alpha4.PortMappingProtocolTCP, ListenAddress: "127.0.0.1"},
	}, cp.ExtraPortMappings)
	for _, n := range cfg.Nodes {
		assert.Equal(t, DefaultKindNodeImage, n.Image)
		assert.Contains(t, n.Image, "@sha256:", "the node image is pinned by digest")
	}
	assert.Equal(t, v1alpha4.WorkerRole, cfg.Nodes[1].Role)
	assert.Equal(t, "istio-workshop-step4", cfg.Name)

	img := "kindest/node:v1.34.0"
	assert.Equal(t, img, KindClusterArgs{Name: "x", NodeImage: &img, Workers: intPtr(0)}.Config().Nodes[0].Image)
}

// fakeKind stands in for kind's library where no Docker daemon runs.
type fakeKind struct{ clusters []string }

func (f *fakeKind) List() ([]string, error)                      { return f.clusters, nil }
func (f *fakeKind) Create(string, ...cluster.CreateOption) error { return errors.New("not in tests") }
func (f *fakeKind) Delete(string, string) error                  { return nil }
func (f *fakeKind) KubeConfig(string, bool) (string, error)      { return "", nil }

func server(t *testing.T) integration.Server {
	t.Helper()
	prov, err := New()
	require.NoError(t, err)
	s, err := integration.NewServer(context.Background(), Name, semver.MustParse(Version), integration.WithProvider(prov))
	require.NoError(t, err)
	return s
}

func check(t *testing.T, token string, inputs map[string]property.Value) p.CheckResponse {
	t.Helper()
	resp, err := server(t).Check(p.CheckRequest{
		Urn:    presource.NewURN("test", "istio-workshop", "", tokens.Type(token), "c"),
		Inputs: property.NewMap(inputs),
	})
	require.NoError(t, err)
	return resp
}

func reasons(resp p.CheckResponse) string {
	var out []string
	for _, f := range resp.Failures {
		out = append(out, f.Property+": "+f.Reason)
	}
	return strings.Join(out, "\n")
}

func kindInputs(name string, http, https int) map[string]property.Value {
	return map[string]property.Value{
		"name":      property.New(name),
		"httpPort":  property.New(float64(http)),
		"httpsPort": property.New(float64(https)),
	}
}

func withKind(t *testing.T, rt kindRuntime, err error) {
	t.Helper()
	old := newKindRuntime
	newKindRuntime = func() (kindRuntime, error) { return rt, err }
	oldRemove := removeKindNetwork
	removeKindNetwork = func(context.Context) { t.Error("kind's network removed while a test did not expect it") }
	t.Cleanup(func() { newKindRuntime, removeKindNetwork = old, oldRemove })
}

// The last kind cluster deleted takes kind's network with it; while another remains, it stays.
func TestKindDeleteRemovesTheNetworkWithTheLastCluster(t *testing.T) {
	for _, tc := range []struct {
		remaining []string
		removed   bool
	}{{nil, true}, {[]string{"someone-elses"}, false}} {
		withKind(t, &fakeKind{clusters: tc.remaining}, nil)
		removed := false
		removeKindNetwork = func(context.Context) { removed = true }
		_, err := KindCluster{}.Delete(context.Background(), infer.DeleteRequest[KindClusterState]{ID: "istio-workshop-step0"})
		require.NoError(t, err)
		assert.Equal(t, tc.removed, removed, "clusters left: %v", tc.remaining)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

func TestKindCheckPassesWithDockerAndFreePorts(t *testing.T) {
	withKind(t, &fakeKind{clusters: []string{"someone-elses"}}, nil)
	resp := check(t, "workshop:index:KindCluster", kindInputs("istio-workshop-step0", freePort(t), freePort(t)))
	assert.Empty(t, resp.Failures, reasons(resp))
}

func TestKindCheckRefusesWithoutDocker(t *testing.T) {
	// What newKindRuntime returns when kind's `docker ps` fails (CLI present, daemon down).
	withKind(t, nil, errors.New("kind found a container runtime CLI but it does not answer (is the Docker daemon running? start it, or set workshop:clusterProvider local)"))
	resp := check(t, "workshop:index:KindCluster", kindInputs("istio-workshop-step0", freePort(t), freePort(t)))
	require.Len(t, resp.Failures, 1)
	assert.Contains(t, resp.Failures[0].Reason, "Docker daemon running")
	assert.Contains(t, resp.Failures[0].Reason, "workshop:clusterProvider local")
}

func TestKindRuntimeDetectionWithoutDocker(t *testing.T) {
	if _, err := cluster.DetectNodeProvider(); err == nil {
		if _, err := cluster.NewProvider().List(); err == nil {
			t.Skip("a container runtime answers here: the no-Docker path cannot be observed")
		}
	}
	_, err := newKindRuntime()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "workshop:clusterProvider local")
}

func TestKindCheckRefusesABusyHostPort(t *testing.T) {
	withKind(t, &fakeKind{}, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	resp := check(t, "workshop:index:KindCluster", kindInputs("istio-workshop-step0", busy, freePort(t)))
	require.Len(t, resp.Failures, 1, reasons(resp))
	assert.Equal(t, "httpPort", resp.Failures[0].Property)
	assert.Contains(t, resp.Failures[0].Reason, "already in use")
	assert.Contains(t, resp.Failures[0].Reason, "workshop:httpPort")
}

func TestKindCheckRefusesAClusterItDoesNotOwn(t *testing.T) {
	withKind(t, &fakeKind{clusters: []string{"istio-workshop-step0"}}, nil)
	resp := check(t, "workshop:index:KindCluster", kindInputs("istio-workshop-step0", freePort(t), freePort(t)))
	require.Len(t, resp.Failures, 1, reasons(resp))
	assert.Contains(t, resp.Failures[0].Reason, "does not own it")
	assert.Contains(t, resp.Failures[0].Reason, "workshop:clusterName")
}

func TestKindCheckRefusesANameKindRejects(t *testing.T) {
	withKind(t, &fakeKind{}, nil)
	resp := check(t, "workshop:index:KindCluster", kindInputs("Bad_Name", freePort(t), freePort(t)))
	require.Len(t, resp.Failures, 1, reasons(resp))
	assert.Equal(t, "name", resp.Failures[0].Property)
	assert.Contains(t, resp.Failures[0].Reason, "kind refuses")
}

func TestLocalControlPlaneCheckNamesMissingBinaries(t *testing.T) {
	t.Setenv("WORKSHOP_TOOLS_BIN", t.TempDir())
	resp := check(t, "workshop:index:LocalControlPlane", map[string]property.Value{"name": property.New("w1")})
	require.Len(t, resp.Failures, 1, reasons(resp))
	assert.Contains(t, resp.Failures[0].Reason, "scripts/toolchain install local")
}

func TestExistingClusterCheckRefusesAClusterThatDoesNotAnswer(t *testing.T) {
	port := freePort(t) // nothing listens there
	kc := t.TempDir() + "/kubeconfig"
	require.NoError(t, writeFile(kc, "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:"+itoa(port)+"'}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user: {token: x}\ncurrent-context: c\n"))
	resp := check(t, "workshop:index:ExistingCluster", map[string]property.Value{"kubeconfigPath": property.New(kc)})
	require.Len(t, resp.Failures, 1, reasons(resp))
	assert.Contains(t, resp.Failures[0].Reason, "does not answer")

	resp = check(t, "workshop:index:ExistingCluster", map[string]property.Value{"kubeconfigPath": property.New(kc), "context": property.New("nope")})
	require.Len(t, resp.Failures, 1, reasons(resp))
	assert.Contains(t, resp.Failures[0].Reason, `no context "nope"`)
}

func TestClusterCheckProblems(t *testing.T) {
	clean := ClusterCheckState{Nodes: 2, ReadyNodes: 2, Namespaces: []string{"default", "kube-system", "kube-public", "kube-node-lease"}}
	assert.Empty(t, clean.problems())
	dirty := ClusterCheckState{Nodes: 2, ReadyNodes: 1, Namespaces: []string{"default", "istio-system"}, IstioAPIs: []string{"networking.istio.io"}}
	problems := strings.Join(dirty.problems(), "; ")
	assert.Contains(t, problems, "1 of 2 nodes are not Ready")
	assert.Contains(t, problems, "istio-system")
	assert.Contains(t, problems, "networking.istio.io")
	assert.Equal(t, []string{"it has no nodes"}, ClusterCheckState{}.problems())
}

func TestMeshModeGuardRefusesAnInPlaceSwitch(t *testing.T) {
	urn := presource.NewURN("test", "istio-workshop", "", tokens.Type("workshop:index:MeshModeGuard"), "mesh-mode")
	resp, err := server(t).Check(p.CheckRequest{Urn: urn,
		State:  property.NewMap(map[string]property.Value{"mode": property.New("ambient")}),
		Inputs: property.NewMap(map[string]property.Value{"mode": property.New("sidecar")}),
	})
	require.NoError(t, err)
	require.Len(t, resp.Failures, 1)
	assert.Contains(t, resp.Failures[0].Reason, "switching workshop:meshMode to sidecar in place is not supported")

	resp, err = server(t).Check(p.CheckRequest{Urn: urn,
		State:  property.NewMap(map[string]property.Value{"mode": property.New("ambient")}),
		Inputs: property.NewMap(map[string]property.Value{"mode": property.New("ambient")}),
	})
	require.NoError(t, err)
	assert.Empty(t, resp.Failures, "the same mode passes")

	resp, err = server(t).Check(p.CheckRequest{Urn: urn, Inputs: property.NewMap(map[string]property.Value{"mode": property.New("sidecar")})})
	require.NoError(t, err)
	assert.Empty(t, resp.Failures, "a new stack may choose either mode")
}
