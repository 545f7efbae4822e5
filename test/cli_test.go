package test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/cli"
	"github.com/istio-workshop/istio-workshop/internal/mockstack"
	"github.com/istio-workshop/istio-workshop/internal/procs"
	"github.com/istio-workshop/istio-workshop/internal/workshop"
	"github.com/istio-workshop/istio-workshop/test/harness"
)

// TestWorkshopCLI drives stacks through the presenter's CLI (Automation API, real engine, local
// control planes): `up 4`; verify passes, then fails on an object deleted and on the mesh-wide
// PeerAuthentication edited behind the stack's back, and passes again after `up --refresh`;
// `diff 4 5` lists exactly the resources stage 5 adds; then `reset`, killed half-way through
// its destroys and re-run, leaves no stack, process, port or directory of either cluster.
func TestWorkshopCLI(t *testing.T) {
	harness.Require(t)
	p := harness.NewProject(t)
	stack := func(stage, cluster string) map[string]string {
		return map[string]string{
			"workshop:stage":           stage,
			"workshop:meshMode":        "sidecar",
			"workshop:clusterProvider": "local",
			"workshop:clusterName":     cluster,
			"workshop:chartSource":     "module",
		}
	}
	p.WriteStack("step0", stack("0", "e2e-cli-b")) // a second stack, on a cluster of its own
	p.WriteStack("step4", stack("4", "e2e-cli"))
	p.WriteStack("step5", stack("5", "e2e-cli"))
	must := p.MustWorkshop

	must("up", "0")
	up := must("up", "4", "--json")
	var applied struct {
		Changes    []cli.Changes `json:"changes"`
		NotCreates []any         `json:"notCreates"`
	}
	require.NoError(t, json.Unmarshal([]byte(up.Stdout), &applied), up.String())
	creates := map[string]int{}
	for _, c := range applied.Changes {
		creates[c.Kind] = c.Create
	}
	assert.Equal(t, 1, creates["LocalControlPlane"])
	assert.GreaterOrEqual(t, creates["Deployment"], 6, "Bookinfo's deployments")
	assert.Empty(t, applied.NotCreates, "an up from empty only creates")

	v := must("verify", "--stack", "step4")
	assert.Contains(t, v.Stdout, "0 missing from the cluster, 0 changed, 0 not checked")
	assert.Contains(t, v.Stdout, "not run: on the local control plane")

	// Behind the stack's back: a workload deleted, mTLS relaxed.
	cpDir := filepath.Join(p.Cache, "controlplanes", "e2e-cli")
	kc := filepath.Join(cpDir, "kubeconfig")
	harness.Kubectl(t, kc, "delete", "deployment", "-n", "bookinfo", "details-v1")
	harness.Kubectl(t, kc, "patch", "peerauthentications.security.istio.io", "-n", "istio-system", "default", "--type", "merge", "-p", `{"spec":{"mtls":{"mode":"PERMISSIVE"}}}`)
	v = p.Workshop("verify", "--stack", "step4")
	require.Error(t, v.Err, "verify fails:\n%s", v.Stdout)
	assert.Contains(t, v.Stdout, "missing: Deployment bookinfo/details-v1")
	assert.Contains(t, v.Stdout, "changed: PeerAuthentication istio-system/default")
	assert.Contains(t, v.Stdout, `spec.mtls.mode: want "STRICT", got "PERMISSIVE"`)
	// The documented repair puts both back.
	p.MustPulumi("up", "--yes", "--refresh", "--stack", "step4")
	assert.Equal(t, "STRICT", harness.Kubectl(t, kc, "get", "peerauthentications.security.istio.io", "-n", "istio-system", "default", "-o", "jsonpath={.spec.mtls.mode}"))
	v = must("verify", "--stack", "step4")
	assert.Contains(t, v.Stdout, "0 missing from the cluster, 0 changed")

	// A probe that is not what its stage defines (here edited in the state) fails verify, named,
	// even where no traffic can be sent; the advised up exports the stage's own again.
	editProbeInState(t, p, "step4", "product page over HTTPS", 201)
	v = p.Workshop("verify", "--stack", "step4")
	require.Error(t, v.Err, "verify fails:\n%s", v.Stdout)
	assert.Contains(t, v.Stdout, `differs: probe "product page over HTTPS" of stage 2: the stack expects HTTP 201, the stage defines HTTP 200`)
	p.MustPulumi("up", "--yes", "--skip-preview", "--stack", "step4")
	must("verify", "--stack", "step4")

	// diff 4 5: exactly what the program adds at stage 5 (counted by kind from the same program
	// under mocks), and the one update stage 5 states.
	d := must("diff", "4", "5", "--json")
	var moved struct {
		Changes    []cli.Changes `json:"changes"`
		NotCreates []cli.Step    `json:"notCreates"`
	}
	require.NoError(t, json.Unmarshal([]byte(d.Stdout), &moved), d.String())
	got := map[string]int{}
	for _, c := range moved.Changes {
		if c.Create > 0 {
			got[c.Kind] = c.Create
		}
	}
	assert.Equal(t, added(t, stack("4", "e2e-cli"), stack("5", "e2e-cli")), got, "diff 4 5 creates exactly stage 5's resources")
	require.Len(t, moved.NotCreates, 1, "%+v", moved.NotCreates)
	require.NotEmpty(t, moved.NotCreates[0].Changed, "the update names the fields it changes")

	// The same move as a reviewer reads it: the summary, the change to what runs with its
	// fields, each creation on one line, the policy verdict; about a line per object.
	text := must("diff", "4", "5").Stdout
	order := []string{"Moving stack step4 from stage 4 to stage 5", "total", "Changes to what already runs (read these first):",
		"  update VirtualService " + moved.NotCreates[0].Object, "      " + moved.NotCreates[0].Changed[0].Path + ": ",
		"Created (", "  stage 5, Authorization policies (", "Policy pack istio-workshop: "}
	at := 0
	for _, want := range order {
		i := strings.Index(text[at:], want)
		require.GreaterOrEqual(t, i, 0, "%q after position %d in:\n%s", want, at, text)
		at += i + len(want)
	}
	assert.Contains(t, text, "no violation")
	created := 0
	for _, c := range moved.Changes {
		created += c.Create
	}
	assert.LessOrEqual(t, strings.Count(text, "\n"), created+len(moved.Changes)+40, "about one line per created object:\n%s", text)
	t.Logf("workshop diff 4 5:\n%s", text)
	assert.Equal(t, "update", moved.NotCreates[0].Op)
	assert.Equal(t, "VirtualService", moved.NotCreates[0].Kind(), "the ingress route gains the beta route")

	// reset, killed half-way through destroying stage 4's stack, then re-run.
	ports := harness.ReadControlPlaneState(t, cpDir).Ports
	bDir := filepath.Join(p.Cache, "controlplanes", "e2e-cli-b")
	for name, port := range harness.ReadControlPlaneState(t, bDir).Ports {
		ports["b-"+name] = port
	}
	run := p.StartWorkshop("reset", "--yes")
	require.Eventually(t, func() bool { return strings.Contains(run.Stdout.String(), "destroying stack step4") }, 3*time.Minute, 200*time.Millisecond,
		"reset reaches stack step4:\n%s", run.Stdout)
	time.Sleep(time.Duration(3+rand.IntN(15)) * time.Second)
	require.Nil(t, run.Cmd.ProcessState, "reset was still destroying when killed:\n%s", run.Stdout)
	run.KillGroup()
	t.Logf("reset killed:\n%s", tail(run.Stdout.String(), 10))

	r := must("reset", "--yes")
	assert.Contains(t, r.Stdout, "no stack, cluster, control plane, process, port or kubeconfig context of ours is left")
	t.Logf("the re-run's own report:\n%s", r.Stderr)
	for _, pid := range procs.Orphans() {
		t.Errorf("left by the killed reset and not ended by the next command: %s", procs.Describe(pid))
	}
	for _, dir := range []string{cpDir, bDir} {
		assert.Empty(t, harness.Processes(dir), "no control plane process is left")
		_, err := os.Stat(dir)
		assert.True(t, os.IsNotExist(err), "the control plane's directory %s is removed", dir)
	}
	for name, port := range ports {
		assert.False(t, harness.Listening(port), "port %d (%s) is closed", port, name)
	}
	assert.Equal(t, "[]", strings.TrimSpace(p.MustPulumi("stack", "ls", "--json").Stdout), "no stack is left")
	assert.Contains(t, must("reset", "--yes").Stdout, "0 stack(s) destroyed", "a second reset finds nothing to do")
	for _, name := range []string{"step0", "step4", "step5"} {
		file := filepath.Join(p.Dir, "stacks", "Pulumi."+name+".yaml")
		raw, err := os.ReadFile(file)
		require.NoError(t, err, "reset keeps the stack files: the stage and the user's settings")
		assert.Contains(t, string(raw), "workshop:stage:", file)
	}
}

// added counts by kind the resources the program registers with config `to` and not with
// `from` (under Pulumi's mocks: the same program, no cluster).
func added(t *testing.T, from, to map[string]string) map[string]int {
	t.Helper()
	before, err := mockstack.Run(t, workshop.Program, "from", from)
	require.NoError(t, err)
	after, err := mockstack.Run(t, workshop.Program, "to", to)
	require.NoError(t, err)
	out := map[string]int{}
	for key := range after.Resources {
		if _, ok := before.Resources[key]; ok {
			continue
		}
		typ, _, _ := strings.Cut(key, " ")
		if kind := (cli.Step{Type: typ}).Kind(); kind != "" {
			out[kind]++
		}
	}
	return out
}

// A stack locked by a live run: every command that takes the lock says so and exits 1. It used
// to wait for ever for an event stream the CLI never opened.
func TestWorkshopCLIOnALockedStack(t *testing.T) {
	harness.Require(t)
	p := harness.NewProject(t)
	p.WriteStack("step0", map[string]string{"workshop:stage": "0", "workshop:clusterProvider": "local", "workshop:clusterName": "e2e-locked"})
	p.MustPulumi("stack", "init", "step0")
	host, err := os.Hostname()
	require.NoError(t, err)
	dir := filepath.Join(p.State, ".pulumi", "locks", "organization", "istio-workshop", "step0")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "held.json"),
		fmt.Appendf(nil, `{"pid":%d,"username":"e2e","hostname":%q,"timestamp":%q}`, os.Getpid(), host, time.Now().UTC().Format(time.RFC3339)), 0o600))

	for _, args := range [][]string{{"up", "0"}, {"reset", "--yes"}} {
		r := p.Workshop(args...)
		require.Error(t, r.Err, r.String())
		assert.Equal(t, 1, r.Err.(*exec.ExitError).ExitCode(), r.String())
		assert.Contains(t, r.Stdout+r.Stderr, "locked", "%v names the lock", args)
		assert.Less(t, r.Took, 2*time.Minute, "%v returns", args)
	}
	assert.FileExists(t, filepath.Join(dir, "held.json"), "a live run's lock is never taken away")
}

// editProbeInState changes the expected status of one exported probe in the stack's state.
func editProbeInState(t *testing.T, p *harness.Project, stack, probe string, status int) {
	t.Helper()
	var state map[string]any
	require.NoError(t, json.Unmarshal([]byte(p.MustPulumi("stack", "export", "--stack", stack).Stdout), &state))
	edited := false
	for _, r := range state["deployment"].(map[string]any)["resources"].([]any) {
		res := r.(map[string]any)
		if res["type"] != "pulumi:pulumi:Stack" {
			continue
		}
		for _, pr := range res["outputs"].(map[string]any)["probes"].([]any) {
			if pr := pr.(map[string]any); pr["name"] == probe {
				pr["expect"].(map[string]any)["status"] = status
				edited = true
			}
		}
	}
	require.True(t, edited, "no probe %q in the state of %s", probe, stack)
	raw, err := json.Marshal(state)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(file, raw, 0o600))
	p.MustPulumi("stack", "import", "--file", file, "--stack", stack)
}

// An interrupted command (Ctrl-C, SIGTERM) ends the engine and what the engine started (its
// language host and providers run in process groups of their own) before it exits.
func TestAnInterruptedWorkshopCommandLeavesNothing(t *testing.T) {
	harness.Require(t)
	p := harness.NewProject(t)
	p.WriteStack("step1", map[string]string{"workshop:stage": "1", "workshop:meshMode": "sidecar", "workshop:clusterProvider": "local",
		"workshop:clusterName": "e2e-interrupt", "workshop:chartSource": "module"})
	run := p.StartWorkshop("up", "1")
	cli := run.Cmd.Process.Pid
	var engine []int
	require.Eventually(t, func() bool { engine = procs.OfRun(cli); return len(engine) >= 2 }, 3*time.Minute, 200*time.Millisecond,
		"the engine and its language host run for the command:\n%s", run.Stderr)
	time.Sleep(3 * time.Second) // into the up
	for _, pid := range procs.OfRun(cli) {
		t.Logf("running for the command: %s", procs.Describe(pid))
	}
	require.NoError(t, run.Cmd.Process.Signal(os.Interrupt))
	done := make(chan error, 1)
	go func() { done <- run.Cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the interrupted command did not exit:\n%s", run.Stderr)
	}
	for _, pid := range engine {
		assert.False(t, procs.Running(pid), "still running after the interrupted command exited: %s", procs.Describe(pid))
	}
	assert.Empty(t, procs.Orphans(), "nothing left for the next command to end")
}
