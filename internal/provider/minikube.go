package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// MinikubeProfile is a minikube profile driven through the minikube CLI.
type MinikubeProfile struct{}

type MinikubeProfileArgs struct {
	Name    string `pulumi:"name"`
	Workers *int   `pulumi:"workers,optional"`
}

type MinikubeProfileState struct {
	MinikubeProfileArgs
	ClusterState
}

func (MinikubeProfile) Annotate(a infer.Annotator) {
	a.Describe(&MinikubeProfile{}, "A minikube profile (needs the minikube CLI).")
}

func (MinikubeProfile) WireDependencies(f infer.FieldSelector, _ *MinikubeProfileArgs, s *MinikubeProfileState) {
	f.OutputField(&s.Kubeconfig).AlwaysSecret()
}

var errNoMinikube = errors.New("clusterProvider minikube needs the minikube CLI on PATH: install it (https://minikube.sigs.k8s.io/docs/start/) or set workshop:clusterProvider kind")

// minikube runs the CLI with KUBECONFIG pointed at kubeconfig (a scratch file), so the user's own
// kubeconfig is never edited.
func minikube(ctx context.Context, kubeconfig string, args ...string) ([]byte, error) {
	bin, err := exec.LookPath("minikube")
	if err != nil {
		return nil, errNoMinikube
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("minikube %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func (MinikubeProfile) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[MinikubeProfileArgs], error) {
	args, failures, err := infer.DefaultCheck[MinikubeProfileArgs](ctx, req.NewInputs)
	if err == nil && len(failures) == 0 {
		if _, lookErr := exec.LookPath("minikube"); lookErr != nil {
			failures = append(failures, p.CheckFailure{Reason: errNoMinikube.Error()})
		}
	}
	return infer.CheckResponse[MinikubeProfileArgs]{Inputs: args, Failures: failures}, err
}

func (MinikubeProfile) Create(ctx context.Context, req infer.CreateRequest[MinikubeProfileArgs]) (infer.CreateResponse[MinikubeProfileState], error) {
	state := MinikubeProfileState{MinikubeProfileArgs: req.Inputs, ClusterState: ClusterState{ContextName: req.Inputs.Name}}
	if req.DryRun {
		return infer.CreateResponse[MinikubeProfileState]{ID: req.Inputs.Name, Output: state}, nil
	}
	nodes := 2
	if req.Inputs.Workers != nil {
		nodes = 1 + *req.Inputs.Workers
	}
	var kc string
	err := withScratchKubeconfig(func(path string) error {
		// Calico: stage 7's NetworkPolicies need a CNI that enforces them, which minikube's
		// default choice may not be.
		if _, err := minikube(ctx, path, "start", "--profile", req.Inputs.Name, "--nodes", fmt.Sprint(nodes),
			"--kubernetes-version", versions.Kubernetes, "--cni", "calico"); err != nil {
			// A failed start leaves a half-made profile: remove it.
			_, _ = minikube(context.WithoutCancel(ctx), path, "delete", "--profile", req.Inputs.Name)
			return err
		}
		var err error
		kc, err = flatten(path)
		return err
	})
	if err != nil {
		return infer.CreateResponse[MinikubeProfileState]{}, err
	}
	state.Kubeconfig = kc
	return infer.CreateResponse[MinikubeProfileState]{ID: req.Inputs.Name, Output: state}, nil
}

func (MinikubeProfile) Read(ctx context.Context, req infer.ReadRequest[MinikubeProfileArgs, MinikubeProfileState]) (infer.ReadResponse[MinikubeProfileArgs, MinikubeProfileState], error) {
	var running bool
	_ = withScratchKubeconfig(func(path string) error {
		out, err := minikube(ctx, path, "status", "--profile", req.ID, "--format", "{{.APIServer}}")
		running = err == nil && strings.Contains(string(out), "Running")
		return nil
	})
	if !running {
		return infer.ReadResponse[MinikubeProfileArgs, MinikubeProfileState]{}, nil
	}
	return infer.ReadResponse[MinikubeProfileArgs, MinikubeProfileState]{ID: req.ID, Inputs: req.Inputs, State: req.State}, nil
}

func (MinikubeProfile) Delete(ctx context.Context, req infer.DeleteRequest[MinikubeProfileState]) (infer.DeleteResponse, error) {
	return infer.DeleteResponse{}, withScratchKubeconfig(func(path string) error {
		_, err := minikube(ctx, path, "delete", "--profile", req.ID)
		return err
	})
}

// flatten embeds the certificate files minikube references, so the kubeconfig is self-contained.
func flatten(path string) (string, error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return "", err
	}
	if err := clientcmdapi.FlattenConfig(cfg); err != nil {
		return "", fmt.Errorf("embedding minikube's certificates from %s: %w", filepath.Dir(path), err)
	}
	out, err := clientcmd.Write(*cfg)
	return string(out), err
}
