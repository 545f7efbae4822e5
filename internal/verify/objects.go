package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/sig"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Object is a Kubernetes object the stack says it made, with the fields it set that must still
// hold in the cluster.
type Object struct {
	APIVersion, Kind, Namespace, Name string
	// Want are the fields compared with the live object (nil: only its existence is checked).
	Want map[string]any `json:"-"`
}

func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// securityGroups are the API groups whose objects carry a stage's promise: their spec is
// compared, not only their existence. Workloads are left out on purpose: controllers (an HPA,
// a rollout, istiod patching its webhooks) change them legitimately.
var securityGroups = []string{"security.istio.io", "networking.istio.io", "networking.k8s.io", "cert-manager.io", "gateway.networking.k8s.io"}

// ObjectOf reads a Kubernetes resource's outputs (apiVersion, kind, metadata) and the inputs
// the stack gave it; ok is false for anything else (charts, providers, the workshop's own
// resources). The labels and annotations the stack set are compared for every object (a
// namespace's labels put it in the mesh), the spec for the security groups' objects.
func ObjectOf(outputs, inputs map[string]any) (Object, bool) {
	meta, _ := outputs["metadata"].(map[string]any)
	o := Object{}
	o.APIVersion, _ = outputs["apiVersion"].(string)
	o.Kind, _ = outputs["kind"].(string)
	o.Name, _ = meta["name"].(string)
	o.Namespace, _ = meta["namespace"].(string)
	if o.Kind == "Secret" {
		return o, o.APIVersion != "" && o.Name != ""
	}
	want := map[string]any{}
	if in, _ := inputs["metadata"].(map[string]any); in != nil {
		m := map[string]any{}
		for _, k := range []string{"labels", "annotations"} {
			if v, ok := in[k]; ok {
				m[k] = v
			}
		}
		if len(m) > 0 {
			want["metadata"] = m
		}
	}
	if group, _, _ := strings.Cut(o.APIVersion, "/"); slices.Contains(securityGroups, group) {
		if spec, ok := inputs["spec"]; ok {
			want["spec"] = spec
		}
	}
	if len(want) > 0 {
		o.Want = want
	}
	return o, o.APIVersion != "" && o.Kind != "" && o.Name != ""
}

// Drift lists the fields of want that the live object does not hold (as "path: want X, got Y").
// want is a subset: what the cluster adds (defaults, status, other owners' fields) is fine; a
// list must hold as many elements as wanted. An empty wanted value matches an absent one.
func Drift(want, live map[string]any) []string {
	var out []string
	diff("", normalize(want), normalize(live), &out)
	return out
}

func diff(path string, want, got any, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		if _, secret := w[sig.Key]; secret {
			return // a Pulumi secret in state: never compared, nor decrypted
		}
		g, _ := got.(map[string]any)
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			diff(path+"."+k, w[k], g[k], out)
		}
	case []any:
		g, _ := got.([]any)
		if len(g) != len(w) {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", strings.TrimPrefix(path, "."), brief(w), brief(got)))
			return
		}
		for i := range w {
			diff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], out)
		}
	default:
		if !reflect.DeepEqual(want, got) && !(isEmpty(want) && got == nil) {
			*out = append(*out, fmt.Sprintf("%s: want %s, got %s", strings.TrimPrefix(path, "."), brief(want), brief(got)))
		}
	}
}

// normalize turns every number into float64 and every nested map or list into the plain JSON
// types, so state (JSON) and the API's unstructured objects (int64) compare.
func normalize(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(raw, &out) != nil {
		return v
	}
	return out
}

func isEmpty(v any) bool { return v == nil || v == "" }

func brief(v any) string {
	if v == nil {
		return "nothing"
	}
	raw, _ := json.Marshal(v)
	if len(raw) > 80 {
		return string(raw[:77]) + "..."
	}
	return string(raw)
}

// Checked is what the cluster holds of a stack's objects.
type Checked struct {
	// Missing were deleted behind the stack's back.
	Missing []Object
	// Drifted were edited behind its back: the object, then the fields that differ.
	Drifted map[string][]string
	// Unchecked could not be read, with why.
	Unchecked []string
}

// Objects reads every object from the cluster: is it there, and does it still hold the fields
// the stack set.
func Objects(ctx context.Context, cfg *rest.Config, objs []Object) (Checked, error) {
	res := Checked{Drifted: map[string][]string{}}
	// One GET per object, after discovery of every API group: client-go's default limit of five
	// requests a second made the check of step 7's ~200 objects take 33 s.
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 200, 400
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return res, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return res, err
	}
	for _, o := range objs {
		gv, err := schema.ParseGroupVersion(o.APIVersion)
		if err != nil {
			res.Unchecked = append(res.Unchecked, fmt.Sprintf("%s: %v", o, err))
			continue
		}
		m, err := mapper.RESTMapping(gv.WithKind(o.Kind).GroupKind(), gv.Version)
		if err != nil {
			if strings.Contains(err.Error(), "no matches for kind") {
				res.Missing = append(res.Missing, o) // its CRD is gone with it
			} else {
				res.Unchecked = append(res.Unchecked, fmt.Sprintf("%s: %v", o, err))
			}
			continue
		}
		var r dynamic.ResourceInterface = client.Resource(m.Resource)
		if o.Namespace != "" {
			r = client.Resource(m.Resource).Namespace(o.Namespace)
		}
		live, err := r.Get(ctx, o.Name, k8smeta.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			res.Missing = append(res.Missing, o)
		case err != nil:
			res.Unchecked = append(res.Unchecked, fmt.Sprintf("%s: %v", o, err))
		case o.Want != nil:
			if d := Drift(o.Want, live.Object); len(d) > 0 {
				res.Drifted[o.String()] = d
			}
		}
	}
	return res, nil
}
