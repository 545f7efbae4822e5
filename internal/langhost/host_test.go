package langhost

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/structpb"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func TestRequiredPluginsOfTheWorkshopProgram(t *testing.T) {
	deps, err := RequiredPlugins(context.Background(), repoRoot())
	require.NoError(t, err)
	got := map[string]string{}
	for _, d := range deps {
		assert.Equal(t, "resource", d.Kind)
		got[d.Name] = d.Version
	}
	assert.Equal(t, map[string]string{"kubernetes": "4.25.0", "workshop": "0.1.0"}, got,
		"the Kubernetes SDK's and the infra package's pulumi-plugin.json, nothing else")
}

func TestRequiredPluginsOfAPrebuiltProgramWithoutSource(t *testing.T) {
	deps, err := RequiredPlugins(context.Background(), t.TempDir())
	require.NoError(t, err)
	assert.Empty(t, deps)
}

// writeProgram makes a one-file Go module whose main runs body.
func writeProgram(t *testing.T, body string) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/p\n\ngo 1.22\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport (\"fmt\"; \"os\")\n\nvar _, _ = fmt.Sprint, os.Exit\n\nfunc main() {\n"+body+"\n}\n"), 0o600))
	return dir
}

func runRequest(dir string, opts map[string]any) *pulumirpc.RunRequest {
	o, _ := structpb.NewStruct(opts)
	return &pulumirpc.RunRequest{
		Project: "proj", Stack: "dev", Pwd: dir, MonitorAddress: "127.0.0.1:1", DryRun: true, Parallel: 4,
		Config:           map[string]string{"workshop:stage": "3", "workshop:token": "s3cret"},
		ConfigSecretKeys: []string{"workshop:token"},
		Info:             &pulumirpc.ProgramInfo{RootDirectory: dir, ProgramDirectory: dir, Options: o},
	}
}

func TestRunPassesThePulumiRunContract(t *testing.T) {
	dir := writeProgram(t, `for _, k := range []string{"PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_MONITOR", "PULUMI_ENGINE", "PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS", "PULUMI_DRY_RUN", "PULUMI_PARALLEL", "PULUMI_ROOT_DIRECTORY"} { fmt.Printf("%s=%s\n", k, os.Getenv(k)) }`)
	var out bytes.Buffer
	h := &Host{engineAddress: "127.0.0.1:2", Stdout: &out, Stderr: &out, BuildDir: t.TempDir()}
	resp, err := h.Run(context.Background(), runRequest(dir, nil))
	require.NoError(t, err)
	require.Empty(t, resp.Error, out.String())
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	assert.Equal(t, "proj", env[pulumi.EnvProject])
	assert.Equal(t, "dev", env[pulumi.EnvStack])
	assert.Equal(t, "127.0.0.1:1", env[pulumi.EnvMonitor])
	assert.Equal(t, "127.0.0.1:2", env[pulumi.EnvEngine])
	assert.Equal(t, "true", env[pulumi.EnvDryRun])
	assert.Equal(t, "4", env[pulumi.EnvParallel])
	assert.Equal(t, dir, env[pulumi.EnvPulumiRootDirectory])
	var cfg map[string]string
	require.NoError(t, json.Unmarshal([]byte(env[pulumi.EnvConfig]), &cfg))
	assert.Equal(t, "3", cfg["workshop:stage"])
	assert.Equal(t, `["workshop:token"]`, env[pulumi.EnvConfigSecretKeys])
}

func TestRunMapsExitStatuses(t *testing.T) {
	h := &Host{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, BuildDir: t.TempDir()}
	resp, err := h.Run(context.Background(), runRequest(writeProgram(t, "os.Exit(32)"), nil))
	require.NoError(t, err)
	assert.True(t, resp.Bail, "32: the program already reported its error")

	resp, err = h.Run(context.Background(), runRequest(writeProgram(t, "os.Exit(3)"), nil))
	require.NoError(t, err)
	assert.Contains(t, resp.Error, "exited with status 3")

	resp, err = h.Run(context.Background(), runRequest(writeProgram(t, "this does not compile"), nil))
	require.NoError(t, err)
	assert.Contains(t, resp.Error, "go build")
}

func TestRunUsesAPrebuiltBinary(t *testing.T) {
	dir := writeProgram(t, `fmt.Print("prebuilt")`)
	h := &Host{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, BuildDir: t.TempDir()}
	bin, err := h.Build(context.Background(), dir, "out/prog")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "out", "prog"), bin)
	require.NoError(t, os.Remove(filepath.Join(dir, "main.go")), "the source is gone: only the binary can run")

	var out bytes.Buffer
	h.Stdout = &out
	resp, err := h.Run(context.Background(), runRequest(dir, map[string]any{"binary": "out/prog"}))
	require.NoError(t, err)
	assert.Empty(t, resp.Error)
	assert.Equal(t, "prebuilt", out.String())

	resp, err = h.Run(context.Background(), runRequest(dir, map[string]any{"binary": "missing"}))
	require.NoError(t, err)
	assert.Contains(t, resp.Error, "runtime option binary")
}

func TestBuildOutputIsStablePerProgram(t *testing.T) {
	h := &Host{BuildDir: t.TempDir()}
	dir := writeProgram(t, "")
	a, err := h.Build(context.Background(), dir, "")
	require.NoError(t, err)
	b, err := h.Build(context.Background(), dir, "")
	require.NoError(t, err)
	assert.Equal(t, a, b, "the same path, so go build finds the binary up to date and skips the link")
}

func BenchmarkNoOpBuild(b *testing.B) {
	h := &Host{BuildDir: b.TempDir()}
	if _, err := h.Build(context.Background(), repoRoot(), ""); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := h.Build(context.Background(), repoRoot(), ""); err != nil {
			b.Fatal(err)
		}
	}
}
