// Command plainscript turns a stack's state (`pulumi stack export --show-secrets` on stdin) into
// the plain script the workshop replaces, with the very same objects: per chart, its rendered
// objects, applied and then waited for as `helm install --wait` does (every Deployment and
// DaemonSet rolled out), and the objects the program applies itself. The benchmark times that
// script against `pulumi up`. (Pulumi keeps no inputs for a Chart, so the chart's own values
// cannot be replayed through helm; its rendered objects are the same objects, and the script
// is spared helm's rendering.)
//
//	plainscript DIR < export.json
//
// writes DIR/first.yaml (Namespaces, and the CRDs of the CRDBundles: before the charts),
// DIR/chart-N.yaml and DIR/chart-N.waits ("kind namespace name" per line) per chart in the
// stack's order, DIR/charts.txt (the chart-N base names, in order) and DIR/rest.yaml (the
// program's other objects: after the charts).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/istio-workshop/istio-workshop/internal/crds"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/sig"
	"sigs.k8s.io/yaml"
)

type resource struct {
	URN    string         `json:"urn"`
	Type   string         `json:"type"`
	Parent string         `json:"parent"`
	Inputs map[string]any `json:"inputs"`
}

type script struct {
	Charts      []*chart
	First, Rest []map[string]any
}

type chart struct {
	Release string
	Objects []map[string]any
	// Waits are the workloads helm --wait waits for: "kind namespace name".
	Waits []string
}

// build sorts the state's resources into charts (with the objects they rendered) and the
// program's own objects.
func build(resources []resource) (script, error) {
	s := script{}
	charts := map[string]*chart{}
	for _, r := range resources {
		kind, _ := r.Inputs["kind"].(string)
		switch {
		case r.Type == "workshop:index:CRDBundle":
			// The plain way: kubectl apply of the same CRD files, first.
			defs, err := bundle(r.Inputs)
			if err != nil {
				return s, err
			}
			s.First = append(s.First, defs...)
		case strings.HasPrefix(r.Type, "kubernetes:helm.sh/"):
			c := &chart{Release: r.URN[strings.LastIndex(r.URN, "::")+2:]}
			charts[r.URN] = c
			s.Charts = append(s.Charts, c)
		case !strings.HasPrefix(r.Type, "kubernetes:") || strings.HasPrefix(r.Type, "kubernetes:yaml/") || kind == "":
			continue
		case charts[r.Parent] != nil:
			c := charts[r.Parent]
			c.Objects = append(c.Objects, r.Inputs)
			if kind == "Deployment" || kind == "DaemonSet" {
				meta, _ := r.Inputs["metadata"].(map[string]any)
				c.Waits = append(c.Waits, fmt.Sprintf("%s %v %v", strings.ToLower(kind), meta["namespace"], meta["name"]))
			}
		case kind == "Namespace" || kind == "CustomResourceDefinition":
			s.First = append(s.First, r.Inputs)
		default:
			s.Rest = append(s.Rest, r.Inputs)
		}
	}
	for _, c := range s.Charts {
		if len(c.Objects) == 0 {
			return s, fmt.Errorf("chart %s: no rendered object in the state", c.Release)
		}
	}
	return s, nil
}

// bundle is the CRDs a CRDBundle's inputs name, as objects.
func bundle(inputs map[string]any) ([]map[string]any, error) {
	module, _ := inputs["module"].(string)
	var paths []string
	raw, _ := inputs["paths"].([]any)
	for _, p := range raw {
		s, _ := p.(string)
		paths = append(paths, s)
	}
	defs, err := crds.Read(module, paths)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, d := range defs {
		var obj map[string]any
		if err := yaml.Unmarshal(d.Doc, &obj); err != nil {
			return nil, err
		}
		out = append(out, obj)
	}
	return out, nil
}

// reveal replaces every secret wrapper in v by its value.
func reveal(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x[sig.Key]; ok {
			plain, ok := x["plaintext"].(string)
			if !ok {
				return nil, fmt.Errorf("a secret without plaintext: export with --show-secrets")
			}
			var out any
			if err := json.Unmarshal([]byte(plain), &out); err != nil {
				return nil, err
			}
			return reveal(out)
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := reveal(e)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := reveal(e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func writeYAML(path string, objs []map[string]any) error {
	var docs []string
	for _, o := range objs {
		plain, err := reveal(o)
		if err != nil {
			return err
		}
		raw, err := yaml.Marshal(plain)
		if err != nil {
			return err
		}
		docs = append(docs, string(raw))
	}
	return os.WriteFile(path, []byte(strings.Join(docs, "---\n")), 0o600)
}

func (s script) write(dir string) error {
	var names []string
	for i, c := range s.Charts {
		base := fmt.Sprintf("chart-%d", i)
		names = append(names, base)
		if err := writeYAML(filepath.Join(dir, base+".yaml"), c.Objects); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, base+".waits"), []byte(strings.Join(append(c.Waits, ""), "\n")), 0o600); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "charts.txt"), []byte(strings.Join(append(names, ""), "\n")), 0o600); err != nil {
		return err
	}
	if err := writeYAML(filepath.Join(dir, "first.yaml"), s.First); err != nil {
		return err
	}
	return writeYAML(filepath.Join(dir, "rest.yaml"), s.Rest)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: plainscript DIR < export.json")
		os.Exit(2)
	}
	raw, err := io.ReadAll(os.Stdin)
	if err == nil {
		var exp struct {
			Deployment struct {
				Resources []resource `json:"resources"`
			} `json:"deployment"`
		}
		if err = json.Unmarshal(raw, &exp); err == nil {
			var s script
			if s, err = build(exp.Deployment.Resources); err == nil {
				err = s.write(os.Args[1])
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "plainscript:", err)
		os.Exit(1)
	}
}
