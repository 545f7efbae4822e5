// Package charts says where each Helm chart comes from: the official repository at the pinned
// release (chartSource repo), or the copy inside the pinned Go module (chartSource module, which
// works offline once `scripts/toolchain charts` has downloaded the modules).
package charts

import (
	"fmt"
	"path/filepath"
	"slices"

	helmv4 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v4"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/modules"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// Chart is one chart of a release line.
type Chart struct {
	// Name in the official repository.
	Name string
	// Repo is the official repository URL.
	Repo string
	// Module ("path@version") and Path inside it hold the offline copy.
	Module, Path string
}

// The charts the workshop installs.
var (
	IstioBase    = Chart{Name: "base", Repo: versions.IstioChartRepo, Module: versions.IstioModule, Path: "manifests/charts/base"} // not installed: its CRD file is the Istio CRDBundle's
	Istiod       = Chart{Name: "istiod", Repo: versions.IstioChartRepo, Module: versions.IstioModule, Path: "manifests/charts/istio-control/istio-discovery"}
	IstioCNI     = Chart{Name: "cni", Repo: versions.IstioChartRepo, Module: versions.IstioModule, Path: "manifests/charts/istio-cni"}
	Ztunnel      = Chart{Name: "ztunnel", Repo: versions.IstioChartRepo, Module: versions.IstioModule, Path: "manifests/charts/ztunnel"}
	IstioGateway = Chart{Name: "gateway", Repo: versions.IstioChartRepo, Module: versions.IstioModule, Path: "manifests/charts/gateway"}
	CertManager  = Chart{Name: "cert-manager", Repo: versions.CertManagerChartRepo, Module: versions.CertManagerModule, Path: "deploy/charts/cert-manager"}
)

// Args returns the Chart arguments that fetch c at version from the configured source.
func Args(source config.ChartSource, c Chart, version string) (*helmv4.ChartArgs, error) {
	if source == config.Repo {
		return &helmv4.ChartArgs{
			Chart:          pulumi.String(c.Name),
			Version:        pulumi.String(version),
			RepositoryOpts: &helmv4.RepositoryOptsArgs{Repo: pulumi.String(c.Repo)},
		}, nil
	}
	dir, err := ModuleDir(c.Module)
	if err != nil {
		return nil, err
	}
	return &helmv4.ChartArgs{Chart: pulumi.String(filepath.Join(dir, c.Path))}, nil
}

// ModuleDir is where the Go module cache keeps module ("path@version"), downloaded if missing; an
// error names the command that downloads it.
func ModuleDir(module string) (string, error) {
	dir, err := modules.Dir(module)
	if err != nil {
		return "", fmt.Errorf("workshop:chartSource module: %w, or set workshop:chartSource repo", err)
	}
	return dir, nil
}

// Modules are the Go modules that carry the charts the workshop installs and the CRDs of v's
// releases (the CRDs always come from them, whatever the charts' source).
func Modules(v config.Versions) []string {
	var out []string
	for _, m := range []string{
		IstioBase.Module, Istiod.Module, IstioCNI.Module, Ztunnel.Module, IstioGateway.Module, CertManager.Module,
		versions.CertManagerModulePath + "@" + v.CertManager, versions.GatewayAPIModulePath + "@" + v.GatewayAPI,
	} {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// Pinned are the releases the workshop pins (what a stack without version settings installs).
var Pinned = config.Versions{Istio: versions.Istio, CertManager: versions.CertManager, GatewayAPI: versions.GatewayAPI}

// Download fetches modules into the module cache through the Go module proxy.
func Download(mods ...string) error { return modules.Download(mods...) }
