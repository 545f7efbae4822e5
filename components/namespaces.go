package components

import (
	"sync"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/internal/k8sobj"
)

// madeNamespaces holds, per run of the program, the namespaces it made, by name.
var madeNamespaces sync.Map // *pulumi.Context → *sync.Map (name → *corev1.Namespace)

// namespace makes a namespace (Helm v4 charts do not create theirs) and remembers it, so that
// the objects put in it later are deleted with it.
func namespace(ctx *pulumi.Context, name string, labels map[string]string, opts ...pulumi.ResourceOption) (*corev1.Namespace, error) {
	ns, err := corev1.NewNamespace(ctx, name, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name), Labels: pulumi.ToStringMap(labels)},
	}, opts...)
	if err != nil {
		return nil, err
	}
	made, _ := madeNamespaces.LoadOrStore(ctx, &sync.Map{})
	made.(*sync.Map).Store(name, ns)
	return ns, nil
}

// deletedWithItsNamespace lets an object in a namespace this program made go with that
// namespace when both are deleted (destroy, or a walk back past the stage that made the
// namespace): the namespace's deletion removes its content and the provider waits until it is
// gone, so Pulumi skips deleting and awaiting each object first (an Istio resource's delete
// alone waits ~6 s for its confirmation). An object removed while its namespace stays is still
// deleted on its own. Objects elsewhere, and cluster-scoped ones, are unchanged.
//
// Chart children cannot have it: the Go SDK's transforms do not carry DeletedWith, and a
// chart's own DeletedWith would pass to its cluster-scoped children too, which a namespace's
// deletion never removes.
func deletedWithItsNamespace(ctx *pulumi.Context, name string) pulumi.ResourceOption {
	if made, ok := madeNamespaces.Load(ctx); ok && name != "" {
		if ns, ok := made.(*sync.Map).Load(name); ok {
			return pulumi.DeletedWith(ns.(*corev1.Namespace))
		}
	}
	return pulumi.Composite()
}

// customResource registers a typed object (k8sobj.CustomResource), deleted with its namespace.
func customResource(ctx *pulumi.Context, obj k8sobj.Object, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	return customResourceWith(ctx, obj, nil, opts...)
}

// customResourceWith registers a typed object with inputs (k8sobj.CustomResourceWith), deleted
// with its namespace.
func customResourceWith(ctx *pulumi.Context, obj k8sobj.Object, inputs []k8sobj.Input, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	return k8sobj.CustomResourceWith(ctx, obj, inputs, append(opts, deletedWithItsNamespace(ctx, obj.GetNamespace()))...)
}
