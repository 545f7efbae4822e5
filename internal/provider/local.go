package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/istio-workshop/istio-workshop/infra/controlplane"
)

// LocalControlPlane is a local control plane (infra/controlplane) owned by a stack: `pulumi up`
// starts it and `pulumi destroy` stops it and removes its directory.
type LocalControlPlane struct{}

// LocalControlPlaneArgs are its inputs.
type LocalControlPlaneArgs struct {
	Name  string `pulumi:"name"`
	Nodes *int   `pulumi:"nodes,optional"`
}

// ClusterState is what every cluster resource returns besides its inputs.
type ClusterState struct {
	Kubeconfig  string `pulumi:"kubeconfig" provider:"secret"`
	ContextName string `pulumi:"contextName"`
}

// LocalControlPlaneState is its outputs.
type LocalControlPlaneState struct {
	LocalControlPlaneArgs
	ClusterState
}

func (LocalControlPlane) Annotate(a infer.Annotator) {
	a.Describe(&LocalControlPlane{}, "A Kubernetes control plane on loopback with simulated nodes (no Docker; objects exist, no traffic flows).")
}

// WireDependencies keeps the kubeconfig secret in state and outputs.
func (LocalControlPlane) WireDependencies(f infer.FieldSelector, _ *LocalControlPlaneArgs, s *LocalControlPlaneState) {
	f.OutputField(&s.Kubeconfig).AlwaysSecret()
}

func (args LocalControlPlaneArgs) controlPlane() (*controlplane.ControlPlane, error) {
	nodes := 1
	if args.Nodes != nil {
		nodes = *args.Nodes
	}
	return controlplane.New(args.Name, controlplane.WithNodes(nodes))
}

// Check refuses a bad name or missing binaries before anything changes.
func (LocalControlPlane) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[LocalControlPlaneArgs], error) {
	args, failures, err := infer.DefaultCheck[LocalControlPlaneArgs](ctx, req.NewInputs)
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[LocalControlPlaneArgs]{Inputs: args, Failures: failures}, err
	}
	if _, err := args.controlPlane(); err != nil {
		failures = append(failures, p.CheckFailure{Property: "name", Reason: err.Error()})
	} else if err := controlplane.CheckBinaries(); err != nil {
		failures = append(failures, p.CheckFailure{Reason: err.Error()})
	}
	return infer.CheckResponse[LocalControlPlaneArgs]{Inputs: args, Failures: failures}, nil
}

func (LocalControlPlane) Create(ctx context.Context, req infer.CreateRequest[LocalControlPlaneArgs]) (infer.CreateResponse[LocalControlPlaneState], error) {
	state := LocalControlPlaneState{LocalControlPlaneArgs: req.Inputs}
	cp, err := req.Inputs.controlPlane()
	if err != nil {
		return infer.CreateResponse[LocalControlPlaneState]{}, err
	}
	state.ContextName = cp.ContextName()
	if req.DryRun {
		return infer.CreateResponse[LocalControlPlaneState]{ID: cp.Name, Output: state}, nil
	}
	if cp.Exists() {
		return infer.CreateResponse[LocalControlPlaneState]{}, fmt.Errorf(
			"a local control plane named %s already exists (%s) and this stack does not own it: stop it with `workshop-local stop --name %s`, or set workshop:clusterName", cp.Name, cp.Dir, cp.Name)
	}
	if err := cp.Start(ctx); err != nil { // a failed start removes what it made
		return infer.CreateResponse[LocalControlPlaneState]{}, err
	}
	kc, err := cp.Kubeconfig()
	if err != nil {
		return infer.CreateResponse[LocalControlPlaneState]{}, err
	}
	state.Kubeconfig = string(kc)
	return infer.CreateResponse[LocalControlPlaneState]{ID: cp.Name, Output: state}, nil
}

// Read notices a control plane that was stopped behind Pulumi's back: refresh then drops it and
// the next up starts a new one.
func (LocalControlPlane) Read(ctx context.Context, req infer.ReadRequest[LocalControlPlaneArgs, LocalControlPlaneState]) (infer.ReadResponse[LocalControlPlaneArgs, LocalControlPlaneState], error) {
	cp, err := req.Inputs.controlPlane()
	if err != nil {
		return infer.ReadResponse[LocalControlPlaneArgs, LocalControlPlaneState]{}, err
	}
	st, err := cp.Status(ctx)
	if err != nil {
		return infer.ReadResponse[LocalControlPlaneArgs, LocalControlPlaneState]{}, err
	}
	if !st.Ready {
		return infer.ReadResponse[LocalControlPlaneArgs, LocalControlPlaneState]{}, nil
	}
	state := req.State
	if kc, err := cp.Kubeconfig(); err == nil {
		state.Kubeconfig = string(kc)
	}
	return infer.ReadResponse[LocalControlPlaneArgs, LocalControlPlaneState]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

func (LocalControlPlane) Delete(ctx context.Context, req infer.DeleteRequest[LocalControlPlaneState]) (infer.DeleteResponse, error) {
	cp, err := req.State.controlPlane()
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	return infer.DeleteResponse{}, cp.Stop(ctx)
}
