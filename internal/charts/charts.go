// Package charts says where each Helm chart comes from: the official repository at the pinned
// release (chartSource repo), or the copy inside the pinned Go module (chartSource module, which
// works offline once `scripts/toolchain charts` has downloaded the modules).
package charts

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	helmv4 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v4"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/internal/config"
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
	IstioBase    = Chart{Name: "base", Repo: versions.IstioChartRepo, Module: versions.IstioModule, Path: "manifests/charts/base"}
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

// moduleCache is the Go module cache's directory (tests point it elsewhere).
var moduleCache = gomodcache

var gomodcache = sync.OnceValues(func() (string, error) {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d, nil
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("chartSource module needs Go to locate its module cache: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
})

// ModuleDir is where the Go module cache keeps module ("path@version"); an error names the
// command that downloads it.
func ModuleDir(module string) (string, error) {
	dir, err := cachedModuleDir(module)
	if errors.Is(err, os.ErrNotExist) {
		if err := Download(module); err != nil {
			return "", fmt.Errorf("workshop:chartSource module: the charts of %s are not downloaded and downloading failed (%v): run `scripts/toolchain charts` while online, or set workshop:chartSource repo", module, err)
		}
	}
	return dir, nil
}

// cachedModuleDir is where the Go module cache keeps module; os.ErrNotExist if it is not there.
func cachedModuleDir(module string) (string, error) {
	cache, err := moduleCache()
	if err != nil {
		return "", err
	}
	path, version, ok := strings.Cut(module, "@")
	if !ok {
		return "", fmt.Errorf("module %q has no version", module)
	}
	dir := filepath.Join(cache, escape(path)+"@"+version)
	if _, err := os.Stat(dir); err != nil {
		return dir, err
	}
	return dir, nil
}

// Modules are the Go modules that carry the charts the workshop installs.
func Modules() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range []Chart{IstioBase, Istiod, IstioCNI, Ztunnel, IstioGateway, CertManager} {
		if !seen[c.Module] {
			seen[c.Module] = true
			out = append(out, c.Module)
		}
	}
	return append(out, versions.GatewayAPIModule)
}

// Download fetches modules into the module cache through the Go module proxy.
func Download(modules ...string) error {
	cmd := exec.Command("go", append([]string{"mod", "download"}, modules...)...)
	cmd.Dir = os.TempDir() // outside any module: nothing's go.mod is touched
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go mod download: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// escape applies the module cache's case encoding (an upper-case letter becomes '!' + lower).
func escape(path string) string {
	var b strings.Builder
	for _, r := range path {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func gatewayAPIRelease(version string) string {
	return "https://github.com/kubernetes-sigs/gateway-api/releases/download/" + version + "/standard-install.yaml"
}

// GatewayAPICRDs are the files of the Gateway API's standard channel at version: the release's
// install manifest (repo), or the CRD files inside the pinned Go module (module).
func GatewayAPICRDs(source config.ChartSource, version string) ([]string, error) {
	if source == config.Repo {
		return []string{gatewayAPIRelease(version)}, nil
	}
	dir, err := ModuleDir(strings.Split(versions.GatewayAPIModule, "@")[0] + "@" + version)
	if err != nil {
		return nil, err
	}
	return filepath.Glob(filepath.Join(dir, "config", "crd", "standard", "gateway.networking.k8s.io_*.yaml"))
}
