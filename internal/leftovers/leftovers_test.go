package leftovers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/istio-workshop/istio-workshop/internal/procs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFindReportsOurLeftoversOnly(t *testing.T) {
	cps := t.TempDir()
	running := filepath.Join(cps, "istio-workshop-step0")
	require.NoError(t, os.MkdirAll(running, 0o700))
	// A process whose command line names the control plane's directory, as its real ones do.
	proc := exec.Command("sh", "-c", "sleep 30", running)
	require.NoError(t, proc.Start())
	t.Cleanup(func() { _ = proc.Process.Kill(); _, _ = proc.Process.Wait() })
	state, _ := json.Marshal(map[string]any{"name": "istio-workshop-step0", "pids": map[string]int{"etcd": proc.Process.Pid}, "ports": map[string]int{"kube-apiserver": 1}})
	require.NoError(t, os.WriteFile(filepath.Join(running, "state.json"), state, 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(cps, "stopped"), 0o700))

	kc := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {}}]
contexts:
- {name: kind-istio-workshop-step4, context: {cluster: c, user: u}}
- {name: kind-my-cluster, context: {cluster: c, user: u}}
- {name: kind-someone-else, context: {cluster: c, user: u}}
- {name: production, context: {cluster: c, user: u}}
`), 0o600))

	f := Finder{ControlPlanes: cps, Kubeconfig: kc, KindClusters: func() ([]string, error) {
		return []string{"istio-workshop-step4", "someone-else", "my-cluster"}, nil
	}}
	var what []string
	for _, l := range f.Find(context.Background(), []string{"my-cluster"}) {
		what = append(what, l.What)
		assert.NotEmpty(t, l.Fix)
	}
	assert.Equal(t, []string{
		"kind cluster istio-workshop-step4",
		"kind cluster my-cluster",
		"kubeconfig context kind-istio-workshop-step4",
		"kubeconfig context kind-my-cluster",
		"local control plane istio-workshop-step0 is running (etcd on https://127.0.0.1:1)",
		"state of local control plane stopped in " + filepath.Join(cps, "stopped"),
	}, what, "not someone else's cluster or context")

	f.KindClusters = func() ([]string, error) { return nil, errors.New("docker: not running") }
	f.ControlPlanes, f.Kubeconfig = t.TempDir(), filepath.Join(t.TempDir(), "none")
	assert.Empty(t, f.Find(context.Background(), nil), "nothing to find")
}

func TestAProcessOfAWorkshopRunKilledOutrightIsReported(t *testing.T) {
	left := exec.Command("sleep", "60")
	left.Env = append(os.Environ(), procs.RunEnv+"=4194311:1") // a run that is gone: no such pid
	require.NoError(t, left.Start())
	t.Cleanup(func() { _ = left.Process.Kill(); _ = left.Wait() })
	f := Finder{ControlPlanes: t.TempDir(), Kubeconfig: filepath.Join(t.TempDir(), "none"), KindClusters: func() ([]string, error) { return nil, nil }}
	found := f.Find(context.Background(), nil)
	require.Len(t, found, 1)
	assert.Equal(t, fmt.Sprintf("workshop process pid %d: sleep 60", left.Process.Pid), found[0].What)
	assert.Equal(t, fmt.Sprintf("let the command that runs it finish, or `kill %d`", left.Process.Pid), found[0].Fix)
}
