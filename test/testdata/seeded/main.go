// A program with seeded security mistakes, for the policy pack's end-to-end test: the real
// engine must run the pack on its preview and fail it. Its Kubernetes provider only renders
// YAML, so the preview needs no cluster and no CRD.
package main

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		dir, _ := ctx.GetConfig("seeded:renderDir")
		render, err := kubernetes.NewProvider(ctx, "render", &kubernetes.ProviderArgs{RenderYamlToDirectory: pulumi.String(dir)})
		if err != nil {
			return err
		}
		opts := pulumi.Provider(render)
		meta := &metav1.ObjectMetaArgs{Name: pulumi.String("seeded"), Namespace: pulumi.String("default")}
		if _, err := apiextensions.NewCustomResource(ctx, "permissive", &apiextensions.CustomResourceArgs{
			ApiVersion:  pulumi.String("security.istio.io/v1"),
			Kind:        pulumi.String("PeerAuthentication"),
			Metadata:    meta,
			OtherFields: kubernetes.UntypedArgs{"spec": map[string]any{"mtls": map[string]any{"mode": "PERMISSIVE"}}},
		}, opts); err != nil {
			return err
		}
		if _, err := corev1.NewConfigMap(ctx, "key-in-configmap", &corev1.ConfigMapArgs{
			Metadata: meta,
			Data:     pulumi.StringMap{"key.pem": pulumi.String("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")},
		}, opts); err != nil {
			return err
		}
		labels := pulumi.StringMap{"app": pulumi.String("seeded")}
		_, err = appsv1.NewDeployment(ctx, "unpinned", &appsv1.DeploymentArgs{
			Metadata: meta,
			Spec: &appsv1.DeploymentSpecArgs{
				Selector: &metav1.LabelSelectorArgs{MatchLabels: labels},
				Template: &corev1.PodTemplateSpecArgs{
					Metadata: &metav1.ObjectMetaArgs{Labels: labels},
					Spec: &corev1.PodSpecArgs{Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name: pulumi.String("web"), Image: pulumi.String("docker.io/library/nginx"),
					}}},
				},
			},
		}, opts)
		return err
	})
}
