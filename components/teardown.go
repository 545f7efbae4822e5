package components

import (
	"context"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// crdType is the Pulumi type of a CustomResourceDefinition.
const crdType = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"

// removeOnDestroy undoes Helm's `helm.sh/resource-policy: keep`, which the Chart resource turns
// into RetainOnDelete on the CRDs it renders: a workshop's teardown must leave no CRD behind for
// the next group.
func removeOnDestroy() pulumi.ResourceOption {
	return pulumi.Transforms([]pulumi.ResourceTransform{
		func(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
			if args.Type != crdType || !args.Opts.RetainOnDelete {
				return nil
			}
			args.Opts.RetainOnDelete = false
			return &pulumi.ResourceTransformResult{Props: args.Props, Opts: args.Opts}
		},
	})
}
