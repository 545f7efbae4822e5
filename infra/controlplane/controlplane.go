// Package controlplane runs a real Kubernetes control plane on loopback without Docker:
// etcd, kube-apiserver, kube-controller-manager and kube-scheduler from the pinned toolchain,
// with kwok simulating the nodes and a small loop giving LoadBalancer Services an address.
//
// Objects exist, controllers reconcile, Deployments, DaemonSets and Jobs become ready or
// complete, but no container runs and no packet reaches a pod: it is a place to apply and
// review every stage's resources, never one where traffic flows. Admission webhooks are off
// (their backends would be simulated pods), and the Service CIDR is loopback so that a stray
// dial to a ClusterIP stays on this machine.
//
// Each control plane lives in its own directory (certificates, etcd data, logs, state.json) and
// runs as detached processes, so it outlives the command that started it; Stop leaves no
// process, port or directory behind.
package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/istio-workshop/istio-workshop/internal/paths"
)

// ServiceCIDR is loopback on purpose: a webhook or aggregated API dial to a ClusterIP fails
// locally instead of leaving the machine.
const ServiceCIDR = "127.96.0.0/16"

// podCIDR is where kwok allocates simulated pod IPs (the API server rejects loopback pod IPs).
// Nothing ever dials them: there is no kube-proxy and no container.
const podCIDR = "10.244.0.0/16"

// The processes of a control plane, in start order.
const (
	procEtcd      = "etcd"
	procAPIServer = "kube-apiserver"
	procKCM       = "kube-controller-manager"
	procScheduler = "kube-scheduler"
	procKwok      = "kwok"
	procLB        = "workshop-lb"
	// procCertManager runs cert-manager's CA and self-signed issuing controllers (the chart's
	// pods are simulated): Certificates are issued and renewed for real.
	procCertManager = "workshop-cert-manager"
)

var processes = []string{procEtcd, procAPIServer, procKCM, procScheduler, procKwok, procLB, procCertManager}

var validName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// ControlPlane is one named local control plane.
type ControlPlane struct {
	Name string
	// Dir holds its certificates, data, logs and state.
	Dir string
	// Bin is where the pinned binaries are (see scripts/toolchain install local).
	Bin string
	// Nodes is the number of simulated nodes.
	Nodes int
}

// Option changes a ControlPlane made by New.
type Option func(*ControlPlane)

// WithNodes sets the number of simulated nodes (default 1).
func WithNodes(n int) Option { return func(c *ControlPlane) { c.Nodes = n } }

// WithBin sets the directory of the control-plane binaries (default paths.ToolsBin()).
func WithBin(dir string) Option { return func(c *ControlPlane) { c.Bin = dir } }

// WithDir sets the state directory (default paths.ControlPlanes()/NAME).
func WithDir(dir string) Option { return func(c *ControlPlane) { c.Dir = dir } }

// New describes the control plane called name; nothing starts until Start.
func New(name string, opts ...Option) (*ControlPlane, error) {
	if !validName.MatchString(name) || len(name) > 40 {
		return nil, fmt.Errorf("local control plane name %q: use lowercase letters, digits and '-', at most 40 characters", name)
	}
	c := &ControlPlane{Name: name, Dir: filepath.Join(paths.ControlPlanes(), name), Bin: paths.ToolsBin(), Nodes: 1}
	for _, o := range opts {
		o(c)
	}
	if c.Nodes < 1 {
		c.Nodes = 1
	}
	return c, nil
}

// state is what a running control plane records in Dir/state.json.
type state struct {
	Name    string         `json:"name"`
	Ports   map[string]int `json:"ports"`
	PIDs    map[string]int `json:"pids"`
	Started time.Time      `json:"started"`
}

func (c *ControlPlane) statePath() string      { return filepath.Join(c.Dir, "state.json") }
func (c *ControlPlane) KubeconfigPath() string { return filepath.Join(c.Dir, "kubeconfig") }

// ContextName is the kubeconfig context of this control plane.
func (c *ControlPlane) ContextName() string { return "local-" + c.Name }

func (c *ControlPlane) readState() (*state, error) {
	raw, err := os.ReadFile(c.statePath())
	if err != nil {
		return nil, err
	}
	var s state
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", c.statePath(), err)
	}
	return &s, nil
}

func (c *ControlPlane) writeState(s *state) error {
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := c.statePath() + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, c.statePath())
}

// Kubeconfig returns the admin kubeconfig of a started control plane.
func (c *ControlPlane) Kubeconfig() ([]byte, error) { return os.ReadFile(c.KubeconfigPath()) }

// Status is what Status reports.
type Status struct {
	Name string
	// Running lists the processes that are alive; Missing those that are not.
	Running, Missing []string
	// Ready is true when the API server answers /readyz and every process is alive.
	Ready  bool
	Server string
}

// Exists reports whether the control plane has state on disk (running or not).
func (c *ControlPlane) Exists() bool {
	_, err := os.Stat(c.Dir)
	return err == nil
}

// Status reports which processes are alive and whether the API server is ready.
func (c *ControlPlane) Status(ctx context.Context) (Status, error) {
	st := Status{Name: c.Name}
	s, err := c.readState()
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	for _, p := range processes {
		if pid, ok := s.PIDs[p]; ok && c.owns(pid) {
			st.Running = append(st.Running, p)
		} else {
			st.Missing = append(st.Missing, p)
		}
	}
	st.Server = "https://127.0.0.1:" + strconv.Itoa(s.Ports[procAPIServer])
	if len(st.Missing) == 0 {
		client, err := c.client()
		if err == nil {
			rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			_, err = client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
			st.Ready = err == nil
		}
	}
	return st, nil
}

// freePorts picks n distinct free loopback ports below the ephemeral range (32768+), where a
// client connection could take a "free" port between the check and the bind.
func freePorts(n int) ([]int, error) {
	var ports []int
	seen := map[int]bool{}
	for attempts := 0; len(ports) < n && attempts < 1000; attempts++ {
		p := 20000 + rand.IntN(12000)
		if seen[p] {
			continue
		}
		seen[p] = true
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		l.Close()
		ports = append(ports, p)
	}
	if len(ports) < n {
		return nil, errors.New("no free loopback ports in 20000-31999")
	}
	return ports, nil
}
