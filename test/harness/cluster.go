package harness

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/istio-workshop/istio-workshop/infra/controlplane"
	"github.com/istio-workshop/istio-workshop/internal/paths"
)

// SharedControlPlane starts a local control plane for the test (nodes simulated) and stops it
// when the test ends. Stacks adopt it as clusterProvider existing, so several stacks can be
// applied to it one after the other and what they leave behind can be compared.
func SharedControlPlane(t testing.TB, name string, nodes int) *controlplane.ControlPlane {
	t.Helper()
	cp, err := controlplane.New(name, controlplane.WithNodes(nodes), controlplane.WithDir(filepath.Join(t.TempDir(), name)))
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(context.Background()); err != nil {
			t.Errorf("stopping %s: %v", name, err)
		}
	})
	return cp
}

// Kubectl runs the pinned kubectl against kubeconfig.
func Kubectl(t testing.TB, kubeconfig string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(paths.ToolsBin(), "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// KubectlApply applies the manifest with the pinned kubectl.
func KubectlApply(t testing.TB, kubeconfig, manifest string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(paths.ToolsBin(), "kubectl"), "--kubeconfig", kubeconfig, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

// snapshotKinds are what a stack could leave behind outside its namespaces.
const snapshotKinds = "namespaces,customresourcedefinitions,clusterroles,clusterrolebindings," +
	"validatingwebhookconfigurations,mutatingwebhookconfigurations,apiservices,priorityclasses,storageclasses,ingressclasses"

// Snapshot lists every namespace and cluster-scoped object a stack could leave behind.
func Snapshot(t testing.TB, kubeconfig string) []string {
	t.Helper()
	lines := strings.Fields(Kubectl(t, kubeconfig, "get", snapshotKinds, "-o", "name"))
	sort.Strings(lines)
	return lines
}

// ControlPlaneState is what a local control plane records in DIR/state.json: its ports and the
// pids of its processes.
type ControlPlaneState struct {
	Ports map[string]int `json:"ports"`
	PIDs  map[string]int `json:"pids"`
}

// ReadControlPlaneState reads DIR/state.json of a running local control plane.
func ReadControlPlaneState(t testing.TB, dir string) ControlPlaneState {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s ControlPlaneState
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return s
}
