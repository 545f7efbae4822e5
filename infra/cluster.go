// Package infra makes the workshop's cluster: a kind cluster (default), a minikube profile, the
// local control plane, or an existing cluster, each a resource of the workshop provider plugin
// (internal/provider), and the Kubernetes provider configured from its kubeconfig.
package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/internal/config"
)

// Cluster is the workshop's cluster and the Kubernetes provider every stage deploys with.
type Cluster struct {
	pulumi.ResourceState

	Name        pulumi.StringOutput
	ContextName pulumi.StringOutput
	// Kubeconfig is secret: it holds the cluster's admin credentials.
	Kubeconfig pulumi.StringOutput
	Provider   *kubernetes.Provider
}

// clusterResource is the provider-plugin resource behind a Cluster.
type clusterResource struct {
	pulumi.CustomResourceState
	Kubeconfig  pulumi.StringOutput `pulumi:"kubeconfig"`
	ContextName pulumi.StringOutput `pulumi:"contextName"`
}

// kinds maps each cluster provider to its resource type and inputs, so no caller switches on the
// provider name.
var kinds = map[config.Provider]func(c config.Config) (string, pulumi.Map){
	config.Kind: func(c config.Config) (string, pulumi.Map) {
		inputs := pulumi.Map{
			"name":      pulumi.String(c.Cluster.Name),
			"workers":   pulumi.Int(c.Cluster.Workers),
			"httpPort":  pulumi.Int(c.Ingress.HTTPPort),
			"httpsPort": pulumi.Int(c.Ingress.HTTPSPort),
		}
		if c.Cluster.NodeImage != "" {
			inputs["nodeImage"] = pulumi.String(c.Cluster.NodeImage)
		}
		return "workshop:index:KindCluster", inputs
	},
	config.Minikube: func(c config.Config) (string, pulumi.Map) {
		return "workshop:index:MinikubeProfile", pulumi.Map{"name": pulumi.String(c.Cluster.Name), "workers": pulumi.Int(c.Cluster.Workers)}
	},
	config.Local: func(c config.Config) (string, pulumi.Map) {
		return "workshop:index:LocalControlPlane", pulumi.Map{"name": pulumi.String(c.Cluster.Name), "nodes": pulumi.Int(1 + c.Cluster.Workers)}
	},
	config.Existing: func(c config.Config) (string, pulumi.Map) {
		inputs := pulumi.Map{"kubeconfigPath": pulumi.String(c.Cluster.Kubeconfig)}
		if c.Cluster.Context != "" {
			inputs["context"] = pulumi.String(c.Cluster.Context)
		}
		return "workshop:index:ExistingCluster", inputs
	},
}

// NewCluster makes (or, for existing, adopts) the cluster and its Kubernetes provider.
func NewCluster(ctx *pulumi.Context, cfg config.Config, opts ...pulumi.ResourceOption) (*Cluster, error) {
	kind, ok := kinds[cfg.Cluster.Provider]
	if !ok {
		return nil, fmt.Errorf("no cluster provider %q", cfg.Cluster.Provider)
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource("istio-workshop:infra:Cluster", cfg.Cluster.Name, c, opts...); err != nil {
		return nil, err
	}
	token, inputs := kind(cfg)
	res := &clusterResource{}
	if err := ctx.RegisterResource(token, cfg.Cluster.Name, inputs, res,
		pulumi.Parent(c), pulumi.AdditionalSecretOutputs([]string{"kubeconfig"})); err != nil {
		return nil, err
	}
	prov, err := kubernetes.NewProvider(ctx, cfg.Cluster.Name, &kubernetes.ProviderArgs{
		Kubeconfig: res.Kubeconfig,
		Context:    res.ContextName,
		// A cluster that is gone (reset, deleted by hand) must not block destroying the stack.
		DeleteUnreachable: pulumi.Bool(true),
		// A chart's ConfigMap whose data changes (istiod's mesh config, stage 9) is updated in
		// place, as helm does, instead of deleted and created again: istiod and its injector
		// would run without their config in between, and the preview would show a replacement.
		EnableConfigMapMutable: pulumi.Bool(true),
	}, pulumi.Parent(c))
	if err != nil {
		return nil, err
	}
	c.Name = pulumi.String(cfg.Cluster.Name).ToStringOutput()
	c.ContextName = res.ContextName
	c.Kubeconfig = pulumi.ToSecret(res.Kubeconfig).(pulumi.StringOutput)
	c.Provider = prov
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"name":        c.Name,
		"contextName": c.ContextName,
		"kubeconfig":  c.Kubeconfig,
	})
}
