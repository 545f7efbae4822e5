package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi-go-provider/infer"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdapply "k8s.io/apiextensions-apiserver/pkg/client/applyconfiguration/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/istio-workshop/istio-workshop/internal/crds"
)

// CRDBundle owns one set of CustomResourceDefinitions (Istio's, cert-manager's, the Gateway
// API's), read from the pinned Go module that carries them. Its state is their names and
// content hashes, not the definitions: a stack holds a few kilobytes where it held every schema
// three times, and the Kubernetes provider never creates a CRD (so it never drops its discovery
// cache mid-run). A preview names each CRD added, changed or removed.
type CRDBundle struct{}

type CRDBundleArgs struct {
	Kubeconfig string `pulumi:"kubeconfig" provider:"secret"`
	Context    string `pulumi:"context,optional"`
	// Module is the Go module ("path@version") and Paths the files or globs inside it.
	Module string   `pulumi:"module"`
	Paths  []string `pulumi:"paths"`
	// CRDs maps each definition's name to the hash of its content, as the program read it.
	CRDs map[string]string `pulumi:"crds"`
}

type CRDBundleState struct {
	CRDBundleArgs
}

// fieldManager is who the API server records as applying the definitions.
const fieldManager = "istio-workshop"

func (CRDBundle) Annotate(a infer.Annotator) {
	a.Describe(&CRDBundle{}, "CustomResourceDefinitions from a pinned module, applied server-side and waited for until Established; "+
		"the state holds their names and hashes only.")
}

func (CRDBundle) WireDependencies(f infer.FieldSelector, _ *CRDBundleArgs, s *CRDBundleState) {
	f.OutputField(&s.Kubeconfig).AlwaysSecret()
}

func (CRDBundle) Create(ctx context.Context, req infer.CreateRequest[CRDBundleArgs]) (infer.CreateResponse[CRDBundleState], error) {
	state := CRDBundleState{CRDBundleArgs: req.Inputs}
	if req.DryRun {
		return infer.CreateResponse[CRDBundleState]{ID: req.Name, Output: state}, nil
	}
	if err := applyBundle(ctx, req.Inputs, nil); err != nil {
		return infer.CreateResponse[CRDBundleState]{}, err
	}
	return infer.CreateResponse[CRDBundleState]{ID: req.Name, Output: state}, nil
}

func (CRDBundle) Update(ctx context.Context, req infer.UpdateRequest[CRDBundleArgs, CRDBundleState]) (infer.UpdateResponse[CRDBundleState], error) {
	state := CRDBundleState{CRDBundleArgs: req.Inputs}
	if req.DryRun {
		return infer.UpdateResponse[CRDBundleState]{Output: state}, nil
	}
	if err := applyBundle(ctx, req.Inputs, req.State.CRDs); err != nil {
		return infer.UpdateResponse[CRDBundleState]{}, err
	}
	return infer.UpdateResponse[CRDBundleState]{Output: state}, nil
}

// Delete removes the definitions the bundle applied, and only those, and waits until they are
// gone (the API server first removes their objects; Pulumi deletes the stack's own before this).
func (CRDBundle) Delete(ctx context.Context, req infer.DeleteRequest[CRDBundleState]) (infer.DeleteResponse, error) {
	client, err := crdClient(req.State.Kubeconfig, req.State.Context)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	return infer.DeleteResponse{}, removeCRDs(ctx, client, slices.Sorted(maps.Keys(req.State.CRDs)))
}

// applyBundle server-side-applies every definition of in, waits for each to be Established, then
// removes those of before that in no longer has.
func applyBundle(ctx context.Context, in CRDBundleArgs, before map[string]string) error {
	defs, err := crds.Read(in.Module, in.Paths)
	if err != nil {
		return err
	}
	got := map[string]string{}
	for _, d := range defs {
		got[d.Name] = d.Hash
	}
	if !maps.Equal(got, in.CRDs) {
		// The program read other files than this process finds: refuse rather than apply
		// definitions the preview did not show.
		return fmt.Errorf("the CRDs of %s %v differ from what the program read (%d definitions here, %d there): run the preview again",
			in.Module, in.Paths, len(got), len(in.CRDs))
	}
	client, err := crdClient(in.Kubeconfig, in.Context)
	if err != nil {
		return err
	}
	if before == nil {
		if err := refuseOldLayout(ctx, client, defs); err != nil {
			return err
		}
	}
	for _, d := range defs {
		var ac crdapply.CustomResourceDefinitionApplyConfiguration
		if err := d.Decode(&ac); err != nil {
			return fmt.Errorf("CRD %s: %w", d.Name, err)
		}
		if _, err := client.ApiextensionsV1().CustomResourceDefinitions().Apply(ctx, &ac,
			metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
			return fmt.Errorf("applying CRD %s: %w", d.Name, err)
		}
	}
	for _, d := range defs {
		if err := waitEstablished(ctx, client, d.Name); err != nil {
			return err
		}
	}
	var gone []string
	for name := range before {
		if _, kept := got[name]; !kept {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	return removeCRDs(ctx, client, gone)
}

// refuseOldLayout stops a bundle from taking over CRDs that the Kubernetes provider applied for a
// stack made by an earlier version of the workshop, which kept each CRD as an object of its own:
// that run would delete them at its end, and with them every object of theirs.
func refuseOldLayout(ctx context.Context, client apiextensions.Interface, defs []crds.Definition) error {
	for _, d := range defs {
		crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, d.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading CRD %s: %w", d.Name, err)
		}
		for _, m := range crd.ManagedFields {
			if strings.HasPrefix(m.Manager, "pulumi-kubernetes") {
				return fmt.Errorf("CRD %s was applied by the Kubernetes provider for a stack made by an earlier version of the workshop, "+
					"which kept each CRD as an object of its own: this run would delete it at its end, and every object of its kind with it. "+
					"Destroy that stack first (scripts/workshop reset --stack STACK, or scripts/pulumi destroy --stack STACK), then run up again", d.Name)
			}
		}
	}
	return nil
}

// crdTimeout bounds each wait: a definition is Established within seconds once its names are
// accepted, and gone within seconds once its objects are.
const crdTimeout = 2 * time.Minute

func waitEstablished(ctx context.Context, client apiextensions.Interface, name string) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, crdTimeout, true, func(ctx context.Context) (bool, error) {
		crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		for _, c := range crd.Status.Conditions {
			switch {
			case c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue:
				return true, nil
			case c.Type == apiextensionsv1.NamesAccepted && c.Status == apiextensionsv1.ConditionFalse:
				return false, fmt.Errorf("CRD %s: its names are not accepted: %s", name, c.Message)
			}
		}
		last = "not Established yet"
		return false, nil
	})
	if err != nil && !strings.HasPrefix(err.Error(), "CRD ") {
		return fmt.Errorf("CRD %s did not become Established within %s (%s): %w", name, crdTimeout, last, err)
	}
	return err
}

func removeCRDs(ctx context.Context, client apiextensions.Interface, names []string) error {
	for _, name := range names {
		err := client.ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting CRD %s: %w", name, err)
		}
	}
	for _, name := range names {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, crdTimeout, true, func(ctx context.Context) (bool, error) {
			_, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s was not gone within %s: %w", name, crdTimeout, err)
		}
	}
	return nil
}

// crdClient is an apiextensions client for context (or the current one) of a kubeconfig.
func crdClient(kubeconfig, context string) (apiextensions.Interface, error) {
	rc, err := restConfig([]byte(kubeconfig), context, 30*time.Second)
	if err != nil {
		return nil, err
	}
	return apiextensions.NewForConfig(rc)
}
