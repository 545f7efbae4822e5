package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// MeshModeGuard refuses to switch Istio's data-plane mode on a live stack. Going from ambient to
// sidecar (or back) in place would leave workloads half in each mode while charts are swapped;
// Check runs before any change, so the preview fails and nothing is touched.
type MeshModeGuard struct{}

type MeshModeGuardArgs struct {
	Mode string `pulumi:"mode"`
}

func (MeshModeGuard) Annotate(a infer.Annotator) {
	a.Describe(&MeshModeGuard{}, "Refuses an in-place change of the mesh's data-plane mode.")
}

func (MeshModeGuard) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[MeshModeGuardArgs], error) {
	args, failures, err := infer.DefaultCheck[MeshModeGuardArgs](ctx, req.NewInputs)
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[MeshModeGuardArgs]{Inputs: args, Failures: failures}, err
	}
	if old, ok := req.OldInputs.GetOk("mode"); ok && old.IsString() && old.AsString() != args.Mode {
		failures = append(failures, p.CheckFailure{Property: "mode", Reason: fmt.Sprintf(
			"this stack's mesh runs in %s mode; switching workshop:meshMode to %s in place is not supported: destroy the stack first (scripts/pulumi destroy), or set workshop:meshMode back to %s",
			old.AsString(), args.Mode, old.AsString())})
	}
	return infer.CheckResponse[MeshModeGuardArgs]{Inputs: args, Failures: failures}, nil
}

func (MeshModeGuard) Create(ctx context.Context, req infer.CreateRequest[MeshModeGuardArgs]) (infer.CreateResponse[MeshModeGuardArgs], error) {
	return infer.CreateResponse[MeshModeGuardArgs]{ID: req.Name, Output: req.Inputs}, nil
}

func (MeshModeGuard) Delete(context.Context, infer.DeleteRequest[MeshModeGuardArgs]) (infer.DeleteResponse, error) {
	return infer.DeleteResponse{}, nil
}
