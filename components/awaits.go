package components

import (
	"context"
	"maps"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	serviceType = "kubernetes:core/v1:Service"
	// skipAwait tells the kubernetes provider not to wait for an object after applying it.
	skipAwait = "pulumi.com/skipAwait"
	// waitFor replaces the provider's wait for an object with a condition of its own.
	waitFor = "pulumi.com/waitFor"
)

// settleFreeServices skips the kubernetes provider's wait on a chart's ClusterIP Services. That
// wait ends ten seconds after the last change to the Service's endpoints (its "settled"
// heuristic), and the Istio charts are chained, so it cost ten seconds per chart on the way up.
// The Deployment behind each Service is still awaited until its pods are ready, which is what a
// Service's endpoints follow. A LoadBalancer Service keeps its wait for an address.
func settleFreeServices() pulumi.ResourceOption {
	return pulumi.Transforms([]pulumi.ResourceTransform{
		func(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
			if args.Type != serviceType {
				return nil
			}
			props := withoutServiceAwait(args.Props)
			if props == nil {
				return nil
			}
			return &pulumi.ResourceTransformResult{Props: props, Opts: args.Opts}
		},
	})
}

// withoutServiceAwait returns a Service's properties with the skipAwait annotation added, or nil
// when it must keep its wait (a LoadBalancer) or already states one.
func withoutServiceAwait(props pulumi.Map) pulumi.Map {
	if spec, ok := props["spec"].(pulumi.Map); ok && spec["type"] == pulumi.String("LoadBalancer") {
		return nil
	}
	meta, ok := props["metadata"].(pulumi.Map)
	if !ok {
		return nil
	}
	annotations := pulumi.Map{}
	if old, ok := meta["annotations"].(pulumi.Map); ok {
		if _, set := old[skipAwait]; set {
			return nil
		}
		if _, set := old[waitFor]; set {
			return nil
		}
		annotations = maps.Clone(old)
	}
	annotations[skipAwait] = pulumi.String("true")
	newMeta := maps.Clone(meta)
	newMeta["annotations"] = annotations
	out := maps.Clone(props)
	out["metadata"] = newMeta
	return out
}
