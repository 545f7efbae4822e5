package test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/names"
	"github.com/istio-workshop/istio-workshop/internal/paths"
	"github.com/istio-workshop/istio-workshop/test/harness"
)

// TestKindClustersForReal is the kind path end to end with real Docker and real kind nodes
// (the workshop's own daemon in the test's network namespace, the node image built offline):
// two stacks' clusters made side by side through the workshop provider, their nodes Ready and
// their ingress ports bound to loopback only; a second cluster of the same name and a taken port
// refused before any change; images loaded into the nodes by `workshop prepare --load`;
// `verify --objects-only`; stage 7's NetworkPolicies enforced by the node image's CNI between
// plain pods; destroy and reset leave no container, network, volume or kubeconfig context.
func TestKindClustersForReal(t *testing.T) {
	harness.Require(t)
	d := harness.WorkshopDocker(t)
	home, _ := os.UserHomeDir()
	userKubeconfig := filepath.Join(home, ".kube", "config")
	kubeconfigBefore, _ := os.ReadFile(userKubeconfig)

	p := harness.NewProject(t)
	kind := func(name string, http int, extra map[string]string) map[string]string {
		values := map[string]string{
			"workshop:clusterProvider": "kind",
			"workshop:clusterName":     name,
			"workshop:kindNodeImage":   d.NodeImage,
			"workshop:httpPort":        fmt.Sprint(http),
			"workshop:httpsPort":       fmt.Sprint(http + 1),
		}
		maps.Copy(values, extra)
		return values
	}
	// step0: a control plane and a worker; side: a control plane alone.
	p.WriteStack("step0", kind("e2e-kind-a", 20080, nil))
	p.WriteStack("side", kind("e2e-kind-b", 21080, map[string]string{"workshop:stage": "0", "workshop:workers": "0"}))
	p.MustPulumi("stack", "init", "step0")
	p.MustPulumi("stack", "init", "side")

	var wg sync.WaitGroup
	ups := map[string]harness.Result{}
	var mu sync.Mutex
	for _, s := range []string{"step0", "side"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := p.Pulumi("up", "--yes", "--stack", s)
			mu.Lock()
			ups[s] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	for s, r := range ups {
		require.NoError(t, r.Err, "up %s:\n%s", s, r)
	}
	t.Logf("two kind clusters side by side: %s and %s", ups["step0"].Took.Round(time.Second), ups["side"].Took.Round(time.Second))

	kubeconfigs := map[string]string{}
	for s, want := range map[string]struct {
		name  string
		nodes []string
		http  int
	}{
		"step0": {"e2e-kind-a", []string{"e2e-kind-a-control-plane", "e2e-kind-a-worker"}, 20080},
		"side":  {"e2e-kind-b", []string{"e2e-kind-b-control-plane"}, 21080},
	} {
		var out map[string]any
		require.NoError(t, json.Unmarshal([]byte(p.MustPulumi("stack", "output", "--json", "--stack", s).Stdout), &out))
		assert.Equal(t, true, out["defaultState"], "%s: stage 0 checked the cluster's default state", s)
		assert.Equal(t, "kind-"+want.name, out["contextName"])
		kc := filepath.Join(t.TempDir(), "kubeconfig")
		require.NoError(t, os.WriteFile(kc, []byte(p.MustPulumi("stack", "output", "kubeconfig", "--show-secrets", "--stack", s).Stdout), 0o600))
		kubeconfigs[s] = kc

		harness.Kubectl(t, kc, "wait", "--for=condition=Ready", "nodes", "--all", "--timeout=120s")
		assert.ElementsMatch(t, want.nodes, strings.Fields(harness.Kubectl(t, kc, "get", "nodes", "-o", "jsonpath={.items[*].metadata.name}")))
		assert.Equal(t, "v1.34.4", harness.Kubectl(t, kc, "get", "nodes", want.nodes[0], "-o", "jsonpath={.status.nodeInfo.kubeletVersion}"), "the pinned Kubernetes")
		ports := d.Docker(t, "port", want.nodes[0])
		for _, hp := range []int{want.http, want.http + 1} {
			assert.Contains(t, ports, fmt.Sprintf("127.0.0.1:%d", hp), "%s: host port %d is published on loopback", s, hp)
		}
		assert.NotContains(t, ports, "0.0.0.0:", "%s: nothing is published on every interface", s)
	}

	t.Run("refused before any change", func(t *testing.T) {
		containers := d.Lines(t, "ps", "-aq")
		p.WriteStack("twin", kind("e2e-kind-a", 22080, map[string]string{"workshop:stage": "0"}))
		p.MustPulumi("stack", "init", "twin")
		twin := p.Pulumi("up", "--yes", "--stack", "twin")
		require.Error(t, twin.Err)
		assert.Contains(t, twin.Stdout+twin.Stderr, "a kind cluster named e2e-kind-a already exists and this stack does not own it")
		p.WriteStack("clash", kind("e2e-kind-c", 20080, map[string]string{"workshop:stage": "0"}))
		p.MustPulumi("stack", "init", "clash")
		clash := p.Pulumi("up", "--yes", "--stack", "clash")
		require.Error(t, clash.Err)
		assert.Contains(t, clash.Stdout+clash.Stderr, "host port 20080 is already in use")
		assert.ElementsMatch(t, containers, d.Lines(t, "ps", "-aq"), "no container made or removed")
		for _, s := range []string{"twin", "clash"} {
			p.MustPulumi("stack", "rm", "--yes", "--force", "--stack", s)
		}
	})

	t.Run("prepare --load puts images into every node", func(t *testing.T) {
		// Stage 1's images, as stand-ins built here (no registry can be reached): what is
		// proven is that they arrive in each node's containerd, where the pods would find them.
		p.WriteStack("step1", kind("e2e-kind-a", 20080, nil))
		var rep struct{ Images []string }
		out := p.Workshop("prepare", "1", "--json")
		require.NoError(t, out.Err, out.String())
		require.NoError(t, json.Unmarshal([]byte(out.Stdout), &rep))
		require.NotEmpty(t, rep.Images)
		standIn := filepath.Join(t.TempDir(), "stand-in.tar")
		require.NoError(t, exec.Command("tar", "-cf", standIn, "-C", t.TempDir(), ".").Run())
		var standIns []string
		for _, img := range rep.Images {
			if exec.Command("docker", "image", "inspect", img).Run() != nil {
				d.Docker(t, "import", standIn, img)
				standIns = append(standIns, img)
			}
		}
		// The daemon's data root outlives the test: a stand-in left there would pass for the real image.
		t.Cleanup(func() {
			if len(standIns) > 0 {
				d.Docker(t, append([]string{"rmi"}, standIns...)...)
			}
		})
		load := p.Workshop("prepare", "1", "--load")
		require.NoError(t, load.Err, load.String())
		for _, node := range []string{"e2e-kind-a-control-plane", "e2e-kind-a-worker"} {
			have := d.Docker(t, "exec", node, "ctr", "--namespace=k8s.io", "images", "list", "-q")
			for _, img := range rep.Images {
				assert.Contains(t, have, img, "%s holds %s", node, img)
			}
		}
		require.NoError(t, os.Remove(filepath.Join(p.Dir, "stacks", "Pulumi.step1.yaml")))
	})

	t.Run("verify --objects-only", func(t *testing.T) {
		v := p.Workshop("verify", "--stack", "step0", "--objects-only")
		require.NoError(t, v.Err, v.String())
	})

	t.Run("stage 7's NetworkPolicies enforced by the CNI", func(t *testing.T) {
		networkPoliciesEnforced(t, kubeconfigs["step0"])
	})

	p.MustPulumi("destroy", "--yes", "--stack", "step0")
	assert.NotContains(t, strings.Join(d.Lines(t, "ps", "-a", "--format", "{{.Names}}"), " "), "e2e-kind-a", "destroy removes the cluster's nodes")
	reset := p.Workshop("reset", "--yes")
	require.NoError(t, reset.Err, reset.String())
	assert.Empty(t, d.Lines(t, "ps", "-aq"), "no container is left")
	assert.Empty(t, d.Lines(t, "volume", "ls", "-q"), "no volume is left")
	assert.NotContains(t, d.Lines(t, "network", "ls", "--format", "{{.Name}}"), "kind", "kind's network goes with the last cluster")
	kubeconfigAfter, _ := os.ReadFile(userKubeconfig)
	assert.Equal(t, string(kubeconfigBefore), string(kubeconfigAfter), "the user's kubeconfig gains and keeps no context")
}

// networkPoliciesEnforced puts plain pods (the node image's Debian client image) where stage 7's
// policies (sidecar mode: the application's own port) apply, one per node, and shows that what
// the policies allow connects and what they do not never connects.
func networkPoliciesEnforced(t *testing.T, kc string) {
	const image = "workshop.local/debian-tools:bookworm"
	server := `while true; do printf 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok' | nc -N -l -p "$0" >/dev/null; done`
	pod := func(ns, name, node string, cmd ...string) map[string]any {
		return map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]string{"app": name}},
			"spec": map[string]any{
				"nodeName":                      node,
				"terminationGracePeriodSeconds": 0,
				"tolerations":                   []map[string]string{{"operator": "Exists"}},
				"containers": []map[string]any{{
					"name": name, "image": image, "imagePullPolicy": "Never", "command": cmd,
				}},
			},
		}
	}
	objs := []any{
		map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]string{"name": names.BookinfoNamespace}},
		map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]string{"name": names.EgressClientNamespace}},
		pod(names.BookinfoNamespace, "productpage", "e2e-kind-a-control-plane", "bash", "-c", server+" & "+strings.Replace(server, `"$0"`, "9090", 1)+" & wait", "9080"),
		map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]string{"name": "productpage", "namespace": names.BookinfoNamespace},
			"spec": map[string]any{"selector": map[string]string{"app": "productpage"}, "ports": []map[string]any{{"name": "http", "port": 9080}}}},
		pod(names.BookinfoNamespace, "reviews", "e2e-kind-a-worker", "sleep", "infinity"),
		pod(names.EgressClientNamespace, "curl-client", "e2e-kind-a-worker", "sleep", "infinity"),
	}
	harness.KubectlApply(t, kc, manifest(t, objs...))
	harness.Kubectl(t, kc, "wait", "--for=condition=Ready", "pods", "--all", "-n", names.BookinfoNamespace, "--timeout=120s")
	harness.Kubectl(t, kc, "wait", "--for=condition=Ready", "pods", "--all", "-n", names.EgressClientNamespace, "--timeout=120s")
	ppIP := harness.Kubectl(t, kc, "get", "pod", "-n", names.BookinfoNamespace, "productpage", "-o", "jsonpath={.status.podIP}")

	byName := "http://productpage." + names.BookinfoNamespace + ":9080/"
	otherPort := "http://" + ppIP + ":9090/"
	curl := func(ns, from, url string) (string, error) {
		cmd := exec.Command(filepath.Join(paths.ToolsBin(), "kubectl"), "--kubeconfig", kc, "exec", "-n", ns, from, "--",
			"curl", "-sS", "--connect-timeout", "3", "--max-time", "5", url)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// Before the policies: every path is open (DNS, the Service, across nodes).
	for _, c := range [][3]string{{names.BookinfoNamespace, "reviews", byName}, {names.BookinfoNamespace, "reviews", otherPort}, {names.EgressClientNamespace, "curl-client", byName}} {
		var out string
		var err error
		for range 20 { // the servers and kube-router's routes may take a moment
			if out, err = curl(c[0], c[1], c[2]); err == nil {
				break
			}
			time.Sleep(time.Second)
		}
		require.NoError(t, err, "before the policies, %s/%s reaches %s: %s", c[0], c[1], c[2], out)
		assert.Equal(t, "ok", out)
	}

	policies := append(components.DenyAllButTheMesh(config.Config{MeshMode: config.Sidecar}),
		components.EgressThroughTheMesh(config.Config{MeshMode: config.Sidecar})...)
	var pols []any
	for _, p := range policies {
		pols = append(pols, p)
	}
	harness.KubectlApply(t, kc, manifest(t, pols...))

	// What the policies refuse never connects: kube-router rejects it at once (curl's exit 7), a
	// CNI that drops it makes it time out (28), as verify's Drop expectation allows both.
	var last []string
	refused := func() bool {
		last = last[:0]
		for _, c := range [][3]string{{names.EgressClientNamespace, "curl-client", byName}, {names.BookinfoNamespace, "reviews", otherPort}} {
			out, err := curl(c[0], c[1], c[2])
			if err == nil || !(strings.Contains(out, "Failed to connect") || strings.Contains(out, "timed out")) {
				last = append(last, fmt.Sprintf("%s/%s -> %s: %v %s", c[0], c[1], c[2], err, out))
			}
		}
		return len(last) == 0
	}
	deadline := time.Now().Add(60 * time.Second)
	for !refused() && time.Now().Before(deadline) {
		time.Sleep(time.Second)
	}
	if !assert.Empty(t, last, "the egress client may not open Bookinfo, and Bookinfo's own pods only its application port: neither connects") {
		t.Log(harness.Kubectl(t, kc, "logs", "-n", "kube-system", "-l", "k8s-app=kube-router", "--tail=30", "--prefix"))
	}
	out, err := curl(names.BookinfoNamespace, "reviews", byName)
	require.NoError(t, err, "Bookinfo's pods still reach each other on the application port, by name (DNS allowed): %s", out)
	assert.Equal(t, "ok", out)

	harness.Kubectl(t, kc, "delete", "namespace", names.BookinfoNamespace, names.EgressClientNamespace, "--wait=false")
}

// manifest is objects as one multi-document YAML.
func manifest(t *testing.T, objs ...any) string {
	var docs []string
	for _, o := range objs {
		raw, err := yaml.Marshal(o)
		require.NoError(t, err)
		docs = append(docs, string(raw))
	}
	return strings.Join(docs, "---\n")
}

// A practice class of two participants on kind clusters the workshop makes on this machine (its
// own daemon, the node image built offline): both brought to stage 0 side by side, each on host
// ports of its own, verified, then reset, leaving no container and no network.
func TestAClassOfTwoOnKindClusters(t *testing.T) {
	harness.Require(t)
	d := harness.WorkshopDocker(t)
	p := harness.NewProject(t)
	require.NoError(t, os.WriteFile(filepath.Join(p.Dir, "class.yaml"), []byte("settings: {kindNodeImage: "+d.NodeImage+", workers: \"0\"}\n"+
		"participants:\n- {name: ada}\n- {name: bo, provider: kind}\n"), 0o600))
	must := p.MustWorkshop
	up := must("class", "up", "0", "--roster", "class.yaml", "--parallel", "2")
	assert.Regexp(t, `(?m)^ada +reach stage 0 in`, up.Stdout)
	assert.Regexp(t, `(?m)^bo +reach stage 0 in`, up.Stdout)
	for node, ports := range map[string][]string{
		"istio-workshop-class-ada-control-plane": {"127.0.0.1:20080", "127.0.0.1:20081"},
		"istio-workshop-class-bo-control-plane":  {"127.0.0.1:20082", "127.0.0.1:20083"},
	} {
		published := d.Docker(t, "port", node)
		for _, port := range ports {
			assert.Contains(t, published, port, "%s publishes its own port", node)
		}
	}
	must("class", "verify", "--roster", "class.yaml", "--objects-only")
	must("class", "reset", "--roster", "class.yaml", "--yes")
	assert.Empty(t, d.Lines(t, "ps", "-aq"), "no container is left")
	assert.NotContains(t, d.Lines(t, "network", "ls", "--format", "{{.Name}}"), "kind", "kind's network goes with the last cluster")
}

// The workshop's daemon never starts where its bridges could reach the machine's network: a
// namespace with an interface of its own (a veth pair here, made inside the test's namespace) is
// refused, and no daemon runs afterwards.
func TestTheWorkshopDaemonRefusesANamespaceWithANetwork(t *testing.T) {
	harness.Require(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root (it makes an interface)")
	}
	// Only where scripts/test's namespace is (the script's own test: loopback, what an earlier
	// daemon left, no route off the machine): no interface is added to a real network.
	dockerd := filepath.Join(harness.Root(), "scripts", "dockerd")
	if exec.Command(dockerd, "isolated").Run() != nil {
		t.Skip("not in a network namespace of the test's own: scripts/test makes one")
	}
	require.NoError(t, exec.Command("ip", "link", "add", "wstest0", "type", "veth", "peer", "name", "wstest1").Run())
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", "wstest0").Run() })
	dir := t.TempDir()
	out, err := exec.Command(dockerd, "start", dir).CombinedOutput()
	require.Error(t, err, string(out))
	assert.Contains(t, string(out), "refusing to start on a network with interfaces or routes of its own")
	_, statErr := os.Stat(filepath.Join(dir, "docker.pid"))
	assert.True(t, os.IsNotExist(statErr), "no daemon was started")
}

// A daemon left running (a test killed before its cleanup, a shell left open) is named by the next
// start, with the command that stops it; the cleanup after that refused start (a stop of its own
// directory, as `scripts/dockerd run` does) leaves the running daemon and its containers' mounts
// alone; `scripts/dockerd stop` alone stops it, and the data root is free again.
func TestALeftoverWorkshopDaemonIsNamedAndStopped(t *testing.T) {
	harness.Require(t)
	d := harness.WorkshopDocker(t)
	dockerd := filepath.Join(harness.Root(), "scripts", "dockerd")
	answers := func(host string) bool { return exec.Command("docker", "-H", host, "version").Run() == nil }
	first := strings.TrimSuffix(strings.TrimPrefix(d.Host, "unix://"), "/docker.sock")
	second, err := os.MkdirTemp("", "wsd") // short: containerd's socket paths live under it
	require.NoError(t, err)
	t.Cleanup(func() { _ = exec.Command(dockerd, "stop", second).Run(); os.RemoveAll(second) })

	// A container of the running daemon: its root filesystem is mounted under the data root.
	dataRoot := filepath.Join(paths.Cache(), "docker", "data")
	mountsUnderData := func() []string {
		raw, err := os.ReadFile("/proc/self/mounts")
		require.NoError(t, err)
		var under []string
		for _, l := range strings.Split(string(raw), "\n") {
			if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], dataRoot+"/") {
				under = append(under, f[1])
			}
		}
		return under
	}
	ctr := d.Docker(t, "run", "-d", "--entrypoint", "sleep", d.NodeImage, "infinity")
	mounted := mountsUnderData()
	require.NotEmpty(t, mounted, "the container's root filesystem is mounted under %s", dataRoot)

	out, err := exec.Command(dockerd, "start", second).CombinedOutput()
	require.Error(t, err, string(out))
	assert.Contains(t, string(out), "another workshop Docker daemon (started in "+first+") is using")
	assert.Contains(t, string(out), "stop it first: scripts/dockerd stop "+first)
	// `scripts/dockerd run` cleans up after a refused start with a stop of its own directory.
	out, err = exec.Command(dockerd, "stop", second).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.True(t, answers(d.Host), "the running daemon is left alone")
	assert.Equal(t, mounted, mountsUnderData(), "and so are its containers' mounts")
	assert.Equal(t, "ok", d.Docker(t, "exec", ctr, "echo", "ok"))

	out, err = exec.Command(dockerd, "stop").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.False(t, answers(d.Host), "stop without a directory stops the daemon that started last")

	out, err = exec.Command(dockerd, "start", second).CombinedOutput()
	require.NoError(t, err, "the data root is free again: %s", out)
	assert.True(t, answers("unix://"+second+"/docker.sock"))
	out, err = exec.Command(dockerd, "stop").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.False(t, answers("unix://"+second+"/docker.sock"))
	out, err = exec.Command(dockerd, "stop").CombinedOutput()
	require.Error(t, err, string(out))
	assert.Contains(t, string(out), "no workshop Docker daemon has started since the last stop")
}
