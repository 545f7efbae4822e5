// Package rollouts says whether a workload has rolled out: every replica runs its latest
// template and is available. The provider's restarts wait for it; verify checks it.
package rollouts

import appsv1 "k8s.io/api/apps/v1"

// Deployment: the controller has seen the latest spec, and exactly the wanted replicas exist,
// all of the latest template, all available.
func Deployment(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want
}

// DaemonSet: the controller has seen the latest spec, and every scheduled pod is of the latest
// template and available.
func DaemonSet(d *appsv1.DaemonSet) bool {
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedNumberScheduled == s.DesiredNumberScheduled && s.NumberAvailable == s.DesiredNumberScheduled
}
