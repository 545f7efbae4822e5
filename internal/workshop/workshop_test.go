package workshop

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/mockstack"
	"github.com/istio-workshop/istio-workshop/stages"
)

// run executes the program for a stack with the given `workshop:*` settings, against mocks.
func run(t *testing.T, stack string, values map[string]string) (*mockstack.Stack, error) {
	t.Helper()
	return mockstack.Run(t, Program, stack, values)
}

// A stack named after a stage needs no setting: its name is its stage.
func TestAvailableStacksApply(t *testing.T) {
	for n := config.Stage(0); n <= stages.Last(); n++ {
		stack := fmt.Sprintf("step%d", n)
		t.Run(stack, func(t *testing.T) {
			m, err := run(t, stack, nil)
			require.NoError(t, err)
			if n >= 1 {
				assert.Contains(t, m.Resources, "istio-workshop:components:Mesh mesh", "stage %d is applied, not stage 0", n)
			}
		})
	}
}

func TestStep0MakesAKindClusterAndChecksIt(t *testing.T) {
	m, err := run(t, "step0", nil)
	require.NoError(t, err)
	kind := m.Resources["workshop:index:KindCluster istio-workshop-step0"]
	require.NotNil(t, kind, "kind is the default cluster provider")
	assert.Equal(t, 80.0, kind["httpPort"].NumberValue())
	assert.Equal(t, 443.0, kind["httpsPort"].NumberValue())
	assert.Contains(t, m.Resources, "pulumi:providers:kubernetes istio-workshop-step0")
	check := m.Resources["workshop:index:ClusterCheck clean-cluster"]
	require.NotNil(t, check)
	assert.True(t, check["kubeconfig"].ContainsSecrets(), "the kubeconfig reaches the check as a secret")
}

func TestClusterProviders(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\ncontexts: [{name: ctx, context: {cluster: c, user: u}}]\ncurrent-context: ctx\n"), 0o600))
	for provider, token := range map[string]string{
		"kind":     "workshop:index:KindCluster",
		"minikube": "workshop:index:MinikubeProfile",
		"local":    "workshop:index:LocalControlPlane",
		"existing": "workshop:index:ExistingCluster",
	} {
		t.Run(provider, func(t *testing.T) {
			values := map[string]string{"workshop:clusterProvider": provider, "workshop:clusterName": "w1"}
			if provider == "existing" {
				values["workshop:kubeconfig"] = kc
			}
			m, err := run(t, "step0", values)
			require.NoError(t, err)
			assert.Contains(t, m.Resources, token+" w1")
			n := 0
			for k := range m.Resources {
				if len(k) > len("workshop:index:") && k[:len("workshop:index:")] == "workshop:index:" && k != "workshop:index:ClusterCheck clean-cluster" {
					n++
				}
			}
			assert.Equal(t, 1, n, "exactly one cluster resource")
		})
	}
}

func TestBadConfigRegistersNothing(t *testing.T) {
	m, err := run(t, "dev", map[string]string{"workshop:stage": strconv.Itoa(int(stages.Last()) + 1), "workshop:meshMode": "istio"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "workshop:stage")
	assert.Contains(t, err.Error(), "workshop:meshMode")
	assert.Empty(t, m.Resources, "validation fails before any resource is registered")
}
