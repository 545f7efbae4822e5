package verify

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Object is a Kubernetes object the stack says it made.
type Object struct {
	APIVersion, Kind, Namespace, Name string
}

func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// ObjectOf reads a Kubernetes resource's outputs (apiVersion, kind, metadata); ok is false for
// anything else (charts, providers, the workshop's own resources).
func ObjectOf(outputs map[string]any) (Object, bool) {
	meta, _ := outputs["metadata"].(map[string]any)
	o := Object{}
	o.APIVersion, _ = outputs["apiVersion"].(string)
	o.Kind, _ = outputs["kind"].(string)
	o.Name, _ = meta["name"].(string)
	o.Namespace, _ = meta["namespace"].(string)
	return o, o.APIVersion != "" && o.Kind != "" && o.Name != ""
}

// Missing returns the objects that are not in the cluster (deleted behind the stack's back),
// and the ones it could not check with why.
func Missing(ctx context.Context, cfg *rest.Config, objs []Object) (missing []Object, unchecked []string, err error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range objs {
		gv, err := schema.ParseGroupVersion(o.APIVersion)
		if err != nil {
			unchecked = append(unchecked, fmt.Sprintf("%s: %v", o, err))
			continue
		}
		m, err := mapper.RESTMapping(gv.WithKind(o.Kind).GroupKind(), gv.Version)
		if err != nil {
			if strings.Contains(err.Error(), "no matches for kind") {
				missing = append(missing, o) // its CRD is gone with it
			} else {
				unchecked = append(unchecked, fmt.Sprintf("%s: %v", o, err))
			}
			continue
		}
		var r dynamic.ResourceInterface = client.Resource(m.Resource)
		if o.Namespace != "" {
			r = client.Resource(m.Resource).Namespace(o.Namespace)
		}
		_, err = r.Get(ctx, o.Name, k8smeta.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, o)
		case err != nil:
			unchecked = append(unchecked, fmt.Sprintf("%s: %v", o, err))
		}
	}
	return missing, unchecked, nil
}
