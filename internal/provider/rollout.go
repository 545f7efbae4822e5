package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pulumi/pulumi-go-provider/infer"
	k8serrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/istio-workshop/istio-workshop/internal/rollouts"
)

// Rollout restarts workloads, the way `kubectl rollout restart` does, when it is created, when
// its trigger changes and when it is deleted, and waits until every restarted workload has
// rolled out. Stage 8 uses it for the pods that hold workload certificates (ztunnel, gateways,
// waypoints, sidecars): after istiod has moved to another CA, they restart at once and get
// certificates of the new root, instead of keeping the old root's for up to a day.
type Rollout struct{}

type RolloutArgs struct {
	Kubeconfig string `pulumi:"kubeconfig" provider:"secret"`
	Context    string `pulumi:"context,optional"`
	// Trigger is what the workloads follow (stage 8: the CA istiod signs with).
	Trigger string `pulumi:"trigger"`
	// Workloads are "namespace/deployment/name", "namespace/daemonset/name", or
	// "namespace/deployment/*" (every Deployment of the namespace). One that does not exist is
	// skipped (a waypoint istiod has not made).
	Workloads []string `pulumi:"workloads"`
}

type RolloutState struct {
	RolloutArgs
}

// restartedAt is the pod-template annotation `kubectl rollout restart` sets.
const restartedAt = "kubectl.kubernetes.io/restartedAt"

func (Rollout) Annotate(a infer.Annotator) {
	a.Describe(&Rollout{}, "Restarts workloads (as kubectl rollout restart) on create, on a change of trigger and on delete, and waits for their rollout.")
}

func (Rollout) WireDependencies(f infer.FieldSelector, _ *RolloutArgs, s *RolloutState) {
	f.OutputField(&s.Kubeconfig).AlwaysSecret()
}

func (Rollout) Create(ctx context.Context, req infer.CreateRequest[RolloutArgs]) (infer.CreateResponse[RolloutState], error) {
	state := RolloutState{RolloutArgs: req.Inputs}
	if !req.DryRun {
		if err := restart(ctx, req.Inputs); err != nil {
			return infer.CreateResponse[RolloutState]{}, err
		}
	}
	return infer.CreateResponse[RolloutState]{ID: req.Name, Output: state}, nil
}

func (Rollout) Update(ctx context.Context, req infer.UpdateRequest[RolloutArgs, RolloutState]) (infer.UpdateResponse[RolloutState], error) {
	state := RolloutState{RolloutArgs: req.Inputs}
	if !req.DryRun && req.Inputs.Trigger != req.State.Trigger {
		if err := restart(ctx, req.Inputs); err != nil {
			return infer.UpdateResponse[RolloutState]{}, err
		}
	}
	return infer.UpdateResponse[RolloutState]{Output: state}, nil
}

// Delete restarts them again: what they followed is gone (stage 8 walked back: istiod is back on
// its own CA). A destroy never gets here: the program deletes it with istio-system.
func (Rollout) Delete(ctx context.Context, req infer.DeleteRequest[RolloutState]) (infer.DeleteResponse, error) {
	return infer.DeleteResponse{}, restart(ctx, req.State.RolloutArgs)
}

// restart sets the restart annotation on every workload of in, then waits for each rollout.
func restart(ctx context.Context, in RolloutArgs) error {
	client, err := clientFor([]byte(in.Kubeconfig), in.Context)
	if err != nil {
		return err
	}
	at := time.Now().UTC().Format(time.RFC3339)
	patch := []byte(fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, restartedAt, at))
	type target struct{ ns, kind, name string }
	var restarted []target
	for _, w := range in.Workloads {
		parts := strings.SplitN(w, "/", 3)
		if len(parts) != 3 {
			return fmt.Errorf("workload %q: want namespace/kind/name", w)
		}
		ns, kind, name := parts[0], parts[1], parts[2]
		names := []string{name}
		if name == "*" && kind == "deployment" {
			list, err := client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
			if err != nil && !k8serrors.IsNotFound(err) {
				return err
			}
			names = names[:0]
			if list != nil {
				for _, d := range list.Items {
					names = append(names, d.Name)
				}
			}
		}
		for _, n := range names {
			switch kind {
			case "deployment":
				_, err = client.AppsV1().Deployments(ns).Patch(ctx, n, types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager})
			case "daemonset":
				_, err = client.AppsV1().DaemonSets(ns).Patch(ctx, n, types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager})
			default:
				return fmt.Errorf("workload %q: kind must be deployment or daemonset", w)
			}
			if k8serrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("restarting %s %s/%s: %w", kind, ns, n, err)
			}
			restarted = append(restarted, target{ns, kind, n})
		}
	}
	deadline, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for _, t := range restarted {
		if err := waitRolledOut(deadline, client, t.ns, t.kind, t.name); err != nil {
			return err
		}
	}
	return nil
}

// waitRolledOut polls until the workload runs its latest template on every replica.
func waitRolledOut(ctx context.Context, client kubernetes.Interface, ns, kind, name string) error {
	for {
		done, err := rolledOut(ctx, client, ns, kind, name)
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s/%s has not rolled out after its restart: kubectl rollout status %s/%s -n %s", kind, ns, name, kind, name, ns)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func rolledOut(ctx context.Context, client kubernetes.Interface, ns, kind, name string) (bool, error) {
	if kind == "daemonset" {
		d, err := client.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return rollouts.DaemonSet(d), nil
	}
	d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	return rollouts.Deployment(d), nil
}
