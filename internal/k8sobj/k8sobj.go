// Package k8sobj turns typed Kubernetes objects (istio.io/client-go, cert-manager's pkg/apis)
// into Pulumi custom resources, so that policies are written with the same types and field names
// as the upstream docs instead of hand-written maps.
package k8sobj

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Object is a typed Kubernetes object: metadata plus a kind.
type Object interface {
	k8smeta.Object
	GetObjectKind() schema.ObjectKind
}

// Fields returns the object's top-level fields other than apiVersion, kind, metadata and status,
// as JSON would carry them. The empty status the typed objects serialize is dropped: it is the
// controller's, and keeping it would show as a diff on every refresh.
func Fields(obj Object) (map[string]any, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	for _, k := range []string{"apiVersion", "kind", "metadata", "status"} {
		delete(fields, k)
	}
	return fields, nil
}

// Name is the Pulumi resource name of obj: unique per kind across namespaces.
func Name(obj Object) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "-" + obj.GetName()
}

// Input is a field of a typed object whose value is only known once another resource exists
// (a generated key, say): Path leads to it through the object's JSON (map keys and list
// indexes), and the typed object holds a placeholder there.
type Input struct {
	Path  []any
	Value pulumi.Input
	// Add lets the last key of Path be new (its parent must exist): for a proto3 enum whose zero
	// value (REGISTRY_ONLY, PASSTHROUGH, MESH_EXTERNAL) JSON leaves out, written for the reader.
	Add bool
}

// CustomResource registers obj. Its TypeMeta must be set (typed clients leave it empty).
func CustomResource(ctx *pulumi.Context, obj Object, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	return CustomResourceWith(ctx, obj, nil, opts...)
}

// CustomResourceWith registers obj with inputs set into its fields.
func CustomResourceWith(ctx *pulumi.Context, obj Object, inputs []Input, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return nil, fmt.Errorf("%s: set TypeMeta (apiVersion and kind) on the object", obj.GetName())
	}
	fields, err := Fields(obj)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", gvk.Kind, Name(obj), err)
	}
	for _, in := range inputs {
		if err := set(fields, in.Path, in.Value, in.Add); err != nil {
			return nil, fmt.Errorf("%s %s: %w", gvk.Kind, Name(obj), err)
		}
	}
	meta := &metav1.ObjectMetaArgs{Name: pulumi.String(obj.GetName())}
	if ns := obj.GetNamespace(); ns != "" {
		meta.Namespace = pulumi.String(ns)
	}
	if l := obj.GetLabels(); len(l) > 0 {
		meta.Labels = pulumi.ToStringMap(l)
	}
	if a := obj.GetAnnotations(); len(a) > 0 {
		meta.Annotations = pulumi.ToStringMap(a)
	}
	return apiextensions.NewCustomResource(ctx, Name(obj), &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(gvk.GroupVersion().String()),
		Kind:        pulumi.String(gvk.Kind),
		Metadata:    meta,
		OtherFields: kubernetes.UntypedArgs(fields),
	}, opts...)
}

// set puts v at path in fields. The path must exist: the typed object holds a placeholder, so a
// renamed field fails here instead of silently adding a new one.
func set(fields map[string]any, path []any, v any, add bool) error {
	var cur any = fields
	for i, step := range path {
		last := i == len(path)-1
		switch c := cur.(type) {
		case map[string]any:
			k, ok := step.(string)
			if _, found := c[k]; !ok || !found && !(last && add) {
				return fmt.Errorf("no field %v at %v", step, path[:i])
			}
			if last {
				c[k] = v
				return nil
			}
			cur = c[k]
		case []any:
			n, ok := step.(int)
			if !ok || n < 0 || n >= len(c) {
				return fmt.Errorf("no element %v at %v", step, path[:i])
			}
			if last {
				c[n] = v
				return nil
			}
			cur = c[n]
		default:
			return fmt.Errorf("%v is not an object or list", path[:i])
		}
	}
	return fmt.Errorf("empty path")
}
