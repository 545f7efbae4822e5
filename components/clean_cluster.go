// Package components holds one Pulumi component per workshop concern; stage N of the workshop
// is the components of stages 0..N (see internal/workshop).
package components

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/infra"
)

// CleanCluster is stage 0: the cluster, checked once to be in its default state before any other
// stage changes it.
type CleanCluster struct {
	pulumi.ResourceState

	DefaultState pulumi.BoolOutput
	Nodes        pulumi.IntOutput
	Namespaces   pulumi.StringArrayOutput
}

type clusterCheck struct {
	pulumi.CustomResourceState
	DefaultState pulumi.BoolOutput        `pulumi:"defaultState"`
	Nodes        pulumi.IntOutput         `pulumi:"nodes"`
	Namespaces   pulumi.StringArrayOutput `pulumi:"namespaces"`
}

// NewCleanCluster records the default-state check of cluster.
func NewCleanCluster(ctx *pulumi.Context, name string, cluster *infra.Cluster, opts ...pulumi.ResourceOption) (*CleanCluster, error) {
	c := &CleanCluster{}
	if err := ctx.RegisterComponentResource("istio-workshop:components:CleanCluster", name, c, opts...); err != nil {
		return nil, err
	}
	check := &clusterCheck{}
	if err := ctx.RegisterResource("workshop:index:ClusterCheck", name, pulumi.Map{
		"kubeconfig": cluster.Kubeconfig,
		"context":    cluster.ContextName,
	}, check, pulumi.Parent(c), pulumi.AdditionalSecretOutputs([]string{"kubeconfig"})); err != nil {
		return nil, err
	}
	c.DefaultState, c.Nodes, c.Namespaces = check.DefaultState, check.Nodes, check.Namespaces
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"defaultState": c.DefaultState, "nodes": c.Nodes, "namespaces": c.Namespaces,
	})
}
