// Package provider is the workshop's own Pulumi provider plugin: clusters (kind, minikube, the
// local control plane) as resources with a real create, read and delete, plus the checks that
// must hold before the workshop changes anything (an existing cluster answers, the cluster is in
// its default state).
package provider

import (
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// Name and Version identify the plugin; the program's infra package ships a matching
// pulumi-plugin.json so the engine loads this plugin before the program runs.
const (
	Name    = "workshop"
	Version = "0.1.0"
)

// New builds the provider.
func New() (p.Provider, error) {
	return infer.NewProviderBuilder().
		WithDisplayName("istio-workshop").
		WithDescription("Clusters and cluster checks for the Istio security workshop.").
		WithNamespace("istio-workshop").
		// Tokens are workshop:index:<Type>, not workshop:provider:<Type> after this Go package.
		WithModuleMap(map[tokens.ModuleName]tokens.ModuleName{"provider": "index"}).
		WithResources(
			infer.Resource(&LocalControlPlane{}),
			infer.Resource(&KindCluster{}),
			infer.Resource(&MinikubeProfile{}),
			infer.Resource(&ExistingCluster{}),
			infer.Resource(&ClusterCheck{}),
			infer.Resource(&CertificateAuthority{}),
			infer.Resource(&MeshModeGuard{}),
			infer.Resource(&ClientCertificate{}),
			infer.Resource(&SigningKey{}),
			infer.Resource(&Token{}),
			infer.Resource(&CRDBundle{}),
			infer.Resource(&Rollout{}),
		).
		Build()
}
