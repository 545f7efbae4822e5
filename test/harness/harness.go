// Package harness runs the workshop through the real Pulumi CLI, the repository's language host
// and the installed plugins, against a local control plane: what the end-to-end tests build on.
package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/infra/controlplane"
	"github.com/istio-workshop/istio-workshop/internal/outputs"
	"github.com/istio-workshop/istio-workshop/internal/paths"
	"github.com/istio-workshop/istio-workshop/internal/procs"
	"github.com/stretchr/testify/require"
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func init() {
	// The engine stops the language host with SIGINT; a SIGINT ignored by whoever started the
	// tests (a background job) would be inherited and cost 5 s per command. Catching it here
	// makes exec reset it to the default in every child.
	signal.Notify(make(chan os.Signal, 1), os.Interrupt)
}

// Require skips the calling test unless the end-to-end environment is there (scripts/test
// provides it): the pinned toolchain, and WORKSHOP_E2E=1.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv("WORKSHOP_E2E") != "1" {
		t.Skip("end-to-end test: run scripts/test (it installs the toolchain and sets WORKSHOP_E2E=1)")
	}
	for _, bin := range []string{"pulumi", "pulumi-language-go", "kube-apiserver", "etcd", "kwok", "workshop-lb"} {
		if _, err := os.Stat(filepath.Join(paths.ToolsBin(), bin)); err != nil {
			t.Fatalf("%s is missing from %s: run scripts/toolchain install all", bin, paths.ToolsBin())
		}
	}
}

// Program is the workshop program built once per test run (or WORKSHOP_PROGRAM_BIN, prebuilt
// by scripts/test before it enters the network namespace).
func Program(t testing.TB) string { return built(t, "WORKSHOP_PROGRAM_BIN", ".") }

// CLI is the presenter's `workshop` command, built once per test run (or WORKSHOP_CLI_BIN).
func CLI(t testing.TB) string { return built(t, "WORKSHOP_CLI_BIN", "./cmd/workshop") }

type build struct {
	once sync.Once
	path string
	err  error
}

var builds sync.Map // package -> *build

// built is the binary of the repository's package pkg: the one env names, or built once.
func built(t testing.TB, env, pkg string) string {
	t.Helper()
	if p := os.Getenv(env); env != "" && p != "" {
		return p
	}
	v, _ := builds.LoadOrStore(pkg, &build{})
	b := v.(*build)
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "workshop-build-")
		if err != nil {
			b.err = err
			return
		}
		name := filepath.Base(filepath.Clean(pkg))
		if name == "." {
			name = "program" // the repository root's package
		}
		b.path = filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", b.path, pkg)
		cmd.Dir = Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("building %s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Project is a Pulumi project directory for one test: the real program (prebuilt), its own file
// state and its own workshop cache (control planes live there).
type Project struct {
	t     testing.TB
	Dir   string
	State string
	Cache string
	env   []string
}

// NewProject makes a project whose Pulumi.yaml runs the prebuilt program.
func NewProject(t testing.TB) *Project {
	t.Helper()
	return NewProjectFor(t, "istio-workshop", Program(t))
}

// Built is the binary of the repository's package pkg (e.g. a test program under testdata),
// built once per test run.
func Built(t testing.TB, pkg string) string { return built(t, "", pkg) }

// NewProjectFor makes a project named name whose Pulumi.yaml runs the binary program.
func NewProjectFor(t testing.TB, name, program string) *Project {
	t.Helper()
	root := t.TempDir()
	p := &Project{t: t, Dir: filepath.Join(root, "project"), State: filepath.Join(root, "state"), Cache: filepath.Join(root, "cache")}
	for _, d := range []string{p.Dir, p.State, p.Cache, filepath.Join(p.Dir, "stacks")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	pulumiYAML := fmt.Sprintf("name: %s\nruntime:\n  name: go\n  options:\n    binary: %s\nstackConfigDir: stacks\n", name, program)
	if err := os.WriteFile(filepath.Join(p.Dir, "Pulumi.yaml"), []byte(pulumiYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	p.env = Env(p.State, p.Cache)
	// A test that fails half-way leaves no local control plane of its stacks running (t.TempDir's
	// removal, registered before this, runs after it).
	t.Cleanup(func() {
		entries, _ := os.ReadDir(filepath.Join(p.Cache, "controlplanes"))
		for _, e := range entries {
			if cp, err := controlplane.New(e.Name(), controlplane.WithDir(filepath.Join(p.Cache, "controlplanes", e.Name()))); err == nil {
				_ = cp.Stop(context.Background())
			}
		}
	})
	return p
}

// Env is the environment of a CLI run: the pinned tools first on PATH, file state, a test
// passphrase, and no plugin lookups or downloads outside what the toolchain installed.
func Env(state, cache string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PULUMI_") || k == "PATH" || k == "WORKSHOP_CACHE" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"PATH="+paths.ToolsBin()+string(os.PathListSeparator)+os.Getenv("PATH"),
		"WORKSHOP_TOOLS_BIN="+paths.ToolsBin(),
		"WORKSHOP_CACHE="+cache,
		"PULUMI_BACKEND_URL=file://"+state,
		"PULUMI_CONFIG_PASSPHRASE=e2e-test-only",
		"PULUMI_SKIP_UPDATE_CHECK=true",
		"PULUMI_IGNORE_AMBIENT_PLUGINS=true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
		"PULUMI_K8S_ENABLE_PATCH_FORCE=true", // as scripts/toolchain env sets it
		"PULUMI_HOME="+paths.PulumiHome(),
	)
}

// WriteStack writes stacks/Pulumi.NAME.yaml with the given workshop settings.
func (p *Project) WriteStack(name string, values map[string]string) {
	p.t.Helper()
	raw, err := yaml.Marshal(map[string]any{"config": values})
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.Dir, "stacks", "Pulumi."+name+".yaml"), raw, 0o600); err != nil {
		p.t.Fatal(err)
	}
}

// Result is one CLI run.
type Result struct {
	Args           []string
	Stdout, Stderr string
	Err            error
	Took           time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("pulumi %s (%s): err=%v\n--- stdout\n%s\n--- stderr\n%s\n--- errors (repeated last: logs are often cut from the top)\n%s",
		strings.Join(r.Args, " "), r.Took.Round(time.Millisecond), r.Err, r.Stdout, r.Stderr, r.Errors())
}

// Errors are the output lines that report an error, with the line after each (the engine
// often puts the reason there).
func (r Result) Errors() string {
	lines := strings.Split(r.Stdout+"\n"+r.Stderr, "\n")
	var out []string
	for i, l := range lines {
		if strings.Contains(strings.ToLower(l), "error") {
			out = append(out, strings.TrimSpace(l))
			if i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
				out = append(out, "    "+strings.TrimSpace(lines[i+1]))
			}
		}
	}
	return strings.Join(out, "\n")
}

// Workshop runs the presenter's CLI in the project directory, with the project's environment.
func (p *Project) Workshop(args ...string) Result {
	p.t.Helper()
	cmd := p.workshopCmd(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	// A hung command fails its test instead of the whole run's timeout.
	err := cmd.Start()
	if err == nil {
		hung := time.AfterFunc(15*time.Minute, func() { _ = cmd.Process.Kill() })
		err = cmd.Wait()
		hung.Stop()
	}
	r := Result{Args: append([]string{"(workshop)"}, args...), Stdout: stdout.String(), Stderr: stderr.String(), Err: err, Took: time.Since(start)}
	p.t.Logf("workshop %s: %s, err=%v", strings.Join(args, " "), r.Took.Round(time.Millisecond), err)
	return r
}

// workshopCmd is the presenter's CLI in the project directory, with the project's environment.
func (p *Project) workshopCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(CLI(p.t), args...)
	// The project directory is a copy without policies/: run the repository's pack.
	cmd.Dir, cmd.Env = p.Dir, append(slices.Clone(p.env), "WORKSHOP_POLICY_PACK="+filepath.Join(Root(), "policies"))
	return cmd
}

// Pulumi runs the CLI in the project directory.
func (p *Project) Pulumi(args ...string) Result {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(paths.ToolsBin(), "pulumi"), append(args, "--non-interactive")...)
	cmd.Dir = p.Dir
	cmd.Env = p.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Err: err, Took: time.Since(start)}
	p.t.Logf("pulumi %s: %s, err=%v", strings.Join(args, " "), r.Took.Round(time.Millisecond), err)
	return r
}

// Running is a CLI run in the background.
type Running struct {
	Cmd            *exec.Cmd
	Stdout, Stderr *Output
}

// Output collects a background run's output; a test may read it while the run writes.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// Kill sends SIGKILL to the CLI alone, as `kill -9 PID` would, then, once it is gone, to what
// is left of its process group and to its children (the engine starts plugins in groups of their
// own), so the test leaves no process behind.
func (r *Running) Kill() {
	children := procs.Children(r.Cmd.Process.Pid)
	_ = r.Cmd.Process.Signal(syscall.SIGKILL)
	_ = r.Cmd.Wait()
	_ = syscall.Kill(-r.Cmd.Process.Pid, syscall.SIGKILL)
	for _, c := range children {
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
}

// Start runs the CLI in the project directory in the background, in its own process group.
func (p *Project) Start(args ...string) *Running {
	p.t.Helper()
	cmd := exec.Command(filepath.Join(paths.ToolsBin(), "pulumi"), append(args, "--non-interactive")...)
	cmd.Dir, cmd.Env = p.Dir, p.env
	return p.background(cmd)
}

// StartWorkshop runs the presenter's CLI in the background, in its own process group.
func (p *Project) StartWorkshop(args ...string) *Running {
	p.t.Helper()
	return p.background(p.workshopCmd(args...))
}

func (p *Project) background(cmd *exec.Cmd) *Running {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r := &Running{Cmd: cmd, Stdout: &Output{}, Stderr: &Output{}}
	cmd.Stdout, cmd.Stderr = r.Stdout, r.Stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return r
}

// KillGroup sends SIGKILL to the whole process group at once (the CLI, the Pulumi CLI it runs,
// the plugins), as a closed terminal or a crashed laptop would.
func (r *Running) KillGroup() {
	_ = syscall.Kill(-r.Cmd.Process.Pid, syscall.SIGKILL)
	_ = r.Cmd.Wait()
}

// MustPulumi runs the CLI and fails the test if it fails.
func (p *Project) MustPulumi(args ...string) Result {
	p.t.Helper()
	r := p.Pulumi(args...)
	if r.Err != nil {
		p.t.Fatal(r.String())
	}
	return r
}

// MustWorkshop runs the presenter's CLI and fails the test if it fails.
func (p *Project) MustWorkshop(args ...string) Result {
	p.t.Helper()
	r := p.Workshop(args...)
	if r.Err != nil {
		p.t.Fatal(r.String())
	}
	return r
}

// Processes lists the command lines of running processes that mention s.
func Processes(s string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		line := strings.ReplaceAll(string(raw), "\x00", " ")
		if strings.Contains(line, s) {
			out = append(out, e.Name()+": "+line)
		}
	}
	sort.Strings(out)
	return out
}

// Listening reports whether something accepts connections on the loopback port.
func Listening(port int) bool {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 300*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// Outputs reads a stack's outputs the way the CLI does (secrets shown, decoded by the CLI's own
// reader, which refuses a probe it could not run).
func (p *Project) Outputs(t testing.TB, stack string) outputs.Stack {
	t.Helper()
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(p.MustPulumi("stack", "output", "--json", "--show-secrets", "--stack", stack).Stdout), &raw))
	o, err := outputs.Decode(raw)
	require.NoError(t, err)
	return o
}
