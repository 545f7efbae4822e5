package workshop

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/internal/config"
)

// mocks records every registered resource and answers like the workshop provider would.
type mocks struct {
	mu        sync.Mutex
	resources map[string]resource.PropertyMap // "type name" -> inputs
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	m.resources[args.TypeToken+" "+args.Name] = args.Inputs
	m.mu.Unlock()
	out := args.Inputs.Copy()
	switch args.TypeToken {
	case "workshop:index:KindCluster", "workshop:index:LocalControlPlane", "workshop:index:MinikubeProfile", "workshop:index:ExistingCluster":
		out["kubeconfig"] = resource.MakeSecret(resource.NewStringProperty("apiVersion: v1\nkind: Config\n"))
		out["contextName"] = resource.NewStringProperty("ctx-" + args.Name)
	case "workshop:index:CertificateAuthority", "workshop:index:ClientCertificate":
		out["certPem"] = resource.NewStringProperty("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
		out["keyPem"] = resource.MakeSecret(resource.NewStringProperty("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"))
	case "workshop:index:SigningKey":
		out["privateKeyPem"] = resource.MakeSecret(resource.NewStringProperty("-----BEGIN PRIVATE KEY-----\n" + args.Name + "\n-----END PRIVATE KEY-----\n"))
		out["jwks"] = resource.NewStringProperty(`{"keys":[{"kty":"RSA","kid":"` + args.Name + `"}]}`)
	case "workshop:index:Token":
		out["token"] = resource.MakeSecret(resource.NewStringProperty("eyJ." + args.Name + ".sig"))
	case "workshop:index:ClusterCheck":
		out["defaultState"] = resource.NewBoolProperty(true)
		out["nodes"] = resource.NewNumberProperty(2)
	}
	return args.Name + "-id", out, nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}

// run executes the program for a stack with the given `workshop:*` settings.
func run(t *testing.T, stack string, values map[string]string) (*mocks, error) {
	t.Helper()
	raw, err := json.Marshal(values)
	require.NoError(t, err)
	t.Setenv(pulumi.EnvConfig, string(raw))
	m := &mocks{resources: map[string]resource.PropertyMap{}}
	err = pulumi.RunErr(Program, pulumi.WithMocks("istio-workshop", stack, m))
	return m, err
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
	kind := m.resources["workshop:index:KindCluster istio-workshop-step0"]
	require.NotNil(t, kind, "kind is the default cluster provider")
	assert.Equal(t, 80.0, kind["httpPort"].NumberValue())
	assert.Equal(t, 443.0, kind["httpsPort"].NumberValue())
	assert.Contains(t, m.resources, "pulumi:providers:kubernetes istio-workshop-step0")
	check := m.resources["workshop:index:ClusterCheck clean-cluster"]
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
			assert.Contains(t, m.resources, token+" w1")
			n := 0
			for k := range m.resources {
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
	assert.Empty(t, m.resources, "validation fails before any resource is registered")
}
