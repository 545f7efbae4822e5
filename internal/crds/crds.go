// Package crds reads CustomResourceDefinitions from the pinned Go modules that carry them, each
// with a hash of its content: the program passes the names and hashes to the workshop
// provider's CRDBundle, which reads the same files again to apply them.
package crds

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/internal/modules"
)

// Definition is one CRD: its name, the hash of its document, and the document (YAML).
type Definition struct {
	Name string
	Hash string
	Doc  []byte
}

// Decode fills into (a typed CRD or apply configuration) from the document.
func (d Definition) Decode(into any) error { return yaml.UnmarshalStrict(d.Doc, into) }

// Read is every CRD in the files of module matched by paths (globs relative to the module's
// root), sorted by name. Anything in those files that is not a CRD is an error: a bundle applies
// definitions only.
func Read(module string, paths []string) ([]Definition, error) {
	dir, err := modules.Dir(module)
	if err != nil {
		return nil, err
	}
	var defs []Definition
	seen := map[string]string{}
	for _, p := range paths {
		files, err := filepath.Glob(filepath.Join(dir, p))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s has no file %s", module, p)
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			for i, doc := range documents(raw) {
				var head struct {
					APIVersion string `json:"apiVersion"`
					Kind       string `json:"kind"`
					Metadata   struct {
						Name string `json:"name"`
					} `json:"metadata"`
				}
				if err := yaml.Unmarshal(doc, &head); err != nil {
					return nil, fmt.Errorf("%s, document %d: %w", f, i+1, err)
				}
				if head.APIVersion != "apiextensions.k8s.io/v1" || head.Kind != "CustomResourceDefinition" || head.Metadata.Name == "" {
					return nil, fmt.Errorf("%s, document %d: a %s %q is not a CustomResourceDefinition", f, i+1, head.Kind, head.Metadata.Name)
				}
				if other, dup := seen[head.Metadata.Name]; dup {
					return nil, fmt.Errorf("CRD %s is in %s and in %s", head.Metadata.Name, other, f)
				}
				seen[head.Metadata.Name] = f
				sum := sha256.Sum256(doc)
				defs = append(defs, Definition{Name: head.Metadata.Name, Hash: hex.EncodeToString(sum[:8]), Doc: doc})
			}
		}
	}
	slices.SortFunc(defs, func(a, b Definition) int { return strings.Compare(a.Name, b.Name) })
	return defs, nil
}

// documents splits a YAML stream into its non-empty documents.
func documents(raw []byte) [][]byte {
	var out [][]byte
	for _, doc := range bytes.Split(append([]byte("\n"), raw...), []byte("\n---")) {
		// A separator line may carry a comment or trailing spaces: drop the rest of it.
		if i := bytes.IndexByte(doc, '\n'); i >= 0 && !bytes.HasPrefix(doc, []byte("\n")) {
			doc = doc[i:]
		}
		if len(bytes.TrimSpace(stripComments(doc))) > 0 {
			out = append(out, doc)
		}
	}
	return out
}

// stripComments drops whole-line comments, so a document of comments alone counts as empty.
func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}
