package stages

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/outputs"
)

// Stage 0: the cluster is checked before anything changes it.
var cleanCluster = register(Stage{
	Number:     0,
	Name:       "clean-cluster",
	Title:      "A clean cluster",
	Promise:    "the cluster is in its default state: nodes ready, no Istio, default namespaces only",
	Settings:   []string{"clusterProvider", "clusterName", "workers", "kindNodeImage", "kubeconfig", "kubeContext"},
	Components: []string{"CleanCluster"},
	Apply: func(ctx *pulumi.Context, b *Built) error {
		clean, err := components.NewCleanCluster(ctx, "clean-cluster", b.Cluster, pulumi.DependsOn([]pulumi.Resource{b.Cluster}))
		if err != nil {
			return err
		}
		b.Clean = clean
		ctx.Export(outputs.DefaultState, clean.DefaultState)
		return nil
	},
	Guide: Guide{
		Practices: []string{
			"Start every session from a cluster in its default state: leftovers of the last one change what participants see.",
			"Pin the node image to one Kubernetes release, so every laptop runs the same cluster.",
		},
		Commands: []Command{
			cmd("nodes are Ready", "", true, "kubectl", "get", "nodes"),
			cmd("the CRDs: none of *.istio.io yet", "", true, "kubectl", "get", "crd", "-o", "name"),
		},
	},
})
