// Package leftovers finds what the workshop may leave on a machine after its stacks are gone:
// local control planes (their processes, ports and state), kind clusters, kubeconfig contexts
// and processes of workshop runs. It only reports; removing is the stacks' job (a cluster we cannot prove is
// ours is never touched).
package leftovers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"

	"github.com/istio-workshop/istio-workshop/infra/controlplane"
	"github.com/istio-workshop/istio-workshop/internal/paths"
	"github.com/istio-workshop/istio-workshop/internal/procs"
)

// Prefix starts every cluster name the workshop derives from a stack name.
const Prefix = "istio-workshop-"

// Leftover is one thing left behind, and how to remove it.
type Leftover struct {
	What string
	Fix  string
}

// Finder looks in one place; Find runs them all.
type Finder struct {
	// ControlPlanes is the directory of local control planes (paths.ControlPlanes()).
	ControlPlanes string
	// Kubeconfig is the kubeconfig file(s) to read contexts from (KUBECONFIG rules when empty).
	Kubeconfig string
	// KindClusters lists kind clusters (nil: kind's library, when a container runtime answers).
	KindClusters func() ([]string, error)
}

// Find looks for leftovers of the clusters named names (and of any name with Prefix).
func Find(ctx context.Context, names []string) []Leftover {
	return Finder{ControlPlanes: paths.ControlPlanes()}.Find(ctx, names)
}

// Find looks for leftovers of the clusters named names (and of any name with Prefix).
func (f Finder) Find(ctx context.Context, names []string) []Leftover {
	ours := func(name string) bool { return strings.HasPrefix(name, Prefix) || slices.Contains(names, name) }
	var out []Leftover

	entries, _ := os.ReadDir(f.ControlPlanes)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(f.ControlPlanes, e.Name())
		cp, err := controlplane.New(e.Name(), controlplane.WithDir(dir))
		if err != nil {
			continue
		}
		st, _ := cp.Status(ctx)
		if len(st.Running) > 0 {
			out = append(out, Leftover{fmt.Sprintf("local control plane %s is running (%s on %s)", e.Name(), strings.Join(st.Running, ", "), st.Server),
				"workshop-local stop " + e.Name()})
		} else {
			out = append(out, Leftover{"state of local control plane " + e.Name() + " in " + dir, "workshop-local stop " + e.Name()})
		}
	}

	list := f.KindClusters
	if list == nil {
		list = func() ([]string, error) {
			p := kindcluster.NewProvider()
			return p.List()
		}
	}
	if clusters, err := list(); err == nil {
		for _, c := range clusters {
			if ours(c) {
				out = append(out, Leftover{"kind cluster " + c, "kind delete cluster --name " + c})
			}
		}
	}

	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if f.Kubeconfig != "" {
		rules.ExplicitPath = f.Kubeconfig
	}
	if kc, err := rules.Load(); err == nil {
		for name := range kc.Contexts {
			for _, prefix := range []string{"kind-", "local-"} {
				if rest, ok := strings.CutPrefix(name, prefix); ok && ours(rest) {
					out = append(out, Leftover{"kubeconfig context " + name, "kubectl config delete-context " + name})
				}
			}
		}
	}
	// Processes of workshop runs: left by one killed outright, or of a command still running
	// elsewhere (this run's own engine is ended as the command exits).
	for _, pid := range append(procs.Orphans(), procs.OfOtherLiveRuns()...) {
		out = append(out, Leftover{"workshop process " + procs.Describe(pid), fmt.Sprintf("let the command that runs it finish, or `kill %d`", pid)})
	}
	slices.SortFunc(out, func(a, b Leftover) int { return strings.Compare(a.What, b.What) })
	return out
}
