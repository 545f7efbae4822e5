package components

import (
	helmv4 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v4"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/infra"
	"github.com/istio-workshop/istio-workshop/internal/charts"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// CertManagerNamespace holds cert-manager and the workshop's CA secret.
const CertManagerNamespace = "cert-manager"

// CertManager is cert-manager from its official chart, pinned, with its CRDs as a CRDBundle.
type CertManager struct {
	pulumi.ResourceState
	// CRDs are cert-manager's CRDs, from the release's module; Chart is the controllers. Every
	// cert-manager resource depends on both.
	CRDs  pulumi.Resource
	Chart *helmv4.Chart
}

// NewCertManager installs cert-manager.
func NewCertManager(ctx *pulumi.Context, name string, cfg config.Config, cluster *infra.Cluster, opts ...pulumi.ResourceOption) (*CertManager, error) {
	c := &CertManager{}
	if err := ctx.RegisterComponentResource("istio-workshop:components:CertManager", name, c, opts...); err != nil {
		return nil, err
	}
	under := []pulumi.ResourceOption{pulumi.Parent(c), pulumi.Provider(cluster.Provider)}
	var err error
	c.CRDs, err = newCRDBundle(ctx, "cert-manager-crds", cluster, versions.CertManagerModulePath+"@"+cfg.Versions.CertManager,
		[]string{"deploy/crds/cert-manager.io_*.yaml", "deploy/crds/acme.cert-manager.io_*.yaml"}, pulumi.Parent(c))
	if err != nil {
		return nil, err
	}
	// After the CRDs (the chart waits for both anyway): a destroy then deletes this namespace in
	// the same dependency layer as the mesh's (see deleted_with.go).
	ns, err := namespace(ctx, CertManagerNamespace, nil, append(under, pulumi.DependsOn([]pulumi.Resource{c.CRDs}))...)
	if err != nil {
		return nil, err
	}
	args, err := charts.Args(cfg.ChartSource, charts.CertManager, cfg.Versions.CertManager)
	if err != nil {
		return nil, err
	}
	// The module's copy of the chart carries placeholder image tags: pin every image.
	image := pulumi.Map{"tag": pulumi.String(cfg.Versions.CertManager)}
	args.Name = pulumi.String("cert-manager")
	args.Namespace = pulumi.String(CertManagerNamespace)
	args.Values = pulumi.Map{
		"crds":            pulumi.Map{"enabled": pulumi.Bool(false)}, // the CRDBundle applies them
		"image":           image,
		"webhook":         pulumi.Map{"image": image},
		"cainjector":      pulumi.Map{"image": image},
		"acmesolver":      pulumi.Map{"image": image},
		"startupapicheck": pulumi.Map{"enabled": pulumi.Bool(false)}, // a Helm hook: Chart does not run hooks
		// A Certificate's Secret goes with it: walking back past a stage leaves no key behind
		// (stage 8's is a CA key).
		"enableCertificateOwnerRef": pulumi.Bool(true),
	}
	c.Chart, err = helmv4.NewChart(ctx, "cert-manager", args, append(under, pulumi.DependsOn([]pulumi.Resource{ns, c.CRDs}), settleFreeServices())...)
	if err != nil {
		return nil, err
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{})
}
