package workshop

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/mockstack"
)

// run executes the program for a stack with the given `workshop:*` settings, against mocks.
func run(t *testing.T, stack string, values map[string]string) (*mockstack.Stack, error) {
	t.Helper()
	return mockstack.Run(t, Program, stack, values)
}

// stackConfig reads the `config:` of one of the project's stack files.
func stackConfig(t *testing.T, stack string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "stacks", "Pulumi."+stack+".yaml"))
	require.NoError(t, err)
	var file struct {
		Config map[string]string `json:"config"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &file))
	return file.Config
}

func TestEveryStackFileIsValid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "stacks", "Pulumi.*.yaml"))
	require.NoError(t, err)
	require.Len(t, files, 8, "one stack per stage 0-7")
	for _, f := range files {
		stack := filepath.Base(f)
		stack = stack[len("Pulumi.") : len(stack)-len(".yaml")]
		t.Run(stack, func(t *testing.T) {
			values := stackConfig(t, stack)
			assert.Equal(t, stack[len("step"):], values["workshop:stage"], "stepN sets stage N")
			assert.Len(t, values, 1, "a stack file sets its stage and nothing the defaults already say")
			raw, _ := json.Marshal(values)
			t.Setenv(pulumi.EnvConfig, string(raw))
			_, err := LoadConfig(stack)
			var errs config.Errors
			if err != nil {
				require.ErrorAs(t, err, &errs)
				assert.Equal(t, []string{"stage"}, errs.Keys())
				assert.Contains(t, err.Error(), "not available in this version yet")
			}
		})
	}
}

func TestAvailableStacksApply(t *testing.T) {
	for n := config.Stage(0); n <= config.AvailableUpTo(); n++ {
		stack := fmt.Sprintf("step%d", n)
		t.Run(stack, func(t *testing.T) {
			_, err := run(t, stack, stackConfig(t, stack))
			require.NoError(t, err)
		})
	}
}

func TestStep0MakesAKindClusterAndChecksIt(t *testing.T) {
	m, err := run(t, "step0", stackConfig(t, "step0"))
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
	require.NoError(t, os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\n"), 0o600))
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
			m, err := run(t, "dev", values)
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
	m, err := run(t, "dev", map[string]string{"workshop:stage": "9", "workshop:meshMode": "istio"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "workshop:stage")
	assert.Contains(t, err.Error(), "workshop:meshMode")
	assert.Empty(t, m.Resources, "validation fails before any resource is registered")
}
