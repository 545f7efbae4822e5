package stages

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/internal/charts"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/paths"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// rendered runs the pinned helm on a pinned chart (without hooks and tests, as Pulumi's Chart
// renders it) with the values the Mesh and CertManager
// components set, and returns the images of the workloads it renders.
func rendered(t *testing.T, chart charts.Chart, args ...string) []string {
	t.Helper()
	helm := filepath.Join(paths.ToolsBin(), "helm")
	if _, err := os.Stat(helm); err != nil {
		t.Skip("helm is not installed: run scripts/toolchain install local (scripts/test does)")
	}
	dir, err := charts.ModuleDir(chart.Module)
	require.NoError(t, err)
	cmd := exec.Command(helm, append([]string{"template", "x", filepath.Join(dir, chart.Path), "--kube-version", "1.34.0", "--no-hooks", "--skip-tests"}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	var images []string
	for _, doc := range strings.Split(string(out), "\n---") {
		var obj struct {
			Kind string `json:"kind"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers     []struct{ Image string } `json:"containers"`
						InitContainers []struct{ Image string } `json:"initContainers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		}
		require.NoError(t, yaml.Unmarshal([]byte(doc), &obj))
		pod := obj.Spec.Template.Spec
		for _, c := range append(pod.Containers, pod.InitContainers...) {
			images = append(images, c.Image)
		}
	}
	sort.Strings(images)
	return images
}

func TestTheListHasEveryImageTheChartsRender(t *testing.T) {
	for _, mode := range []string{"ambient", "sidecar"} {
		t.Run(mode, func(t *testing.T) {
			cfg := load(t, Last(), config.MeshMode(mode))
			list := Images(cfg)
			profile := ""
			if mode == "ambient" {
				profile = "ambient"
			}
			global := []string{"--set", "global.hub=" + versions.IstioHub, "--set", "global.tag=" + cfg.Versions.Istio, "--set", "global.variant=" + versions.IstioVariant, "--set", "profile=" + profile}
			var renderedImages []string
			renderedImages = append(renderedImages, rendered(t, charts.Istiod, global...)...)
			renderedImages = append(renderedImages, rendered(t, charts.IstioGateway, global...)...)
			if mode == "ambient" {
				renderedImages = append(renderedImages, rendered(t, charts.IstioCNI, global...)...)
				renderedImages = append(renderedImages, rendered(t, charts.Ztunnel, "--set", "hub="+versions.IstioHub, "--set", "tag="+cfg.Versions.Istio, "--set", "variant="+versions.IstioVariant, "--set", "profile=ambient")...)
			}
			tag := cfg.Versions.CertManager
			renderedImages = append(renderedImages, rendered(t, charts.CertManager, "--set", "crds.enabled=true", "--set", "image.tag="+tag,
				"--set", "webhook.image.tag="+tag, "--set", "cainjector.image.tag="+tag, "--set", "startupapicheck.enabled=false")...)
			require.NotEmpty(t, renderedImages)
			for _, img := range renderedImages {
				if img == "auto" {
					continue // the gateway chart's placeholder, replaced by the injector with proxyv2
				}
				assert.Contains(t, list, img, "rendered by the charts but missing from the pre-load list")
			}
		})
	}
}

func TestLowerStagesNeedFewerImages(t *testing.T) {
	assert.Empty(t, Images(load(t, 0, config.Ambient)), "a clean cluster runs nothing of ours")
	s1 := load(t, 1, config.Sidecar)
	// By name, not by a version string that a bump would make pass by itself.
	for _, image := range Images(s1) {
		assert.NotContains(t, image, "/ztunnel:", "no ztunnel in sidecar mode")
		assert.NotContains(t, image, "/cert-manager-", "cert-manager comes with stage 2")
	}
	assert.Contains(t, Images(s1), versions.Curl, "the probes' client comes with stage 1")
}
