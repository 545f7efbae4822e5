// Package versions is the one place where the workshop pins what it installs: charts, images and
// the Go modules that carry offline copies of the charts. The tool binaries are pinned in
// tools/*/go.mod (built by scripts/toolchain).
package versions

const (
	// Istio is the release whose charts (repo source) and images are installed. The offline
	// chart copy comes from IstioModule, a snapshot of the same release line.
	Istio = "1.31.1"
	// IstioHub and IstioVariant complete the Istio image names: HUB/NAME:TAG-VARIANT.
	IstioHub     = "docker.io/istio"
	IstioVariant = "distroless"
	// IstioChartRepo is the official Istio Helm repository.
	IstioChartRepo = "https://istio-release.storage.googleapis.com/charts"
	// IstioModule carries istio's charts in manifests/charts (chartSource: module).
	IstioModule = "istio.io/istio@v0.0.0-20260827124520-eed52ebb66ad"

	// CertManager is the cert-manager release (chart and images).
	CertManager = "v1.21.2"
	// CertManagerRepository is where cert-manager's images live (REPO/cert-manager-NAME:TAG).
	CertManagerRepository = "quay.io/jetstack"
	// CertManagerChartRepo is the official cert-manager Helm repository.
	CertManagerChartRepo = "https://charts.jetstack.io"
	// CertManagerModule carries the chart in deploy/charts/cert-manager (chartSource: module).
	CertManagerModule = CertManagerModulePath + "@" + CertManager
	// CertManagerModulePath is its path: the CRDs of workshop:certManagerVersion come from that
	// release of it.
	CertManagerModulePath = "github.com/cert-manager/cert-manager"

	// GatewayAPI is the Kubernetes Gateway API CRD release (standard channel).
	GatewayAPI = "v1.6.0"
	// GatewayAPIModule carries the CRDs in config/crd.
	GatewayAPIModule = GatewayAPIModulePath + "@" + GatewayAPI
	// GatewayAPIModulePath is its path: the CRDs of workshop:gatewayAPIVersion come from that
	// release of it.
	GatewayAPIModulePath = "sigs.k8s.io/gateway-api"

	// Bookinfo is the release of the sample application's images
	// (docker.io/istio/examples-bookinfo-<service>-<version>).
	Bookinfo = "1.20.3"

	// Curl is the probe client image (the plain client outside the mesh, verify's probes).
	Curl = "docker.io/curlimages/curl:8.11.1"

	// The observability addons (stage 9) are Istio's own sample manifests, samples/addons in
	// IstioModule (ObservabilityAddons); these are the images they run, Kiali's pinned to its
	// patch release where the manifest names only the minor (a test holds both together).
	Prometheus               = "docker.io/prom/prometheus:v3.10.0"
	PrometheusConfigReloader = "ghcr.io/prometheus-operator/prometheus-config-reloader:v0.89.0"
	Grafana                  = "docker.io/grafana/grafana:12.0.1"
	Kiali                    = "quay.io/kiali/kiali:v2.27.0"
	Jaeger                   = "docker.io/jaegertracing/jaeger:2.17.0"
	// ObservabilityAddons is where IstioModule keeps those manifests.
	ObservabilityAddons = "samples/addons"

	// Kubernetes is the cluster version: the kind node image and the local control plane.
	Kubernetes = "v1.34.4"
)
