package components

import (
	"fmt"
	"strings"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	networkingapi "istio.io/api/networking/v1"
	networking "istio.io/client-go/pkg/apis/networking/v1"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// bookinfoPort is the port every Bookinfo service listens on.
const bookinfoPort = 9080

// bookinfoServices is Istio's Bookinfo sample: each service with its versions.
var bookinfoServices = []struct {
	name     string
	versions []string
}{
	{"details", []string{"v1"}},
	{"ratings", []string{"v1"}},
	{"reviews", []string{"v1", "v2", "v3"}},
	{"productpage", []string{"v1"}},
}

// MeshLabels enrol a namespace's workloads in the mesh: ztunnel captures them in ambient mode,
// the injector adds a sidecar in sidecar mode.
func MeshLabels(mode config.MeshMode) map[string]string {
	if mode == config.Ambient {
		return map[string]string{"istio.io/dataplane-mode": "ambient"}
	}
	return map[string]string{"istio-injection": "enabled"}
}

// Bookinfo is the sample application in its own namespace, enrolled in the mesh and exposed
// through the ingress gateway over HTTP.
type Bookinfo struct {
	pulumi.ResourceState

	// ProductPageURL is where participants open the application.
	ProductPageURL pulumi.StringOutput
	// Gateway is the Istio Gateway on the ingress; later stages add TLS to it.
	Gateway pulumi.Resource
	// Namespace is Bookinfo's namespace: the policies of later stages need it, not the pods.
	Namespace pulumi.Resource
}

// BookinfoShape is what the stages in force make of Bookinfo's namespace and ingress: stage 1
// gives the namespace the mesh's labels and one plain HTTP route; later stages change them.
type BookinfoShape struct {
	// NamespaceLabels enrol the namespace in the mesh (and, later, route it through a waypoint).
	NamespaceLabels map[string]string
	// ServeTLS makes the gateway serve HTTPS with the ingress certificate (stage 2 on).
	ServeTLS bool
	// Routes are the ingress VirtualService's routes, in order.
	Routes []*networkingapi.HTTPRoute
	// PodAnnotations are annotations of a service's pods, by service (stage 9: productpage's
	// metrics are scraped).
	PodAnnotations map[string]map[string]string
}

// NewBookinfo deploys Bookinfo once the mesh is ready, shaped by the stages in force.
func NewBookinfo(ctx *pulumi.Context, name string, cfg config.Config, mesh *Mesh, shape BookinfoShape, opts ...pulumi.ResourceOption) (*Bookinfo, error) {
	b := &Bookinfo{}
	if err := ctx.RegisterComponentResource("istio-workshop:components:Bookinfo", name, b, opts...); err != nil {
		return nil, err
	}
	under := []pulumi.ResourceOption{pulumi.Parent(b)}
	ns, err := namespace(ctx, names.BookinfoNamespace, shape.NamespaceLabels, append(under, pulumi.DependsOn(mesh.Ready))...)
	if err != nil {
		return nil, err
	}
	b.Namespace = ns
	inNS := append(under, pulumi.DependsOn([]pulumi.Resource{ns}), deletedWithItsNamespace(ctx, names.BookinfoNamespace))
	for _, svc := range bookinfoServices {
		if err := bookinfoService(ctx, svc.name, svc.versions, shape.PodAnnotations[svc.name], inNS...); err != nil {
			return nil, err
		}
	}

	host := cfg.Ingress.Host
	gw := &networking.Gateway{
		TypeMeta:   k8smeta.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "Gateway"},
		ObjectMeta: k8smeta.ObjectMeta{Name: "bookinfo", Namespace: names.BookinfoNamespace},
		Spec: networkingapi.Gateway{
			Selector: ingressSelector,
			Servers:  GatewayServers(cfg.Ingress, shape.ServeTLS),
		},
	}
	// Istio loads the ingress credential whenever cert-manager writes it (stage 2), so the
	// gateway need not wait for the certificate.
	crds := append(inNS, pulumi.DependsOn(append([]pulumi.Resource{ns}, mesh.Istio...)))
	gateway, err := customResource(ctx, gw, crds...)
	if err != nil {
		return nil, err
	}
	vs := &networking.VirtualService{
		TypeMeta:   k8smeta.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "VirtualService"},
		ObjectMeta: k8smeta.ObjectMeta{Name: "bookinfo", Namespace: names.BookinfoNamespace},
		Spec: networkingapi.VirtualService{
			Hosts:    []string{host},
			Gateways: []string{"bookinfo"},
			Http:     shape.Routes,
		},
	}
	if _, err := customResource(ctx, vs, crds...); err != nil {
		return nil, err
	}
	b.Gateway = gateway
	if shape.ServeTLS {
		b.ProductPageURL = pulumi.String(names.ProductPageURL("https", host, cfg.Ingress.HTTPSPort)).ToStringOutput()
	} else {
		b.ProductPageURL = pulumi.String(names.ProductPageURL("http", host, cfg.Ingress.HTTPPort)).ToStringOutput()
	}
	return b, ctx.RegisterResourceOutputs(b, pulumi.Map{"productPageUrl": b.ProductPageURL})
}

// ProductPageRoute sends the application's paths to productpage. With group set it matches
// only requests whose verified token's groups claim holds it (the gateway is the only place
// Istio matches claims); headers are what the route changes on the way.
func ProductPageRoute(name, group string, headers *networkingapi.Headers) *networkingapi.HTTPRoute {
	var claim map[string]*networkingapi.StringMatch
	if group != "" {
		claim = map[string]*networkingapi.StringMatch{
			"@request.auth.claims.groups": {MatchType: &networkingapi.StringMatch_Exact{Exact: group}},
		}
	}
	match := []*networkingapi.HTTPMatchRequest{{Uri: &networkingapi.StringMatch{MatchType: &networkingapi.StringMatch_Exact{Exact: "/productpage"}}, Headers: claim}}
	for _, p := range []string{"/static", "/login", "/logout", "/api/v1/products"} {
		match = append(match, &networkingapi.HTTPMatchRequest{Uri: &networkingapi.StringMatch{MatchType: &networkingapi.StringMatch_Prefix{Prefix: p}}, Headers: claim})
	}
	return &networkingapi.HTTPRoute{Name: name, Match: match, Headers: headers, Route: []*networkingapi.HTTPRouteDestination{{
		Destination: &networkingapi.Destination{Host: "productpage", Port: &networkingapi.PortSelector{Number: bookinfoPort}},
	}}}
}

// GatewayServers are the ingress listeners for the workshop host: plain HTTP until stage 2; then
// HTTPS (TLS 1.2 or newer, the cert-manager issued certificate) and plain HTTP either redirected
// to HTTPS or closed.
func GatewayServers(in config.Ingress, withTLS bool) []*networkingapi.Server {
	httpServer := &networkingapi.Server{
		Port:  &networkingapi.Port{Number: 80, Name: "http", Protocol: "HTTP"},
		Hosts: []string{in.Host},
	}
	if !withTLS {
		return []*networkingapi.Server{httpServer}
	}
	https := &networkingapi.Server{
		Port:  &networkingapi.Port{Number: 443, Name: "https", Protocol: "HTTPS"},
		Hosts: []string{in.Host},
		Tls: &networkingapi.ServerTLSSettings{
			Mode:               tlsMode(in),
			CredentialName:     IngressCredential,
			MinProtocolVersion: networkingapi.ServerTLSSettings_TLSV1_2,
		},
	}
	if in.PlainHTTP == config.Closed {
		return []*networkingapi.Server{https}
	}
	httpServer.Tls = &networkingapi.ServerTLSSettings{HttpsRedirect: true}
	return []*networkingapi.Server{httpServer, https}
}

// tlsMode is SIMPLE, or MUTUAL when participants must present a certificate from the workshop
// CA (the credential's ca.crt, written by cert-manager's CA issuer, verifies it).
func tlsMode(in config.Ingress) networkingapi.ServerTLSSettings_TLSmode {
	if in.MutualTLS {
		return networkingapi.ServerTLSSettings_MUTUAL
	}
	return networkingapi.ServerTLSSettings_SIMPLE
}

// bookinfoService makes one service's account, Service and a Deployment per version, as the
// upstream sample does (the account is what mesh policies name as the principal).
func bookinfoService(ctx *pulumi.Context, name string, svcVersions []string, podAnnotations map[string]string, opts ...pulumi.ResourceOption) error {
	account := "bookinfo-" + name
	meta := func(n string, labels map[string]string) *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(n), Namespace: pulumi.String(names.BookinfoNamespace), Labels: pulumi.ToStringMap(labels)}
	}
	if _, err := corev1.NewServiceAccount(ctx, "bookinfo-"+account, &corev1.ServiceAccountArgs{
		Metadata: meta(account, map[string]string{"account": name}),
	}, opts...); err != nil {
		return err
	}
	// Its Deployments are awaited until ready; the Service's own wait would only add ten
	// seconds of "settling" (see settleFreeServices).
	svcMeta := meta(name, map[string]string{"app": name, "service": name})
	svcMeta.Annotations = pulumi.StringMap{skipAwait: pulumi.String("true")}
	if _, err := corev1.NewService(ctx, "bookinfo-"+name, &corev1.ServiceArgs{
		Metadata: svcMeta,
		Spec: &corev1.ServiceSpecArgs{
			Selector: pulumi.StringMap{"app": pulumi.String(name)},
			Ports:    corev1.ServicePortArray{&corev1.ServicePortArgs{Name: pulumi.String("http"), Port: pulumi.Int(bookinfoPort)}},
		},
	}, opts...); err != nil {
		return err
	}
	for _, v := range svcVersions {
		labels := map[string]string{"app": name, "version": v}
		container := &corev1.ContainerArgs{
			Name:            pulumi.String(name),
			Image:           pulumi.String(BookinfoImage(name, v)),
			ImagePullPolicy: pulumi.String("IfNotPresent"),
			Ports:           corev1.ContainerPortArray{&corev1.ContainerPortArgs{ContainerPort: pulumi.Int(bookinfoPort)}},
			SecurityContext: &corev1.SecurityContextArgs{
				RunAsUser:                pulumi.Int(1000),
				AllowPrivilegeEscalation: pulumi.Bool(false),
			},
			VolumeMounts: corev1.VolumeMountArray{&corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")}},
		}
		volumes := corev1.VolumeArray{&corev1.VolumeArgs{Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}}}
		if name == "reviews" {
			// reviews (Open Liberty) writes its logs and server output here.
			container.Env = corev1.EnvVarArray{&corev1.EnvVarArgs{Name: pulumi.String("LOG_DIR"), Value: pulumi.String("/tmp/logs")}}
			container.VolumeMounts = append(container.VolumeMounts.(corev1.VolumeMountArray),
				&corev1.VolumeMountArgs{Name: pulumi.String("wlp-output"), MountPath: pulumi.String("/opt/ibm/wlp/output")})
			volumes = append(volumes, &corev1.VolumeArgs{Name: pulumi.String("wlp-output"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}})
		}
		deployment := name + "-" + v
		if _, err := appsv1.NewDeployment(ctx, "bookinfo-"+deployment, &appsv1.DeploymentArgs{
			Metadata: meta(deployment, labels),
			Spec: &appsv1.DeploymentSpecArgs{
				Replicas: pulumi.Int(1),
				Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(labels)},
				Template: &corev1.PodTemplateSpecArgs{
					Metadata: podMeta(labels, podAnnotations),
					Spec: &corev1.PodSpecArgs{
						ServiceAccountName: pulumi.String(account),
						Containers:         corev1.ContainerArray{container},
						Volumes:            volumes,
					},
				},
			},
		}, opts...); err != nil {
			return err
		}
	}
	return nil
}

// podMeta is a pod template's metadata; without annotations it has none (an empty map would be a
// change to every earlier stack's pods).
func podMeta(labels, annotations map[string]string) *metav1.ObjectMetaArgs {
	meta := &metav1.ObjectMetaArgs{Labels: pulumi.ToStringMap(labels)}
	if len(annotations) > 0 {
		meta.Annotations = pulumi.ToStringMap(annotations)
	}
	return meta
}

// BookinfoImage is the pinned image of one Bookinfo service version.
func BookinfoImage(service, version string) string {
	return fmt.Sprintf("docker.io/istio/examples-bookinfo-%s-%s:%s", service, strings.ToLower(version), versions.Bookinfo)
}

// BookinfoImages are the images of every Bookinfo service version the workshop deploys.
func BookinfoImages() []string {
	var out []string
	for _, svc := range bookinfoServices {
		for _, v := range svc.versions {
			out = append(out, BookinfoImage(svc.name, v))
		}
	}
	return out
}
