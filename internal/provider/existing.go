package provider

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// ExistingCluster is a cluster the user already has. It creates and deletes nothing; its Check
// refuses a kubeconfig or context that does not answer before any change is made.
type ExistingCluster struct{}

type ExistingClusterArgs struct {
	KubeconfigPath string `pulumi:"kubeconfigPath"`
	Context        string `pulumi:"context,optional"`
}

type ExistingClusterState struct {
	ExistingClusterArgs
	ClusterState
	ServerVersion string `pulumi:"serverVersion"`
}

func (ExistingCluster) Annotate(a infer.Annotator) {
	a.Describe(&ExistingCluster{}, "A cluster the workshop uses but does not own: nothing is created or deleted.")
}

func (ExistingCluster) WireDependencies(f infer.FieldSelector, _ *ExistingClusterArgs, s *ExistingClusterState) {
	f.OutputField(&s.Kubeconfig).AlwaysSecret()
}

func (args ExistingClusterArgs) connect(ctx context.Context) (kubeconfig []byte, contextName, version string, err error) {
	kubeconfig, err = os.ReadFile(args.KubeconfigPath)
	if err != nil {
		return nil, "", "", fmt.Errorf("workshop:kubeconfig: %w", err)
	}
	client, err := clientFor(kubeconfig, args.Context)
	if err != nil {
		return nil, "", "", fmt.Errorf("workshop:kubeconfig %s: %w (set workshop:kubeContext to one of its contexts)", args.KubeconfigPath, err)
	}
	version, err = ping(ctx, client)
	if err != nil {
		return nil, "", "", fmt.Errorf("the cluster of workshop:kubeconfig %s (context %q) does not answer: %w; start it, or point workshop:kubeconfig/workshop:kubeContext at one that runs",
			args.KubeconfigPath, args.Context, err)
	}
	contextName = args.Context
	if contextName == "" {
		contextName = currentContext(kubeconfig)
	}
	return kubeconfig, contextName, version, nil
}

func (ExistingCluster) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[ExistingClusterArgs], error) {
	args, failures, err := infer.DefaultCheck[ExistingClusterArgs](ctx, req.NewInputs)
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[ExistingClusterArgs]{Inputs: args, Failures: failures}, err
	}
	if _, _, _, err := args.connect(ctx); err != nil {
		failures = append(failures, p.CheckFailure{Property: "kubeconfigPath", Reason: err.Error()})
	}
	return infer.CheckResponse[ExistingClusterArgs]{Inputs: args, Failures: failures}, nil
}

func (ExistingCluster) Create(ctx context.Context, req infer.CreateRequest[ExistingClusterArgs]) (infer.CreateResponse[ExistingClusterState], error) {
	kc, contextName, version, err := req.Inputs.connect(ctx)
	if err != nil {
		return infer.CreateResponse[ExistingClusterState]{}, err
	}
	return infer.CreateResponse[ExistingClusterState]{ID: contextName, Output: ExistingClusterState{
		ExistingClusterArgs: req.Inputs,
		ClusterState:        ClusterState{Kubeconfig: string(kc), ContextName: contextName},
		ServerVersion:       version,
	}}, nil
}

// Delete forgets the cluster: it is not ours to remove.
func (ExistingCluster) Delete(context.Context, infer.DeleteRequest[ExistingClusterState]) (infer.DeleteResponse, error) {
	return infer.DeleteResponse{}, nil
}
