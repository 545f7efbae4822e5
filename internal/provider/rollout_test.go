package provider

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A Rollout restarts exactly the workloads it names (a namespace's every Deployment for "*"),
// skips one that does not exist, and returns once each has rolled out, on a real API server
// (kwok runs the pods).
func TestRolloutRestartsTheNamedWorkloadsAndWaitsForThem(t *testing.T) {
	kc, _ := apiServer(t, "rollout")
	client, err := clientFor(kc, "")
	require.NoError(t, err)
	ctx := context.Background()
	deployment := func(ns, name string) {
		labels := map[string]string{"app": name}
		_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil {
			require.Contains(t, err.Error(), "already exists")
		}
		_, err = client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.invalid/c:1"}}}}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	deployment("mesh", "a")
	deployment("mesh", "b")
	deployment("gateways", "ingress")
	deployment("elsewhere", "untouched")

	require.NoError(t, restart(ctx, RolloutArgs{Kubeconfig: string(kc), Trigger: "ca-1",
		Workloads: []string{"mesh/deployment/*", "gateways/deployment/ingress", "gateways/deployment/not-made-yet"}}))
	restartedAtOf := func(ns, name string) string {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		return d.Spec.Template.Annotations[restartedAt]
	}
	for _, w := range [][2]string{{"mesh", "a"}, {"mesh", "b"}, {"gateways", "ingress"}} {
		assert.NotEmpty(t, restartedAtOf(w[0], w[1]), "%s/%s is restarted", w[0], w[1])
		done, err := rolledOut(ctx, client, w[0], "deployment", w[1])
		require.NoError(t, err)
		assert.True(t, done, "%s/%s has rolled out when restart returns", w[0], w[1])
	}
	assert.Empty(t, restartedAtOf("elsewhere", "untouched"), "a workload it does not name is left alone")
	assert.ErrorContains(t, restart(ctx, RolloutArgs{Kubeconfig: string(kc), Workloads: []string{"mesh/statefulset/a"}}), "kind must be deployment or daemonset")
}
