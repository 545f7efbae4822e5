package components

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/infra"
	"github.com/istio-workshop/istio-workshop/internal/crds"
)

type crdBundle struct{ pulumi.CustomResourceState }

// newCRDBundle registers the CRDs in paths (globs) of module as one workshop:index:CRDBundle: the
// provider applies them and waits until they are Established; the state holds their names and
// hashes, so a preview names each CRD added, changed or removed. Objects that use the CRDs
// depend on the bundle, so they are deleted before it.
func newCRDBundle(ctx *pulumi.Context, name string, cluster *infra.Cluster, module string, paths []string, opts ...pulumi.ResourceOption) (pulumi.Resource, error) {
	defs, err := crds.Read(module, paths)
	if err != nil {
		return nil, err
	}
	hashes := pulumi.StringMap{}
	var names []string
	for _, d := range defs {
		hashes[d.Name] = pulumi.String(d.Hash)
		names = append(names, d.Name)
	}
	b := &crdBundle{}
	rememberBundle(ctx, b, names)
	return b, ctx.RegisterResource("workshop:index:CRDBundle", name, pulumi.Map{
		"kubeconfig": cluster.Kubeconfig,
		"context":    cluster.ContextName,
		"module":     pulumi.String(module),
		"paths":      pulumi.ToStringArray(paths),
		"crds":       hashes,
	}, b, append(opts, pulumi.AdditionalSecretOutputs([]string{"kubeconfig"}))...)
}
