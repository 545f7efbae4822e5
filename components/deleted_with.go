package components

import (
	"strings"
	"sync"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/internal/k8sobj"
)

// Objects that Kubernetes deletes anyway when their container goes are registered DeletedWith
// it: when both are deleted (destroy, or a walk back past the stage that made the container),
// Pulumi skips deleting and awaiting each object first; an object removed while its container
// stays is still deleted on its own. A namespace's deletion removes what is in it (and the
// provider waits until it is gone); a CRD bundle's removes every object of its kinds.
//
// Why it matters: Pulumi deletes in dependency layers, each waiting for the one before, and
// Kubernetes acts on a deleted namespace only after five seconds (the namespace controller's
// grace period), so each layer holding a namespace costs at least that. The program's
// namespaces are placed so that a destroy deletes them in as few layers as it can.
//
// Chart children cannot have it: the Go SDK's transforms do not carry DeletedWith, and a chart's
// own DeletedWith would pass to its cluster-scoped children too, which a namespace's deletion
// never removes.

// containers holds, per run of the program, the namespaces it made (by name) and its CRD
// bundles (by API group).
type containers struct {
	mu         sync.Mutex
	namespaces map[string]*corev1.Namespace
	bundles    map[string]pulumi.Resource
}

var containersOf sync.Map // *pulumi.Context → *containers

func containersFor(ctx *pulumi.Context) *containers {
	c, _ := containersOf.LoadOrStore(ctx, &containers{namespaces: map[string]*corev1.Namespace{}, bundles: map[string]pulumi.Resource{}})
	return c.(*containers)
}

// namespace makes a namespace (Helm v4 charts do not create theirs) and remembers it.
func namespace(ctx *pulumi.Context, name string, labels map[string]string, opts ...pulumi.ResourceOption) (*corev1.Namespace, error) {
	ns, err := corev1.NewNamespace(ctx, name, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name), Labels: pulumi.ToStringMap(labels)},
	}, opts...)
	if err != nil {
		return nil, err
	}
	c := containersFor(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.namespaces[name] = ns
	return ns, nil
}

// rememberBundle records which API groups a CRD bundle defines (a CRD's name is plural.group).
func rememberBundle(ctx *pulumi.Context, bundle pulumi.Resource, crdNames []string) {
	c := containersFor(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range crdNames {
		if _, group, ok := strings.Cut(name, "."); ok {
			c.bundles[group] = bundle
		}
	}
}

// deletedWithItsNamespace: the object goes with its namespace if this program made it.
func deletedWithItsNamespace(ctx *pulumi.Context, namespace string) pulumi.ResourceOption {
	c := containersFor(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if ns, ok := c.namespaces[namespace]; ok && namespace != "" {
		return pulumi.DeletedWith(ns)
	}
	return pulumi.Composite()
}

// deletedWithItsContainer: a namespaced object goes with its namespace, a cluster-scoped one
// with the bundle of its CRD (cert-manager's ClusterIssuer: its own delete waited 11-16 s for a
// confirmation the provider's watch missed).
func deletedWithItsContainer(ctx *pulumi.Context, obj k8sobj.Object) pulumi.ResourceOption {
	if obj.GetNamespace() != "" {
		return deletedWithItsNamespace(ctx, obj.GetNamespace())
	}
	c := containersFor(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if bundle, ok := c.bundles[obj.GetObjectKind().GroupVersionKind().Group]; ok {
		return pulumi.DeletedWith(bundle)
	}
	return pulumi.Composite()
}

// customResource registers a typed object (k8sobj.CustomResource), deleted with its container.
func customResource(ctx *pulumi.Context, obj k8sobj.Object, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	return customResourceWith(ctx, obj, nil, opts...)
}

// customResourceWith registers a typed object with inputs (k8sobj.CustomResourceWith), deleted
// with its container.
func customResourceWith(ctx *pulumi.Context, obj k8sobj.Object, inputs []k8sobj.Input, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	return k8sobj.CustomResourceWith(ctx, obj, inputs, append(opts, deletedWithItsContainer(ctx, obj))...)
}
