// Package mockstack runs a Pulumi program against Pulumi's mocks and records every resource it
// registers, answering for the workshop provider's resources the way the provider would. Fast
// unit tests of the resource graph use it; applying stacks is the end-to-end tests' job.
package mockstack

import (
	"encoding/json"
	"maps"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"
)

// Stack is what one run of the program registered.
type Stack struct {
	mu sync.Mutex
	// Resources maps "type name" to the resource's inputs.
	Resources map[string]resource.PropertyMap
	// DependsOn maps "type name" to the "type name" of every resource it waits for.
	DependsOn map[string][]string
	// DeletedWith maps "type name" to the "type name" of the resource whose deletion takes it.
	DeletedWith map[string]string
}

// Run runs program for stack with the given `workshop:*` settings (keys as the engine passes
// them, e.g. "workshop:stage").
func Run(t testing.TB, program pulumi.RunFunc, stack string, values map[string]string) (*Stack, error) {
	t.Helper()
	if _, set := values["workshop:chartSource"]; !set {
		// chartSource auto asks the chart repositories whether they answer: mocks never reach
		// the network, and the resource graph is the same from either source.
		values = maps.Clone(values)
		if values == nil {
			values = map[string]string{}
		}
		values["workshop:chartSource"] = "repo"
	}
	raw, err := json.Marshal(values)
	require.NoError(t, err)
	// The program reads its settings from the environment, as under the engine. They are set for
	// this run only, not for the test's lifetime (t.Setenv): end-to-end tests compute the mocks'
	// answer and then, side by side, start Pulumi CLIs, which must not inherit them.
	envMu.Lock()
	defer envMu.Unlock()
	old, had := os.LookupEnv(pulumi.EnvConfig)
	require.NoError(t, os.Setenv(pulumi.EnvConfig, string(raw)))
	defer func() {
		if had {
			_ = os.Setenv(pulumi.EnvConfig, old)
		} else {
			_ = os.Unsetenv(pulumi.EnvConfig)
		}
	}()
	s := &Stack{Resources: map[string]resource.PropertyMap{}, DependsOn: map[string][]string{}, DeletedWith: map[string]string{}}
	err = pulumi.RunErr(program, pulumi.WithMocks("istio-workshop", stack, s))
	return s, err
}

// envMu serializes the runs that set the program's settings in the process environment.
var envMu sync.Mutex

// NewResource records the resource and returns the outputs the workshop provider would.
func (s *Stack) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	s.mu.Lock()
	key := args.TypeToken + " " + args.Name
	s.Resources[key] = args.Inputs
	for _, urn := range args.RegisterRPC.GetDependencies() {
		s.DependsOn[key] = append(s.DependsOn[key], TypeAndName(urn))
	}
	if with := args.RegisterRPC.GetDeletedWith(); with != "" {
		s.DeletedWith[key] = TypeAndName(with)
	}
	s.mu.Unlock()
	out := args.Inputs.Copy()
	if answer, ok := ProviderOutputs[args.TypeToken]; ok {
		maps.Copy(out, answer(args.Name))
	}
	return args.Name + "-id", out, nil
}

// ProviderOutputs are the outputs the workshop provider adds to a resource's inputs, by type:
// what the program reads of them. The provider's own tests hold them to its schema (names and
// secrecy), so the mocks cannot drift from the real provider.
var ProviderOutputs = map[string]func(name string) resource.PropertyMap{
	"workshop:index:KindCluster":          clusterOutputs,
	"workshop:index:LocalControlPlane":    clusterOutputs,
	"workshop:index:MinikubeProfile":      clusterOutputs,
	"workshop:index:ExistingCluster":      clusterOutputs,
	"workshop:index:CertificateAuthority": keyPairOutputs,
	"workshop:index:ClientCertificate":    keyPairOutputs,
	"workshop:index:SigningKey": func(name string) resource.PropertyMap {
		return resource.PropertyMap{
			"privateKeyPem": resource.MakeSecret(resource.NewStringProperty("-----BEGIN PRIVATE KEY-----\n" + name + "\n-----END PRIVATE KEY-----\n")),
			"jwks":          resource.NewStringProperty(`{"keys":[{"kty":"RSA","kid":"` + name + `"}]}`),
		}
	},
	"workshop:index:Token": func(name string) resource.PropertyMap {
		return resource.PropertyMap{"token": resource.MakeSecret(resource.NewStringProperty("eyJ." + name + ".sig"))}
	},
	"workshop:index:ClusterCheck": func(string) resource.PropertyMap {
		return resource.PropertyMap{"defaultState": resource.NewBoolProperty(true), "nodes": resource.NewNumberProperty(2)}
	},
}

func clusterOutputs(name string) resource.PropertyMap {
	return resource.PropertyMap{
		"kubeconfig":  resource.MakeSecret(resource.NewStringProperty("apiVersion: v1\nkind: Config\n")),
		"contextName": resource.NewStringProperty("ctx-" + name),
	}
}

func keyPairOutputs(string) resource.PropertyMap {
	return resource.PropertyMap{
		"certPem": resource.NewStringProperty("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
		"keyPem":  resource.MakeSecret(resource.NewStringProperty("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")),
	}
}

// TypeAndName turns a URN (urn:pulumi:STACK::PROJECT::PARENT$TYPE::NAME) into "TYPE NAME", the
// key of Resources.
func TypeAndName(urn string) string {
	parts := strings.Split(urn, "::")
	if len(parts) < 4 {
		return urn
	}
	types := strings.Split(parts[2], "$")
	return types[len(types)-1] + " " + strings.Join(parts[3:], "::")
}

// Call answers invokes with their arguments.
func (s *Stack) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return args.Args, nil
}
