package test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/test/harness"
)

// stackOn is the config of a stack at stage n on an existing (shared) cluster, charts from the
// pinned modules.
func stackOn(kubeconfig string, stage, mode string) map[string]string {
	return map[string]string{
		"workshop:stage":           stage,
		"workshop:meshMode":        mode,
		"workshop:clusterProvider": "existing",
		"workshop:kubeconfig":      kubeconfig,
		"workshop:chartSource":     "module",
	}
}

// previewOps counts the operations a `preview --json` plans, by kind ("create", "update", ...),
// and lists the resources of every operation other than create and same.
func previewOps(t *testing.T, out string) (map[string]int, []string) {
	t.Helper()
	var preview struct {
		Steps []struct {
			Op  string `json:"op"`
			URN string `json:"urn"`
		} `json:"steps"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &preview), out)
	ops := map[string]int{}
	var other []string
	for _, s := range preview.Steps {
		ops[s.Op]++
		if s.Op != "create" && s.Op != "same" {
			other = append(other, s.Op+" "+s.URN)
		}
	}
	return ops, other
}

func TestStage1(t *testing.T) {
	harness.Require(t)
	cp := harness.SharedControlPlane(t, "e2e-stage1", 2)
	kc := cp.KubeconfigPath()
	before := harness.Snapshot(t, kc)

	for _, mode := range []string{"ambient", "sidecar"} {
		t.Run(mode, func(t *testing.T) {
			p := harness.NewProject(t)
			p.WriteStack("walk", stackOn(kc, "0", mode))
			p.WriteStack("step1", stackOn(kc, "1", mode))
			p.MustPulumi("stack", "init", "walk")
			p.MustPulumi("up", "--yes", "--stack", "walk")

			// Walking 0 -> 1 only adds stage 1's resources.
			step1File := p.Dir + "/stacks/Pulumi.step1.yaml"
			preview := p.MustPulumi("preview", "--json", "--stack", "walk", "--config-file", step1File)
			ops, other := previewOps(t, preview.Stdout)
			assert.Empty(t, other, "moving to stage 1 changes nothing of stage 0")
			assert.Greater(t, ops["create"], 20, "stage 1 creates the mesh and Bookinfo")
			p.MustPulumi("up", "--yes", "--stack", "walk", "--config-file", step1File)

			// The objects are in the cluster.
			deploys := harness.Kubectl(t, kc, "get", "deployments", "-A", "-o", "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}={.status.readyReplicas} {end}")
			for _, d := range []string{"istio-system/istiod=1", "istio-ingress/istio-ingressgateway=1", "bookinfo/productpage-v1=1", "bookinfo/reviews-v3=1"} {
				assert.Contains(t, deploys, d)
			}
			daemonsets := harness.Kubectl(t, kc, "get", "daemonsets", "-n", "istio-system", "-o", "name")
			labels := harness.Kubectl(t, kc, "get", "namespace", "bookinfo", "-o", "jsonpath={.metadata.labels}")
			if mode == "ambient" {
				assert.Contains(t, daemonsets, "ztunnel")
				assert.Contains(t, daemonsets, "istio-cni-node")
				assert.Contains(t, labels, `"istio.io/dataplane-mode":"ambient"`)
			} else {
				assert.NotContains(t, daemonsets, "ztunnel")
				assert.Contains(t, labels, `"istio-injection":"enabled"`)
			}
			assert.Contains(t, harness.Kubectl(t, kc, "get", "gateways.networking.istio.io,virtualservices.networking.istio.io", "-n", "bookinfo", "-o", "name"), "virtualservice.networking.istio.io/bookinfo")
			lb := harness.Kubectl(t, kc, "get", "service", "-n", "istio-ingress", "istio-ingressgateway", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}")
			assert.True(t, strings.HasPrefix(lb, "127.0.1."), "the ingress got a loopback load balancer address: %q", lb)

			var outputs map[string]any
			require.NoError(t, json.Unmarshal([]byte(p.MustPulumi("stack", "output", "--json", "--stack", "walk").Stdout), &outputs))
			assert.Equal(t, "http://bookinfo.localhost/productpage", outputs["productPageUrl"])

			p.MustPulumi("preview", "--expect-no-changes", "--stack", "walk", "--config-file", step1File)
			again := p.MustPulumi("up", "--yes", "--stack", "walk", "--config-file", step1File)
			assert.NotContains(t, again.Stdout, "updated")
			assert.NotContains(t, again.Stdout, "replaced")

			p.MustPulumi("destroy", "--yes", "--stack", "walk")
			assert.Equal(t, before, harness.Snapshot(t, kc), "destroy leaves no namespace, CRD, webhook or cluster-scoped object behind")
		})
	}
}
