package provider

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pulumi/pulumi-go-provider/infer"
)

// ClusterCheck is stage 0: it proves, once, that the cluster the workshop starts from is in its
// default state (every node Ready, only the default namespaces, no Istio API), and records what
// it saw. Creating it fails, naming what is off, if the cluster is not clean.
type ClusterCheck struct{}

type ClusterCheckArgs struct {
	Kubeconfig string `pulumi:"kubeconfig" provider:"secret"`
	Context    string `pulumi:"context,optional"`
}

type ClusterCheckState struct {
	ClusterCheckArgs
	Nodes         int      `pulumi:"nodes"`
	ReadyNodes    int      `pulumi:"readyNodes"`
	Namespaces    []string `pulumi:"namespaces"`
	IstioAPIs     []string `pulumi:"istioApis"`
	ServerVersion string   `pulumi:"serverVersion"`
	DefaultState  bool     `pulumi:"defaultState"`
}

// DefaultNamespaces are the namespaces a new cluster may have: Kubernetes' own, and kind's
// local-path storage.
var DefaultNamespaces = []string{"default", "kube-node-lease", "kube-public", "kube-system", "local-path-storage"}

func (ClusterCheck) Annotate(a infer.Annotator) {
	a.Describe(&ClusterCheck{}, "Checks once that the cluster is in its default state before the workshop changes it.")
}

func (ClusterCheck) WireDependencies(f infer.FieldSelector, args *ClusterCheckArgs, s *ClusterCheckState) {
	f.OutputField(&s.Kubeconfig).AlwaysSecret()
}

func (ClusterCheck) Create(ctx context.Context, req infer.CreateRequest[ClusterCheckArgs]) (infer.CreateResponse[ClusterCheckState], error) {
	state := ClusterCheckState{ClusterCheckArgs: req.Inputs}
	if req.DryRun {
		return infer.CreateResponse[ClusterCheckState]{ID: "default-state", Output: state}, nil
	}
	client, err := clientFor([]byte(req.Inputs.Kubeconfig), req.Inputs.Context)
	if err != nil {
		return infer.CreateResponse[ClusterCheckState]{}, err
	}
	if err := inspect(ctx, client, &state); err != nil {
		return infer.CreateResponse[ClusterCheckState]{}, err
	}
	if problems := state.problems(); len(problems) > 0 {
		return infer.CreateResponse[ClusterCheckState]{}, fmt.Errorf(
			"the cluster is not in its default state: %s; the workshop starts from a clean cluster: use a new one (another workshop:clusterName) or run the workshop's reset",
			strings.Join(problems, "; "))
	}
	state.DefaultState = true
	return infer.CreateResponse[ClusterCheckState]{ID: "default-state", Output: state}, nil
}

// Delete has nothing to remove: the check only read the cluster.
func (ClusterCheck) Delete(context.Context, infer.DeleteRequest[ClusterCheckState]) (infer.DeleteResponse, error) {
	return infer.DeleteResponse{}, nil
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func inspect(ctx context.Context, client kubernetes.Interface, s *ClusterCheckState) error {
	version, err := ping(ctx, client)
	if err != nil {
		return fmt.Errorf("the cluster does not answer: %w", err)
	}
	s.ServerVersion = version
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	s.Nodes = len(nodes.Items)
	for _, n := range nodes.Items {
		if nodeReady(n) {
			s.ReadyNodes++
		}
	}
	nss, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	s.Namespaces = []string{}
	for _, ns := range nss.Items {
		s.Namespaces = append(s.Namespaces, ns.Name)
	}
	sort.Strings(s.Namespaces)
	groups, err := client.Discovery().ServerGroups()
	if err != nil {
		return err
	}
	s.IstioAPIs = []string{}
	for _, g := range groups.Groups {
		if g.Name == "istio.io" || strings.HasSuffix(g.Name, ".istio.io") {
			s.IstioAPIs = append(s.IstioAPIs, g.Name)
		}
	}
	sort.Strings(s.IstioAPIs)
	return nil
}

func (s ClusterCheckState) problems() []string {
	var out []string
	if s.Nodes == 0 {
		out = append(out, "it has no nodes")
	} else if s.ReadyNodes < s.Nodes {
		out = append(out, fmt.Sprintf("%d of %d nodes are not Ready", s.Nodes-s.ReadyNodes, s.Nodes))
	}
	var extra []string
	for _, ns := range s.Namespaces {
		if !slices.Contains(DefaultNamespaces, ns) {
			extra = append(extra, ns)
		}
	}
	if len(extra) > 0 {
		out = append(out, "namespaces other than the defaults exist: "+strings.Join(extra, ", "))
	}
	if len(s.IstioAPIs) > 0 {
		out = append(out, "Istio APIs are installed: "+strings.Join(s.IstioAPIs, ", "))
	}
	return out
}

func currentContext(kubeconfig []byte) string {
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return ""
	}
	return cfg.CurrentContext
}
