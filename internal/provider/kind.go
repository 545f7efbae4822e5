package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/istio-workshop/istio-workshop/internal/config"
)

// ingressListenAddress keeps the workshop's ingress off the venue network: kind would otherwise
// publish the host ports on every interface.
const ingressListenAddress = "127.0.0.1"

// DefaultKindNodeImage is the node image the pinned kind release was built and tested with,
// pinned by digest.
const DefaultKindNodeImage = defaults.Image

// kind's own rule for cluster names (its validation package is internal).
var kindName = regexp.MustCompile(`^[a-z0-9.-]+$`)

// KindCluster is a kind cluster made with kind's Go library.
type KindCluster struct{}

type KindClusterArgs struct {
	Name      string  `pulumi:"name"`
	NodeImage *string `pulumi:"nodeImage,optional"`
	Workers   *int    `pulumi:"workers,optional"`
	HTTPPort  int     `pulumi:"httpPort"`
	HTTPSPort int     `pulumi:"httpsPort"`
}

type KindClusterState struct {
	KindClusterArgs
	ClusterState
}

func (KindCluster) Annotate(a infer.Annotator) {
	a.Describe(&KindCluster{}, "A kind cluster whose control-plane node maps the ingress gateway's host ports.")
}

func (KindCluster) WireDependencies(f infer.FieldSelector, _ *KindClusterArgs, s *KindClusterState) {
	f.OutputField(&s.Kubeconfig).AlwaysSecret()
}

// Config is the kind cluster configuration Create uses: one control-plane node that maps the
// host ports onto the ingress gateway's NodePorts (and carries kind's ingress-ready label), plus
// the workers.
func (a KindClusterArgs) Config() *v1alpha4.Cluster {
	image := DefaultKindNodeImage
	if a.NodeImage != nil && *a.NodeImage != "" {
		image = *a.NodeImage
	}
	cfg := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Name:     a.Name,
		Nodes: []v1alpha4.Node{{
			Role:   v1alpha4.ControlPlaneRole,
			Image:  image,
			Labels: map[string]string{"ingress-ready": "true"},
			ExtraPortMappings: []v1alpha4.PortMapping{
				{ContainerPort: config.IngressNodePortHTTP, HostPort: int32(a.HTTPPort), ListenAddress: ingressListenAddress, Protocol: v1alpha4.PortMappingProtocolTCP},
				{ContainerPort: config.IngressNodePortHTTPS, HostPort: int32(a.HTTPSPort), ListenAddress: ingressListenAddress, Protocol: v1alpha4.PortMappingProtocolTCP},
			},
		}},
	}
	workers := 1
	if a.Workers != nil {
		workers = *a.Workers
	}
	for range workers {
		cfg.Nodes = append(cfg.Nodes, v1alpha4.Node{Role: v1alpha4.WorkerRole, Image: image})
	}
	v1alpha4.SetDefaultsCluster(cfg)
	return cfg
}

// kindRuntime is the part of kind's library the resource uses; tests replace it.
type kindRuntime interface {
	List() ([]string, error)
	Create(name string, opts ...cluster.CreateOption) error
	Delete(name, kubeconfigPath string) error
	KubeConfig(name string, internal bool) (string, error)
}

// newKindRuntime finds a usable container runtime. kind's detection only runs `docker -v`, so a
// docker CLI without a daemon passes it: List (a `docker ps`, ~40 ms) proves the daemon answers.
var newKindRuntime = func() (kindRuntime, error) {
	opt, err := cluster.DetectNodeProvider()
	if err != nil {
		return nil, errors.New("kind needs Docker (or Podman/nerdctl) and none was found: install and start Docker, or set workshop:clusterProvider local to run without it")
	}
	prov := cluster.NewProvider(opt)
	if _, err := prov.List(); err != nil {
		return nil, fmt.Errorf("kind found a container runtime CLI but it does not answer (is the Docker daemon running? start it, or set workshop:clusterProvider local): %w", err)
	}
	return prov, nil
}

// portInUse is true when something accepts connections on the host port.
var portInUse = func(port int) bool {
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 300*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// Check refuses, before anything changes: a name kind rejects, no usable Docker, a host port in
// use, and a kind cluster of that name that this stack does not own.
func (KindCluster) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[KindClusterArgs], error) {
	args, failures, err := infer.DefaultCheck[KindClusterArgs](ctx, req.NewInputs)
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[KindClusterArgs]{Inputs: args, Failures: failures}, err
	}
	fail := func(prop, reason string) { failures = append(failures, p.CheckFailure{Property: prop, Reason: reason}) }
	if !kindName.MatchString(args.Name) {
		fail("name", fmt.Sprintf("kind refuses the cluster name %q (it must match %s): set workshop:clusterName", args.Name, kindName))
	}
	creating := req.OldInputs.Len() == 0
	if creating {
		for _, hp := range []struct {
			key  string
			port int
		}{{"httpPort", args.HTTPPort}, {"httpsPort", args.HTTPSPort}} {
			if portInUse(hp.port) {
				fail(hp.key, fmt.Sprintf("host port %d is already in use: free it, or set workshop:%s to another port (for example %d)", hp.port, hp.key, hp.port+8000))
			}
		}
	}
	rt, err := newKindRuntime()
	if err != nil {
		fail("", err.Error())
		return infer.CheckResponse[KindClusterArgs]{Inputs: args, Failures: failures}, nil
	}
	if creating {
		names, err := rt.List()
		if err == nil && slices.Contains(names, args.Name) {
			fail("name", fmt.Sprintf("a kind cluster named %s already exists and this stack does not own it: delete it (kind delete cluster --name %s) or set workshop:clusterName to another name", args.Name, args.Name))
		}
	}
	return infer.CheckResponse[KindClusterArgs]{Inputs: args, Failures: failures}, nil
}

// Create makes the cluster. kind deletes the nodes of a failed create itself; the kubeconfig goes
// to a scratch file, never into the user's ~/.kube/config.
func (KindCluster) Create(ctx context.Context, req infer.CreateRequest[KindClusterArgs]) (infer.CreateResponse[KindClusterState], error) {
	state := KindClusterState{KindClusterArgs: req.Inputs, ClusterState: ClusterState{ContextName: "kind-" + req.Inputs.Name}}
	if req.DryRun {
		return infer.CreateResponse[KindClusterState]{ID: req.Inputs.Name, Output: state}, nil
	}
	rt, err := newKindRuntime()
	if err != nil {
		return infer.CreateResponse[KindClusterState]{}, err
	}
	err = withScratchKubeconfig(func(path string) error {
		return rt.Create(req.Inputs.Name,
			cluster.CreateWithV1Alpha4Config(req.Inputs.Config()),
			cluster.CreateWithKubeconfigPath(path),
			cluster.CreateWithWaitForReady(3*time.Minute),
			cluster.CreateWithDisplayUsage(false),
			cluster.CreateWithDisplaySalutation(false))
	})
	if err != nil {
		return infer.CreateResponse[KindClusterState]{}, fmt.Errorf("creating kind cluster %s: %w", req.Inputs.Name, err)
	}
	kc, err := rt.KubeConfig(req.Inputs.Name, false)
	if err != nil {
		return infer.CreateResponse[KindClusterState]{ID: req.Inputs.Name, Output: state}, infer.ResourceInitFailedError{Reasons: []string{err.Error()}}
	}
	state.Kubeconfig = kc
	// kind waits for the control plane only: a worker can still be joining, and stage 0's check
	// (every node Ready) would fail a create that was only early.
	if err := waitNodesReady(ctx, kc, len(req.Inputs.Config().Nodes), 3*time.Minute); err != nil {
		return infer.CreateResponse[KindClusterState]{ID: req.Inputs.Name, Output: state}, infer.ResourceInitFailedError{Reasons: []string{err.Error()}}
	}
	return infer.CreateResponse[KindClusterState]{ID: req.Inputs.Name, Output: state}, nil
}

// waitNodesReady polls the cluster until want nodes are registered and Ready.
func waitNodesReady(ctx context.Context, kubeconfig string, want int, timeout time.Duration) error {
	client, err := clientFor([]byte(kubeconfig), "")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var notReady []string
	for {
		notReady = notReady[:0]
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, n := range nodes.Items {
				if !nodeReady(n) {
					notReady = append(notReady, n.Name)
				}
			}
			if len(nodes.Items) >= want && len(notReady) == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kind made the cluster but its nodes are not all Ready after %s (not Ready: %v): see `docker exec NODE journalctl -u kubelet`", timeout, notReady)
		case <-time.After(time.Second):
		}
	}
}

// Read notices a cluster deleted behind Pulumi's back: refresh then drops it.
func (KindCluster) Read(ctx context.Context, req infer.ReadRequest[KindClusterArgs, KindClusterState]) (infer.ReadResponse[KindClusterArgs, KindClusterState], error) {
	rt, err := newKindRuntime()
	if err != nil {
		return infer.ReadResponse[KindClusterArgs, KindClusterState]{}, err
	}
	names, err := rt.List()
	if err != nil {
		return infer.ReadResponse[KindClusterArgs, KindClusterState]{}, err
	}
	if !slices.Contains(names, req.ID) {
		return infer.ReadResponse[KindClusterArgs, KindClusterState]{}, nil
	}
	state := req.State
	if kc, err := rt.KubeConfig(req.ID, false); err == nil {
		state.Kubeconfig = kc
	}
	return infer.ReadResponse[KindClusterArgs, KindClusterState]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

func (KindCluster) Delete(ctx context.Context, req infer.DeleteRequest[KindClusterState]) (infer.DeleteResponse, error) {
	rt, err := newKindRuntime()
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	if err := withScratchKubeconfig(func(path string) error { return rt.Delete(req.ID, path) }); err != nil {
		return infer.DeleteResponse{}, err
	}
	// kind makes its network with the first cluster and never removes it; the last cluster gone,
	// remove it too, so destroy leaves nothing. Docker refuses while anything else is attached.
	if names, err := rt.List(); err == nil && len(names) == 0 {
		removeKindNetwork(ctx)
	}
	return infer.DeleteResponse{}, nil
}

// kindNetwork is the Docker network kind puts every cluster's nodes on.
const kindNetwork = "kind"

// removeKindNetwork removes kind's network if Docker holds one and nothing uses it (best effort:
// a network still in use, or another container runtime, is left alone).
var removeKindNetwork = func(ctx context.Context) {
	if os.Getenv("KIND_EXPERIMENTAL_PROVIDER") != "" && os.Getenv("KIND_EXPERIMENTAL_PROVIDER") != "docker" {
		return
	}
	_ = exec.CommandContext(ctx, "docker", "network", "rm", kindNetwork).Run()
}

// withScratchKubeconfig gives kind a kubeconfig path of its own: without an explicit path it
// edits $KUBECONFIG or ~/.kube/config.
func withScratchKubeconfig(fn func(path string) error) error {
	dir, err := os.MkdirTemp("", "workshop-kind-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	return fn(filepath.Join(dir, "kubeconfig"))
}
