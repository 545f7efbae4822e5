// Command configmap is a Pulumi program that registers one ConfigMap through the Kubernetes
// provider the workshop uses (the cluster of $KUBECONFIG): the benchmark's baseline for a
// no-change preview, the provider's start included.
package main

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		_, err := corev1.NewConfigMap(ctx, "baseline", &corev1.ConfigMapArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("bench-baseline"), Namespace: pulumi.String("default")},
			Data:     pulumi.StringMap{"k": pulumi.String("v")},
		})
		return err
	})
}
