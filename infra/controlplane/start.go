package controlplane

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/istio-workshop/istio-workshop/internal/paths"
)

// Start brings the control plane up and waits until it is ready: nodes Ready and the default
// service account present (pods are refused before it exists). A running, healthy control plane
// is left as it is. One whose processes died (a reboot, a crash, one killed) is resumed: the
// dead processes are started again on the same ports and data, so every object is kept. If a
// fresh start fails, everything started so far is stopped and the directory removed, so a
// failed start leaves nothing behind.
func (c *ControlPlane) Start(ctx context.Context) (err error) {
	if err := c.checkBinaries(); err != nil {
		return err
	}
	if c.Exists() {
		st, err := c.Status(ctx)
		if err == nil && st.Ready {
			return nil
		}
		if s, err := c.readState(); err == nil && s.PIDs[procLB] != 0 {
			// It was fully started once: its data is worth keeping.
			if err := c.run(ctx, s); err != nil {
				return fmt.Errorf("resuming %s: %w (`workshop-local stop --name %s` removes it, and a start then begins from nothing)", c.Name, err, c.Name)
			}
			return nil
		}
		// Half-started: start again from nothing.
		if err := c.Stop(ctx); err != nil {
			return fmt.Errorf("cleaning up the previous run of %s: %w", c.Name, err)
		}
	}
	defer func() {
		if err != nil {
			if stopErr := c.Stop(context.WithoutCancel(ctx)); stopErr != nil {
				err = fmt.Errorf("%w (and cleaning up failed: %v)", err, stopErr)
			}
		}
	}()
	if err := os.MkdirAll(filepath.Join(c.Dir, "logs"), 0o700); err != nil {
		return err
	}
	serviceIP := net.ParseIP(strings.TrimSuffix(ServiceCIDR, "0/16") + "1")
	if err := writePKI(c.Dir, serviceIP); err != nil {
		return err
	}
	ports, err := freePorts(7)
	if err != nil {
		return err
	}
	s := &state{Name: c.Name, Started: time.Now().UTC(), PIDs: map[string]int{}, Ports: map[string]int{
		procEtcd: ports[0], "etcd-peer": ports[1], procAPIServer: ports[2], procKCM: ports[3],
		procScheduler: ports[4], procKwok: ports[5], "kwok-metrics": ports[6],
	}}
	if err := c.writeState(s); err != nil {
		return err
	}
	if err := c.writeKubeconfig(s.Ports[procAPIServer]); err != nil {
		return err
	}
	return c.run(ctx, s)
}

// run starts, in order, every process of s that is not running, waiting for etcd and the API
// server to answer before starting what needs them, then makes sure the nodes exist and are
// Ready. The command lines depend only on the state (ports) and the directory, so a process
// started again is the same process.
func (c *ControlPlane) run(ctx context.Context, s *state) error {
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(s.Ports[procEtcd])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(s.Ports["etcd-peer"])
	kubeconfig := c.KubeconfigPath()
	client, err := c.client()
	if err != nil {
		return err
	}
	steps := []struct {
		name  string
		args  []string
		ready func(context.Context) error
	}{
		{procEtcd, []string{"--name=workshop", "--data-dir=" + c.path("etcd"),
			"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
			"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=workshop=" + peerURL, "--unsafe-no-fsync", "--log-level=warn"},
			func(ctx context.Context) error { return httpOK(ctx, etcdURL+"/health") }},
		{procAPIServer, []string{"--etcd-servers=" + etcdURL,
			"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(s.Ports[procAPIServer]),
			"--tls-cert-file=" + c.path("apiserver.crt"), "--tls-private-key-file=" + c.path("apiserver.key"),
			"--client-ca-file=" + c.path("ca.crt"),
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + c.path("sa.pub"), "--service-account-signing-key-file=" + c.path("sa.key"),
			"--service-cluster-ip-range=" + ServiceCIDR,
			"--authorization-mode=Node,RBAC",
			// The kubernetes Endpoints would hold 127.0.0.1, which validation rejects.
			"--endpoint-reconciler-type=none",
			// Webhook backends are simulated pods that cannot answer: never call them.
			"--disable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
			"--kubelet-preferred-address-types=InternalIP",
			"--allow-privileged=true", "--profiling=false"},
			func(ctx context.Context) error {
				_, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
				return err
			}},
		{procKCM, []string{"--kubeconfig=" + kubeconfig, "--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(s.Ports[procKCM]),
			"--service-account-private-key-file=" + c.path("sa.key"), "--root-ca-file=" + c.path("ca.crt"),
			"--cluster-signing-cert-file=" + c.path("ca.crt"), "--cluster-signing-key-file=" + c.path("ca.key"),
			// No metrics API here: the HPA controller would only log errors.
			"--controllers=*,-horizontal-pod-autoscaler-controller",
			"--leader-elect=false", "--kube-api-qps=200", "--kube-api-burst=400", "--profiling=false"}, nil},
		{procScheduler, []string{"--kubeconfig=" + kubeconfig, "--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(s.Ports[procScheduler]), "--leader-elect=false", "--profiling=false"}, nil},
		{procKwok, []string{"--kubeconfig=" + kubeconfig, "--config=" + filepath.Join(c.Bin, "kwok-stages.yaml"),
			"--manage-all-nodes=true", "--cidr=" + podCIDR, "--node-ip=127.0.0.1",
			"--node-port=" + strconv.Itoa(s.Ports[procKwok]), "--server-address=127.0.0.1:" + strconv.Itoa(s.Ports[procKwok]),
			"--node-lease-duration-seconds=40"}, nil},
		{procLB, []string{"--kubeconfig=" + kubeconfig}, nil},
		{procCertManager, []string{"--kubeconfig=" + kubeconfig}, nil},
	}
	for _, st := range steps {
		if pid, ok := s.PIDs[st.name]; ok && c.owns(pid) {
			continue
		}
		pid, err := c.spawn(st.name, st.args...)
		if err != nil {
			return err
		}
		s.PIDs[st.name] = pid
		if err := c.writeState(s); err != nil {
			return err
		}
		if st.ready != nil {
			timeout := map[string]time.Duration{procEtcd: 30 * time.Second, procAPIServer: 60 * time.Second}[st.name]
			if err := c.waitFor(ctx, st.name, timeout, st.ready); err != nil {
				return err
			}
		}
	}
	if err := c.createNodes(ctx, client); err != nil {
		return err
	}
	return c.waitFor(ctx, "nodes", 60*time.Second, func(ctx context.Context) error { return ready(ctx, client, c.Nodes) })
}

// CheckBinaries names what to install when a binary of the default toolchain is missing.
func CheckBinaries() error { return checkBinaries(paths.ToolsBin()) }

func (c *ControlPlane) checkBinaries() error { return checkBinaries(c.Bin) }

func checkBinaries(bin string) error {
	var missing []string
	for _, p := range append(slices.Clone(processes), "kwok-stages.yaml") {
		if _, err := os.Stat(filepath.Join(bin, p)); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the local control plane needs %s in %s: run `scripts/toolchain install local` (builds them from the Go module proxy, once)",
			strings.Join(missing, ", "), bin)
	}
	return nil
}

func (c *ControlPlane) path(name string) string { return filepath.Join(c.Dir, name) }

// spawn starts a detached process (own session, so it outlives the caller and ignores the
// caller's terminal signals) logging to Dir/logs/NAME.log.
func (c *ControlPlane) spawn(name string, args ...string) (int, error) {
	logf, err := os.OpenFile(filepath.Join(c.Dir, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(c.Bin, name), args...)
	cmd.Dir = c.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// Only the variables the binaries need: no proxy settings, which could send API traffic away.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", name, err)
	}
	pid := cmd.Process.Pid
	go cmd.Wait() // reap it if it exits while we are still running
	return pid, nil
}

// waitFor polls check until it succeeds, the process dies or the timeout passes; on failure it
// quotes the end of the process log.
func (c *ControlPlane) waitFor(ctx context.Context, what string, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		if s, err := c.readState(); err == nil {
			if pid, ok := s.PIDs[what]; ok && !c.owns(pid) {
				return fmt.Errorf("%s exited during start-up: %s", what, c.logTail(what))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %v %s", what, timeout, last, c.logTail(what))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *ControlPlane) logTail(name string) string {
	raw, err := os.ReadFile(filepath.Join(c.Dir, "logs", name+".log"))
	if err != nil || len(raw) == 0 {
		return ""
	}
	if len(raw) > 1500 {
		raw = raw[len(raw)-1500:]
	}
	return "\n--- end of " + name + ".log ---\n" + string(raw)
}

// httpOK is a plain-HTTP health check (etcd's client port has no TLS on loopback).
func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// writeKubeconfig writes the admin kubeconfig with the certificates embedded, so it can be
// copied anywhere (and into Pulumi state as a secret).
func (c *ControlPlane) writeKubeconfig(port int) error {
	read := func(n string) []byte { b, _ := os.ReadFile(c.path(n)); return b }
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[c.ContextName()] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:" + strconv.Itoa(port), CertificateAuthorityData: read("ca.crt")}
	cfg.AuthInfos[c.ContextName()] = &clientcmdapi.AuthInfo{ClientCertificateData: read("admin.crt"), ClientKeyData: read("admin.key")}
	cfg.Contexts[c.ContextName()] = &clientcmdapi.Context{Cluster: c.ContextName(), AuthInfo: c.ContextName()}
	cfg.CurrentContext = c.ContextName()
	return clientcmd.WriteToFile(*cfg, c.KubeconfigPath())
}

func (c *ControlPlane) client() (*kubernetes.Clientset, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", c.KubeconfigPath())
	if err != nil {
		return nil, err
	}
	rc.QPS, rc.Burst = 100, 200
	return kubernetes.NewForConfig(rc)
}

// createNodes registers the simulated nodes; kwok keeps them Ready. No taint, so ordinary charts
// schedule on every node.
func (c *ControlPlane) createNodes(ctx context.Context, client kubernetes.Interface) error {
	for i := range c.Nodes {
		name := fmt.Sprintf("%s-node-%d", c.Name, i)
		capacity := corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("32"),
			corev1.ResourceMemory: resource.MustParse("256Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
		}
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
				Labels: map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
					"kubernetes.io/arch": "amd64", "type": "kwok"},
			},
			Status: corev1.NodeStatus{Allocatable: capacity, Capacity: capacity},
		}
		if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating node %s: %w", name, err)
		}
	}
	return nil
}

func ready(ctx context.Context, client kubernetes.Interface, want int) error {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	readyNodes := 0
	for _, n := range nodes.Items {
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				readyNodes++
			}
		}
	}
	if readyNodes < want {
		return fmt.Errorf("%d of %d nodes ready", readyNodes, want)
	}
	_, err = client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
	return err
}
