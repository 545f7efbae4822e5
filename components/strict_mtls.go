package components

import (
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	securityapi "istio.io/api/security/v1beta1"
	security "istio.io/client-go/pkg/apis/security/v1"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// StrictMTLS is stage 3: a mesh-wide PeerAuthentication in the root namespace that accepts only
// mutual TLS, and a namespace outside the mesh with a plain curl client to prove it.
type StrictMTLS struct {
	pulumi.ResourceState
}

// NewStrictMTLS puts STRICT mTLS in force for the whole mesh.
func NewStrictMTLS(ctx *pulumi.Context, name string, cfg config.Config, mesh *Mesh, opts ...pulumi.ResourceOption) (*StrictMTLS, error) {
	s := &StrictMTLS{}
	if err := ctx.RegisterComponentResource("istio-workshop:components:StrictMTLS", name, s, opts...); err != nil {
		return nil, err
	}
	under := []pulumi.ResourceOption{pulumi.Parent(s)}
	// In the root namespace with no selector, the policy applies to every workload of the mesh.
	if _, err := customResource(ctx, &security.PeerAuthentication{
		TypeMeta:   k8smeta.TypeMeta{APIVersion: "security.istio.io/v1", Kind: "PeerAuthentication"},
		ObjectMeta: k8smeta.ObjectMeta{Name: "default", Namespace: names.IstioNamespace},
		Spec: securityapi.PeerAuthentication{
			Mtls: &securityapi.PeerAuthentication_MutualTLS{Mode: securityapi.PeerAuthentication_MutualTLS_STRICT},
		},
	}, append(under, pulumi.DependsOn(mesh.Istio))...); err != nil {
		return nil, err
	}

	// Explicitly out of the mesh in either mode.
	outside := map[string]string{"istio.io/dataplane-mode": "none", "istio-injection": "disabled"}
	// After the mesh, though it is outside it: a destroy then deletes this namespace in the same
	// layer as Bookinfo's (see deleted_with.go).
	ns, err := namespace(ctx, names.OutsideNamespace, outside, append(under, pulumi.DependsOn(mesh.Ready))...)
	if err != nil {
		return nil, err
	}
	if err := curlClient(ctx, names.OutsideNamespace, append(under, pulumi.DependsOn([]pulumi.Resource{ns}))...); err != nil {
		return nil, err
	}
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{})
}

// curlClient is a long-running curl pod that participants `kubectl exec` into.
func curlClient(ctx *pulumi.Context, ns string, opts ...pulumi.ResourceOption) error {
	opts = append(opts, deletedWithItsNamespace(ctx, ns))
	labels := pulumi.StringMap{"app": pulumi.String("curl-client")}
	meta := &metav1.ObjectMetaArgs{Name: pulumi.String("curl-client"), Namespace: pulumi.String(ns), Labels: labels}
	if _, err := corev1.NewServiceAccount(ctx, ns+"-curl-client", &corev1.ServiceAccountArgs{Metadata: meta}, opts...); err != nil {
		return err
	}
	_, err := appsv1.NewDeployment(ctx, ns+"-curl-client", &appsv1.DeploymentArgs{
		Metadata: meta,
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(1),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: labels},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels},
				Spec: &corev1.PodSpecArgs{
					ServiceAccountName: pulumi.String("curl-client"),
					// sleep, as PID 1, ignores SIGTERM: without this every delete of the pod (and
					// of its namespace) waited the default 30 s grace period for nothing.
					TerminationGracePeriodSeconds: pulumi.Int(0),
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:    pulumi.String("curl"),
						Image:   pulumi.String(versions.Curl),
						Command: pulumi.ToStringArray([]string{"sleep", "infinity"}),
						SecurityContext: &corev1.SecurityContextArgs{
							RunAsNonRoot:             pulumi.Bool(true),
							AllowPrivilegeEscalation: pulumi.Bool(false),
						},
					}},
				},
			},
		},
	}, opts...)
	return err
}
