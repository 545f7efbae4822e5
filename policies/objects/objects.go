// Package objects is how the policy pack sees a stack: its Kubernetes objects as plain values (as
// Kubernetes would store them), and the stages' promises as objects the stack must hold. It has
// no policy-SDK dependency, so the stages can declare their promises with it.
package objects

import (
	"encoding/json"
	"strings"

	netv1 "k8s.io/api/networking/v1"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

// Object is one Kubernetes object of a stack, as the resource's inputs describe it.
type Object struct {
	URN  string
	Kind string
	// Group is the API group ("" for the core group).
	Group     string
	Namespace string
	Name      string
	Labels    map[string]string
	// Annotations are the object's metadata annotations.
	Annotations map[string]string
	// Fields is the whole object as JSON would carry it.
	Fields map[string]any
	// Partial: some of its values are not known yet (a preview of what depends on resources not
	// created yet); they are missing from Fields. A rule that concludes from an absence must
	// not conclude from a Partial object: the up checks it again with every value known.
	Partial bool
}

// NewObject reads a resource of type typ ("kubernetes:<group>/<version>:<Kind>"); ok is false
// for anything that is not a Kubernetes object.
func NewObject(urn, typ string, fields map[string]any) (Object, bool) {
	parts := strings.Split(typ, ":")
	if len(parts) != 3 || parts[0] != "kubernetes" || fields == nil {
		return Object{}, false
	}
	gv, kind := parts[1], parts[2]
	if strings.Contains(gv, "helm.sh") || strings.HasPrefix(gv, "yaml") {
		return Object{}, false // charts and config groups: their children are the objects
	}
	o := Object{URN: urn, Kind: kind, Fields: fields}
	if g, _, ok := strings.Cut(gv, "/"); ok && g != "core" {
		o.Group = g
	}
	meta, _ := fields["metadata"].(map[string]any)
	o.Namespace, _ = meta["namespace"].(string)
	o.Name, _ = meta["name"].(string)
	o.Labels = stringMap(meta["labels"])
	o.Annotations = stringMap(meta["annotations"])
	return o, true
}

// Is reports whether o is a kind of the API group.
func (o Object) Is(group, kind string) bool { return o.Group == group && o.Kind == kind }

// Decode fills a typed object (istio.io/client-go, k8s.io/api) from o.
func (o Object) Decode(into any) error {
	raw, err := json.Marshal(o.Fields)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}

// Ref names o in messages: Kind namespace/name.
func (o Object) Ref() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := map[string]string{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// HasUnknowns reports whether any value of m is not known yet.
func HasUnknowns(m property.Map) bool {
	for _, v := range m.All {
		if v.HasComputed() {
			return true
		}
	}
	return false
}

// Plain turns Pulumi property values into JSON-like values: secrets are read as their value
// (a Kubernetes object stores them so), values not known yet (a preview's outputs) are dropped.
func Plain(m property.Map) map[string]any {
	out := map[string]any{}
	for k, v := range m.All {
		if p, ok := plainValue(v); ok {
			out[k] = p
		}
	}
	return out
}

func plainValue(v property.Value) (any, bool) {
	switch {
	case v.IsComputed() || v.IsNull():
		return nil, false
	case v.IsString():
		return v.AsString(), true
	case v.IsNumber():
		return v.AsNumber(), true
	case v.IsBool():
		return v.AsBool(), true
	case v.IsArray():
		var out []any
		for _, e := range v.AsArray().All {
			if p, ok := plainValue(e); ok {
				out = append(out, p)
			}
		}
		return out, true
	case v.IsMap():
		return Plain(v.AsMap()), true
	}
	return nil, false
}

// Stack is what the pack knows of the stack it checks: its stage and mesh mode, from the stack's
// configuration. Known is false when the stage cannot be told (then only the object rules run).
type Stack struct {
	Known   bool
	Stage   int
	Ambient bool
}

// Promise is one stage's promise as objects the stack must hold: the policy pack fails a preview
// that drops them, even where no object it keeps is wrong.
type Promise struct {
	Stage int
	What  string
	Kept  func(objs []Object, s Stack) bool
}

// AnyObject: some object of the kind in namespace satisfies ok, or might once its values are
// known (a Partial one is given the benefit of the doubt: the up checks it again).
func AnyObject(objs []Object, group, kind, namespace string, ok func(Object) bool) bool {
	for _, o := range objs {
		if o.Is(group, kind) && (o.Partial || o.Namespace == namespace && ok(o)) {
			return true
		}
	}
	return false
}

// HasPolicyType reports whether the NetworkPolicy covers direction t.
func HasPolicyType(np netv1.NetworkPolicy, t netv1.PolicyType) bool {
	for _, p := range np.Spec.PolicyTypes {
		if p == t {
			return true
		}
	}
	return false
}

// Field is the value at the path of nested maps, or nil.
func Field(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}
