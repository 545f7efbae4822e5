package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdapply "k8s.io/apiextensions-apiserver/pkg/client/applyconfiguration/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/istio-workshop/istio-workshop/infra/controlplane"
	"github.com/istio-workshop/istio-workshop/internal/crds"
	"github.com/istio-workshop/istio-workshop/internal/modules"
	"github.com/istio-workshop/istio-workshop/internal/paths"
)

// testCRD is a minimal valid CRD of kind (plural lowercased + "s") in group example.com;
// column adds a printer column, to make a changed definition.
func testCRD(kind, column string) string {
	plural := fmt.Sprintf("%ss", lower(kind))
	cols := ""
	if column != "" {
		cols = "    additionalPrinterColumns:\n    - name: " + column + "\n      type: string\n      jsonPath: .spec." + column + "\n"
	}
	return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: %s.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: %s, listKind: %sList, plural: %s, singular: %s}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
%s`, plural, kind, kind, plural, lower(kind), cols)
}

func lower(s string) string { return string(append([]byte{s[0] + 'a' - 'A'}, s[1:]...)) }

// bundleInputs are the CRDBundle's inputs for module's *.yaml, as the program makes them.
func bundleInputs(t *testing.T, kubeconfig []byte, module string) property.Map {
	t.Helper()
	defs, err := crds.Read(module, []string{"*.yaml"})
	require.NoError(t, err)
	hashes := map[string]property.Value{}
	for _, d := range defs {
		hashes[d.Name] = property.New(d.Hash)
	}
	return property.NewMap(map[string]property.Value{
		"kubeconfig": property.New(string(kubeconfig)).WithSecret(true),
		"module":     property.New(module),
		"paths":      property.New([]property.Value{property.New("*.yaml")}),
		"crds":       property.New(hashes),
	})
}

// A bundle on a real API server: created Established; updated (one definition changed, one
// added, one dropped) it applies the new set and deletes only the dropped one; deleted, it
// removes only its own; and it refuses files that differ from what the program read.
func TestCRDBundleAppliesUpdatesAndRemovesOnlyItsOwn(t *testing.T) {
	ctx := context.Background()
	kc, client := apiServer(t, "crd-bundle")
	established := func(name string) bool {
		crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established {
				return c.Status == apiextensionsv1.ConditionTrue
			}
		}
		return false
	}
	gone := func(name string) bool {
		_, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}

	// Someone else's CRD, which the bundle must leave alone.
	write := moduleFiles(t)
	write("other@v1", "x.yaml", testCRD("Other", ""))
	s := server(t)
	_, err := s.Create(p.CreateRequest{Urn: urn("CRDBundle", "other"), Properties: bundleInputs(t, kc, "example.com/other@v1")})
	require.NoError(t, err)

	write("m@v1", "a.yaml", testCRD("Alpha", ""))
	write("m@v1", "b.yaml", testCRD("Beta", ""))
	v1 := bundleInputs(t, kc, "example.com/m@v1")
	created, err := s.Create(p.CreateRequest{Urn: urn("CRDBundle", "m"), Properties: v1})
	require.NoError(t, err)
	assert.True(t, established("alphas.example.com"), "created and Established when Create returns")
	assert.True(t, established("betas.example.com"))
	assert.Len(t, created.Properties.Get("crds").AsMap().AsMap(), 2, "the state holds names and hashes")
	assert.True(t, created.Properties.Get("kubeconfig").Secret())

	write("m@v2", "b.yaml", testCRD("Beta", "size"))
	write("m@v2", "c.yaml", testCRD("Gamma", ""))
	v2 := bundleInputs(t, kc, "example.com/m@v2")
	d, err := s.Diff(p.DiffRequest{Urn: urn("CRDBundle", "m"), ID: created.ID, State: created.Properties, Inputs: v2})
	require.NoError(t, err)
	assert.True(t, d.HasChanges)
	assert.Contains(t, d.DetailedDiff, `crds["alphas.example.com"]`, "the preview names the CRD removed")
	assert.Contains(t, d.DetailedDiff, `crds["betas.example.com"]`, "and the one changed")
	assert.Contains(t, d.DetailedDiff, `crds["gammas.example.com"]`, "and the one added")
	for k, diff := range d.DetailedDiff {
		assert.NotContains(t, []p.DiffKind{p.AddReplace, p.DeleteReplace, p.UpdateReplace}, diff.Kind, "%s: updated in place, never replaced", k)
	}
	_, err = s.Update(p.UpdateRequest{Urn: urn("CRDBundle", "m"), ID: created.ID, State: created.Properties, Inputs: v2})
	require.NoError(t, err)
	assert.True(t, gone("alphas.example.com"), "the dropped definition is deleted")
	assert.True(t, established("gammas.example.com"))
	beta, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "betas.example.com", metav1.GetOptions{})
	require.NoError(t, err)
	require.Len(t, beta.Spec.Versions[0].AdditionalPrinterColumns, 1, "the changed definition is applied")

	// Files that changed since the preview are refused, not applied unseen.
	write("m@v2", "c.yaml", testCRD("Gamma", "late"))
	_, err = s.Update(p.UpdateRequest{Urn: urn("CRDBundle", "m"), ID: created.ID, State: created.Properties, Inputs: v2})
	assert.ErrorContains(t, err, "differ from what the program read")

	err = s.Delete(p.DeleteRequest{Urn: urn("CRDBundle", "m"), ID: created.ID, Properties: v2})
	require.NoError(t, err)
	assert.True(t, gone("betas.example.com"))
	assert.True(t, gone("gammas.example.com"))
	assert.True(t, established("others.example.com"), "another bundle's CRD is left alone")
}

// A CRD that the Kubernetes provider applied for a stack of the old layout is not taken over:
// that run would delete it, and every object of its kind, at its end.
func TestCRDBundleRefusesCRDsOfTheOldLayout(t *testing.T) {
	ctx := context.Background()
	kc, client := apiServer(t, "crd-old-layout")
	moduleFiles(t)("m@v1", "a.yaml", testCRD("Alpha", ""))
	defs, err := crds.Read("example.com/m@v1", []string{"*.yaml"})
	require.NoError(t, err)
	var ac crdapply.CustomResourceDefinitionApplyConfiguration
	require.NoError(t, defs[0].Decode(&ac))
	_, err = client.ApiextensionsV1().CustomResourceDefinitions().Apply(ctx, &ac, metav1.ApplyOptions{FieldManager: "pulumi-kubernetes-0d1e2f", Force: true})
	require.NoError(t, err)

	_, err = server(t).Create(p.CreateRequest{Urn: urn("CRDBundle", "m"), Properties: bundleInputs(t, kc, "example.com/m@v1")})
	require.ErrorContains(t, err, "CRD alphas.example.com was applied by the Kubernetes provider for a stack made by an earlier version")
	crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "alphas.example.com", metav1.GetOptions{})
	require.NoError(t, err)
	for _, m := range crd.ManagedFields {
		assert.NotEqual(t, fieldManager, m.Manager, "nothing was taken over")
	}
}

// apiServer starts a local control plane for the test: its kubeconfig and an apiextensions
// client. It skips where the toolchain has not built the control plane's binaries.
func apiServer(t *testing.T, name string) ([]byte, apiextensions.Interface) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(paths.ToolsBin(), "kube-apiserver")); err != nil {
		t.Skip("no local control plane binaries: run scripts/toolchain install all (scripts/test does)")
	}
	ctx := context.Background()
	cp, err := controlplane.New(name, controlplane.WithDir(filepath.Join(t.TempDir(), "cp")))
	require.NoError(t, err)
	require.NoError(t, cp.Start(ctx))
	t.Cleanup(func() { assert.NoError(t, cp.Stop(ctx)) })
	kc, err := cp.Kubeconfig()
	require.NoError(t, err)
	client, err := crdClient(string(kc), "")
	require.NoError(t, err)
	return kc, client
}

// moduleFiles points the module cache at a temporary one; the function it returns writes a file
// of module ("name@version" under example.com).
func moduleFiles(t *testing.T) func(module, file, body string) {
	t.Helper()
	cache := t.TempDir()
	old := modules.Cache
	modules.Cache = func() (string, error) { return cache, nil }
	t.Cleanup(func() { modules.Cache = old })
	return func(module, file, body string) {
		dir := filepath.Join(cache, "example.com", module)
		require.NoError(t, os.MkdirAll(dir, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, file), []byte(body), 0o600))
	}
}
