package components

import (
	"context"
	"maps"
	"slices"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/istio-workshop/istio-workshop/infra"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
)

// IstiodCA is stage 8: cert-manager issues istiod an intermediate CA from the workshop root (stage
// 2), which istiod signs every workload certificate with, and renews it.
type IstiodCA struct {
	pulumi.ResourceState

	// Certificate is the intermediate's Certificate; its Secret is names.IstiodCASecret.
	Certificate pulumi.Resource
}

// NewIstiodCA asks cert-manager for istiod's intermediate CA. istiod reads it from its cacerts
// volume, pointed at the Secret by the mesh (MeshShape.PluggedCA); the Secret has the layout
// cert-manager writes (tls.crt: the intermediate, tls.key, ca.crt: the root), which istiod reads
// as it is.
func NewIstiodCA(ctx *pulumi.Context, name string, cfg config.Config, cluster *infra.Cluster, tls *IngressTLS, mesh *Mesh, opts ...pulumi.ResourceOption) (*IstiodCA, error) {
	c := &IstiodCA{}
	if err := ctx.RegisterComponentResource("istio-workshop:components:IstiodCA", name, c, opts...); err != nil {
		return nil, err
	}
	var err error
	c.Certificate, err = customResource(ctx, IstiodCACertificate(cfg),
		pulumi.Parent(c), pulumi.DependsOn([]pulumi.Resource{tls.Issuer, mesh.SystemNamespace}))
	if err != nil {
		return nil, err
	}
	// Once istiod runs on the new CA (its chart is in mesh.Ready: Pulumi waits for its rollout),
	// the pods holding workload certificates restart and get the new root's; walking back
	// restarts them again after istiod is back on its own CA. A destroy skips it (DeletedWith).
	rollout := &rolloutResource{}
	if err := ctx.RegisterResource("workshop:index:Rollout", name+"-workloads", pulumi.Map{
		"kubeconfig": cluster.Kubeconfig,
		"context":    cluster.ContextName,
		"trigger":    pulumi.String(names.IstiodCASecret),
		"workloads":  pulumi.ToStringArray(CertificateHolders(cfg.MeshMode)),
	}, rollout, pulumi.Parent(c), pulumi.DependsOn(append([]pulumi.Resource{c.Certificate}, mesh.Ready...)),
		pulumi.DeletedWith(mesh.SystemNamespace), pulumi.AdditionalSecretOutputs([]string{"kubeconfig"})); err != nil {
		return nil, err
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{})
}

type rolloutResource struct{ pulumi.CustomResourceState }

// CertificateHolders are the workloads that hold workload certificates in mode, as
// namespace/kind/name ("*": every Deployment of the namespace): ztunnel and the waypoints in
// ambient mode (the application pods hold none), every injected pod in sidecar mode; the
// gateways in both.
func CertificateHolders(mode config.MeshMode) []string {
	gateways := []string{names.IngressNamespace + "/deployment/*", names.EgressNamespace + "/deployment/*"}
	if mode == config.Ambient {
		return append([]string{names.IstioNamespace + "/daemonset/ztunnel", names.BookinfoNamespace + "/deployment/" + names.Waypoint}, gateways...)
	}
	return append(gateways, names.BookinfoNamespace+"/deployment/*", names.EgressClientNamespace+"/deployment/*")
}

// IstiodCACertificate is the intermediate CA's Certificate. The up waits until cert-manager has
// issued it (Ready), so a stage 8 that cannot get its CA fails where the cause is.
func IstiodCACertificate(cfg config.Config) *cmapi.Certificate {
	return &cmapi.Certificate{
		TypeMeta: k8smeta.TypeMeta{APIVersion: "cert-manager.io/v1", Kind: "Certificate"},
		ObjectMeta: k8smeta.ObjectMeta{Name: names.IstiodCASecret, Namespace: names.IstioNamespace,
			Annotations: map[string]string{waitFor: "condition=Ready"}},
		Spec: cmapi.CertificateSpec{
			SecretName:  names.IstiodCASecret,
			IsCA:        true,
			CommonName:  "istiod intermediate CA (" + cfg.Stack + ")",
			Subject:     &cmapi.X509Subject{Organizations: []string{"istio-workshop"}},
			Duration:    &k8smeta.Duration{Duration: cfg.IstiodCA.Duration},
			RenewBefore: &k8smeta.Duration{Duration: cfg.IstiodCA.RenewBefore},
			IssuerRef:   cmmeta.IssuerReference{Name: CAIssuer, Kind: "ClusterIssuer", Group: "cert-manager.io"},
			PrivateKey: &cmapi.CertificatePrivateKey{
				Algorithm:      cmapi.RSAKeyAlgorithm,
				Size:           2048,
				RotationPolicy: cmapi.RotationPolicyAlways, // a renewal is a new key too
			},
			Usages: []cmapi.KeyUsage{cmapi.UsageCertSign, cmapi.UsageCRLSign, cmapi.UsageDigitalSignature},
		},
	}
}

const deploymentType = "kubernetes:apps/v1:Deployment"

// mountPluggedCA points istiod's cacerts volume (the chart mounts an optional Secret named
// cacerts at /etc/cacerts) at secret and makes it required. istiod reads a plugged-in CA only
// when it starts, so its pod must not start before the Secret exists: it waits in
// ContainerCreating until cert-manager has issued it. Walking back to stage 7 reverts the volume
// in the same rollout that restarts istiod, so istiod is back on its self-signed root whatever
// becomes of the Secret.
func mountPluggedCA(secret string) pulumi.ResourceOption {
	return pulumi.Transforms([]pulumi.ResourceTransform{
		func(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
			if args.Type != deploymentType {
				return nil
			}
			props, ok := withPluggedCA(args.Props, secret)
			if !ok {
				return nil
			}
			return &pulumi.ResourceTransformResult{Props: props, Opts: args.Opts}
		},
	})
}

// withPluggedCA returns a Deployment's properties with its cacerts volume on secret, required;
// false when the Deployment has no such volume.
func withPluggedCA(props pulumi.Map, secret string) (pulumi.Map, bool) {
	spec, _ := props["spec"].(pulumi.Map)
	template, _ := spec["template"].(pulumi.Map)
	podSpec, _ := template["spec"].(pulumi.Map)
	volumes, _ := podSpec["volumes"].(pulumi.Array)
	i := slices.IndexFunc(volumes, func(v pulumi.Input) bool {
		m, ok := v.(pulumi.Map)
		return ok && m["name"] == pulumi.String(CACertsVolume)
	})
	if i < 0 {
		return nil, false
	}
	volume := maps.Clone(volumes[i].(pulumi.Map))
	volume["secret"] = pulumi.Map{"secretName": pulumi.String(secret), "optional": pulumi.Bool(false)}
	newVolumes := slices.Clone(volumes)
	newVolumes[i] = volume
	newPodSpec := maps.Clone(podSpec)
	newPodSpec["volumes"] = newVolumes
	newTemplate := maps.Clone(template)
	newTemplate["spec"] = newPodSpec
	newSpec := maps.Clone(spec)
	newSpec["template"] = newTemplate
	out := maps.Clone(props)
	out["spec"] = newSpec
	return out, true
}

// CACertsVolume is the istiod chart's volume for a plugged-in CA.
const CACertsVolume = "cacerts"
