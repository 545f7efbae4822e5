package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/internal/paths"
)

// analyzedKinds are the objects istioctl's analyzers read: Istio's and the Gateway API's
// resources and what they refer to. Secrets stay out: on the local control plane cert-manager
// issues nothing, so the analyzers would only report the credential no controller wrote.
var analyzedKinds = []string{
	"namespaces", "services", "serviceaccounts", "deployments", "configmaps",
	"gateways.networking.istio.io", "virtualservices.networking.istio.io", "destinationrules.networking.istio.io",
	"serviceentries.networking.istio.io", "sidecars.networking.istio.io",
	"peerauthentications.security.istio.io", "requestauthentications.security.istio.io", "authorizationpolicies.security.istio.io",
}

// Analyze runs the pinned `istioctl analyze` over the objects in the cluster (read with kubectl,
// analyzed offline), and returns its report and whether it found nothing at or above Error.
func Analyze(t testing.TB, kubeconfig string) (report string, clean bool) {
	t.Helper()
	kinds := analyzedKinds
	if strings.Contains(Kubectl(t, kubeconfig, "api-resources", "-o", "name"), "gateways.gateway.networking.k8s.io") {
		kinds = append(kinds, "gateways.gateway.networking.k8s.io")
	}
	return AnalyzeList(t, Kubectl(t, kubeconfig, "get", strings.Join(kinds, ","), "-A", "-o", "yaml"))
}

// AnalyzeList analyzes the objects of a kubectl List, in every namespace. istioctl reads
// multi-document YAML and skips a List whole, so the items become documents first.
func AnalyzeList(t testing.TB, list string) (report string, clean bool) {
	t.Helper()
	var l struct {
		Items []map[string]any `json:"items"`
	}
	if err := yaml.Unmarshal([]byte(list), &l); err != nil {
		t.Fatalf("reading the objects: %v", err)
	}
	var docs []string
	for _, item := range l.Items {
		raw, err := yaml.Marshal(item)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(raw))
	}
	file := filepath.Join(t.TempDir(), "objects.yaml")
	if err := os.WriteFile(file, []byte(strings.Join(docs, "---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(paths.ToolsBin(), "istioctl"), "analyze", "--all-namespaces", "--use-kube=false",
		"--failure-threshold", "Error", "--output-threshold", "Info", file)
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("istioctl analyze: %v", err)
	}
	return string(out), err == nil
}
