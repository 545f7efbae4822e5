package components

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv4 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v4"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/infra"
	"github.com/istio-workshop/istio-workshop/internal/charts"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// Mesh is Istio from its official Helm charts: the CRDs (the base chart's content, as a
// CRDBundle) first; then istiod and, in
// ambient mode, istio-cni and ztunnel side by side (none of them needs another to install, and
// each becomes ready once istiod is); then the ingress gateway, whose pod istiod's webhook
// injects. Waiting for each chart in turn, as `helm install --wait` scripts do, only adds up the
// waits.
type Mesh struct {
	pulumi.ResourceState

	Mode config.MeshMode
	// CRDs are Istio's CRDs (the base chart holds nothing else; the workshop provider applies
	// them from the pinned module instead, so the state holds their hashes, not their schemas).
	CRDs pulumi.Resource
	// Istio is what an Istio custom resource needs before it is applied: the CRDs, and istiod,
	// which serves the webhook that validates it (the base chart's webhook fails closed).
	Istio []pulumi.Resource
	// Ready is everything a workload in the mesh needs before it starts.
	Ready []pulumi.Resource
	// SystemNamespace is istio-system: istiod, its CA and the mesh-wide policies.
	SystemNamespace *corev1.Namespace
	// IngressNamespace holds the ingress gateway, its certificate and its policies.
	IngressNamespace *corev1.Namespace
	// Ingress is the ingress gateway chart.
	Ingress *helmv4.Chart
}

// MeshShape is what later stages change in the mesh of stage 1.
type MeshShape struct {
	// PluggedCA names the Secret istiod signs workload certificates with (stage 8), instead of
	// its self-signed root; empty: self-signed.
	PluggedCA string
	// Tracing declares the tracing backend in istiod's mesh config (stage 9), for the Telemetry
	// API to name.
	Tracing bool
}

type meshModeGuard struct{ pulumi.CustomResourceState }

// NewMesh installs Istio in the configured mode.
func NewMesh(ctx *pulumi.Context, name string, cfg config.Config, cluster *infra.Cluster, shape MeshShape, opts ...pulumi.ResourceOption) (*Mesh, error) {
	m := &Mesh{Mode: cfg.MeshMode}
	if err := ctx.RegisterComponentResource("istio-workshop:components:Mesh", name, m, opts...); err != nil {
		return nil, err
	}
	// Refuse an in-place ambient<->sidecar switch before anything changes.
	guard := &meshModeGuard{}
	if err := ctx.RegisterResource("workshop:index:MeshModeGuard", name+"-mode", pulumi.Map{"mode": pulumi.String(string(cfg.MeshMode))}, guard, pulumi.Parent(m)); err != nil {
		return nil, err
	}
	k8s := pulumi.Provider(cluster.Provider)
	under := []pulumi.ResourceOption{pulumi.Parent(m), k8s}

	systemNS, err := namespace(ctx, names.IstioNamespace, nil, append(under, pulumi.DependsOn([]pulumi.Resource{guard}))...)
	if err != nil {
		return nil, err
	}
	image := istioImage(cfg)
	// istiod rewrites failurePolicy on its validating webhooks at run time; stating the value it
	// would set keeps the Helm-rendered object from showing a diff forever (istio#44285).
	webhook := pulumi.Map{"validationFailurePolicy": pulumi.String("Fail")}
	profile := pulumi.String("")
	if cfg.MeshMode == config.Ambient {
		profile = pulumi.String("ambient")
	}

	m.SystemNamespace = systemNS
	chart := func(release string, c charts.Chart, ns string, values pulumi.Map, after ...pulumi.Resource) (*helmv4.Chart, error) {
		return istioChart(ctx, cfg, release, c, ns, values, append(under, pulumi.DependsOn(after))...)
	}

	m.CRDs, err = newCRDBundle(ctx, "istio-crds", cluster, charts.IstioBase.Module, []string{charts.IstioBase.Path + "/files/crd-all.gen.yaml"},
		pulumi.Parent(m), pulumi.DependsOn([]pulumi.Resource{guard}))
	if err != nil {
		return nil, err
	}
	istiodOptions := []pulumi.ResourceOption{pulumi.DependsOn([]pulumi.Resource{m.CRDs, systemNS})}
	if shape.PluggedCA != "" {
		istiodOptions = append(istiodOptions, mountPluggedCA(shape.PluggedCA))
	}
	istiodValues := pulumi.Map{
		"profile": profile, "global": image, "base": webhook,
		// One replica is plenty for a workshop; an HPA would need a metrics server.
		"pilot": pulumi.Map{"autoscaleEnabled": pulumi.Bool(false)},
	}
	if shape.Tracing {
		// istiod reads its mesh config from a ConfigMap it watches: no restart.
		istiodValues["meshConfig"] = pulumi.Map{"extensionProviders": pulumi.Array{pulumi.Any(TracingBackend())}}
	}
	istiod, err := istioChart(ctx, cfg, "istiod", charts.Istiod, names.IstioNamespace, istiodValues, append(under, istiodOptions...)...)
	if err != nil {
		return nil, err
	}
	m.Istio = []pulumi.Resource{m.CRDs, istiod}
	m.Ready = []pulumi.Resource{istiod}
	if cfg.MeshMode == config.Ambient {
		cni, err := chart("istio-cni", charts.IstioCNI, names.IstioNamespace, pulumi.Map{"profile": profile, "global": image}, m.CRDs, systemNS)
		if err != nil {
			return nil, err
		}
		ztunnel, err := chart("ztunnel", charts.Ztunnel, names.IstioNamespace, pulumi.Map{
			"profile": profile, "hub": image["hub"], "tag": image["tag"], "variant": image["variant"],
		}, m.CRDs, systemNS)
		if err != nil {
			return nil, err
		}
		m.Ready = append(m.Ready, cni, ztunnel)
	}

	// Behind the mode guard like istio-system: a destroy deletes both in one layer (see
	// deleted_with.go).
	m.IngressNamespace, err = namespace(ctx, names.IngressNamespace, nil, append(under, pulumi.DependsOn([]pulumi.Resource{guard}))...)
	if err != nil {
		return nil, err
	}
	m.Ingress, err = chart(names.IngressName, charts.IstioGateway, names.IngressNamespace, pulumi.Map{
		"global":      image,
		"labels":      pulumi.Map{"istio": pulumi.String("ingressgateway")},
		"autoscaling": pulumi.Map{"enabled": pulumi.Bool(false)},
		"service":     ingressService(cfg),
	}, istiod, m.IngressNamespace)
	if err != nil {
		return nil, err
	}
	return m, ctx.RegisterResourceOutputs(m, pulumi.Map{"mode": pulumi.String(string(cfg.MeshMode))})
}

// istioImage pins hub, tag and variant (distroless: no shell, fewer packages to patch) in both
// modes, so the image list that `workshop prepare` pre-loads is exactly what the charts render.
func istioImage(cfg config.Config) pulumi.Map {
	return pulumi.Map{"hub": pulumi.String(versions.IstioHub), "tag": pulumi.String(cfg.Versions.Istio), "variant": pulumi.String(versions.IstioVariant)}
}

// istioChart installs one of Istio's charts, from the configured source, as release in ns.
func istioChart(ctx *pulumi.Context, cfg config.Config, release string, c charts.Chart, ns string, values pulumi.Map, opts ...pulumi.ResourceOption) (*helmv4.Chart, error) {
	args, err := charts.Args(cfg.ChartSource, c, cfg.Versions.Istio)
	if err != nil {
		return nil, err
	}
	args.Name = pulumi.String(release)
	args.Namespace = pulumi.String(ns)
	args.Values = values
	return helmv4.NewChart(ctx, release, args, append(opts, settleFreeServices())...)
}

// ingressService exposes the gateway. On kind its NodePorts are fixed to the ones the cluster
// maps host ports onto. Where nothing assigns LoadBalancer addresses (kind without
// cloud-provider-kind, minikube without `minikube tunnel`), Pulumi must not wait for one.
func ingressService(cfg config.Config) pulumi.Map {
	port := func(name string, port, nodePort int) pulumi.Map {
		p := pulumi.Map{"name": pulumi.String(name), "port": pulumi.Int(port), "targetPort": pulumi.Int(port), "protocol": pulumi.String("TCP")}
		if cfg.Cluster.Provider == config.Kind {
			p["nodePort"] = pulumi.Int(nodePort)
		}
		return p
	}
	svc := pulumi.Map{
		"type": pulumi.String("LoadBalancer"),
		"ports": pulumi.Array{
			pulumi.Map{"name": pulumi.String("status-port"), "port": pulumi.Int(15021), "targetPort": pulumi.Int(15021), "protocol": pulumi.String("TCP")},
			port("http2", 80, config.IngressNodePortHTTP),
			port("https", 443, config.IngressNodePortHTTPS),
		},
	}
	if cfg.Cluster.Provider == config.Kind || cfg.Cluster.Provider == config.Minikube {
		svc["annotations"] = pulumi.Map{skipAwait: pulumi.String("true")}
	} else {
		// Wait for the address only, not for the ten seconds of "settling" after it.
		svc["annotations"] = pulumi.Map{waitFor: pulumi.String("jsonpath={.status.loadBalancer.ingress}")}
	}
	return svc
}
