package crds

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/modules"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// withModule makes a module "example.com/m@v1" in a temporary module cache with files.
func withModule(t *testing.T, files map[string]string) string {
	t.Helper()
	cache := t.TempDir()
	dir := filepath.Join(cache, "example.com", "m@v1")
	for name, body := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600))
	}
	old := modules.Cache
	modules.Cache = func() (string, error) { return cache, nil }
	t.Cleanup(func() { modules.Cache = old })
	return "example.com/m@v1"
}

func def(name string) string {
	return "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: " + name + "\n"
}

func TestReadSplitsSortsAndHashesEachDefinition(t *testing.T) {
	m := withModule(t, map[string]string{
		"crds/all.yaml": "# generated\n---\n" + def("b.example.com") + "--- # next\n" + def("a.example.com") + "---\n# only a comment\n",
		"crds/c.yaml":   def("c.example.com"),
		"other/x.yaml":  "kind: ConfigMap\n",
	})
	defs, err := Read(m, []string{"crds/*.yaml"})
	require.NoError(t, err)
	var names []string
	for _, d := range defs {
		names = append(names, d.Name)
		assert.Len(t, d.Hash, 16)
	}
	assert.Equal(t, []string{"a.example.com", "b.example.com", "c.example.com"}, names, "every definition, by name")
	assert.NotEqual(t, defs[0].Hash, defs[1].Hash)

	again, err := Read(m, []string{"crds/*.yaml"})
	require.NoError(t, err)
	assert.Equal(t, defs, again, "the same files, the same hashes")
}

func TestAChangedDefinitionChangesOnlyItsHash(t *testing.T) {
	m := withModule(t, map[string]string{"a.yaml": def("a.example.com"), "b.yaml": def("b.example.com")})
	before, err := Read(m, []string{"*.yaml"})
	require.NoError(t, err)
	dir, _ := modules.Cached(m)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(def("b.example.com")+"spec:\n  scope: Cluster\n"), 0o600))
	after, err := Read(m, []string{"*.yaml"})
	require.NoError(t, err)
	assert.Equal(t, before[0], after[0])
	assert.NotEqual(t, before[1].Hash, after[1].Hash)
}

func TestReadRefusesWhatIsNotABundle(t *testing.T) {
	m := withModule(t, map[string]string{
		"mixed.yaml": def("a.example.com") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
		"one.yaml":   def("a.example.com"),
		"two.yaml":   def("a.example.com"),
	})
	_, err := Read(m, []string{"mixed.yaml"})
	assert.ErrorContains(t, err, `mixed.yaml, document 2: a ConfigMap "x" is not a CustomResourceDefinition`)
	_, err = Read(m, []string{"one.yaml", "two.yaml"})
	assert.ErrorContains(t, err, "CRD a.example.com is in")
	_, err = Read(m, []string{"none/*.yaml"})
	assert.ErrorContains(t, err, "example.com/m@v1 has no file none/*.yaml")
}

// The pinned modules' own files read as the bundles the program registers.
func TestThePinnedModulesHoldTheirCRDs(t *testing.T) {
	for _, tc := range []struct {
		module string
		paths  []string
		some   string
	}{
		{versions.IstioModule, []string{"manifests/charts/base/files/crd-all.gen.yaml"}, "virtualservices.networking.istio.io"},
		{versions.CertManagerModule, []string{"deploy/crds/cert-manager.io_*.yaml", "deploy/crds/acme.cert-manager.io_*.yaml"}, "certificates.cert-manager.io"},
	} {
		defs, err := Read(tc.module, tc.paths)
		require.NoError(t, err, tc.module)
		found := false
		for _, d := range defs {
			found = found || d.Name == tc.some
		}
		assert.True(t, found, "%s has %s", tc.module, tc.some)
	}
}
