// Package langhost is a small Pulumi language host for Go programs. The official
// pulumi-language-go module is not served by the Go module proxy this project is built from, so the
// project carries its own: it builds (or takes a prebuilt) Go program, runs it with the
// environment contract that pulumi.Run reads, reports the resource plugins the program needs, and
// runs Go policy packs.
package langhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Version is what GetPluginInfo reports; it matches the pinned CLI so the engine's
// "expected version" checks stay quiet.
const Version = "3.259.0"

// exitLoggedError is pulumi.Run's exit status when it already reported the error to the engine.
const exitLoggedError = 32

// Host implements pulumirpc.LanguageRuntimeServer.
type Host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	engineAddress string
	// Stdout and Stderr receive the program's output; the engine shows it as diagnostics.
	Stdout, Stderr io.Writer
	// BuildDir holds compiled programs, one stable path per program directory, so that an
	// unchanged program is not relinked on every preview.
	BuildDir string
}

// New returns a host that talks to the engine at engineAddress.
func New(engineAddress, buildDir string) *Host {
	return &Host{engineAddress: engineAddress, Stdout: os.Stdout, Stderr: os.Stderr, BuildDir: buildDir}
}

// GetPluginInfo reports the host's version; an error here is fatal to the engine.
func (h *Host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: Version}, nil
}

// GetRequiredPackages lists the resource plugins whose SDKs the program imports.
func (h *Host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	pkgs, err := RequiredPlugins(ctx, req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

// GetRequiredPlugins is the deprecated form of GetRequiredPackages, kept for older engines.
func (h *Host) GetRequiredPlugins(ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	pkgs, err := RequiredPlugins(ctx, req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	plugins := make([]*pulumirpc.PluginDependency, 0, len(pkgs))
	for _, p := range pkgs {
		plugins = append(plugins, &pulumirpc.PluginDependency{Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// Run builds (unless runtime option `binary` names a prebuilt one) and runs the program.
func (h *Host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	opts := RuntimeOptions(req.GetInfo().GetOptions().AsMap())
	env, err := h.programEnv(req)
	if err != nil {
		return nil, err
	}
	program := opts.Binary
	if program != "" {
		if !filepath.IsAbs(program) {
			program = filepath.Join(req.GetInfo().GetRootDirectory(), program)
		}
		if _, err := os.Stat(program); err != nil {
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("runtime option binary: %v (build it first, or remove the option to let the host build the program)", err)}, nil
		}
	} else {
		program, err = h.Build(ctx, req.GetInfo().GetProgramDirectory(), opts.BuildTarget)
		if err != nil {
			return &pulumirpc.RunResponse{Error: err.Error()}, nil
		}
	}
	cmd := exec.CommandContext(ctx, program, req.GetArgs()...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = h.Stdout, h.Stderr
	switch code := exitCode(cmd.Run()); {
	case code == 0:
		return &pulumirpc.RunResponse{}, nil
	case code == exitLoggedError:
		return &pulumirpc.RunResponse{Bail: true}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("program %s exited with status %d", filepath.Base(program), code)}, nil
	}
}

// programEnv is the environment contract that sdk/v3/go/pulumi.Run reads.
func (h *Host) programEnv(req *pulumirpc.RunRequest) ([]string, error) {
	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	keys, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := os.Environ()
	set := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	set(pulumi.EnvOrganization, req.GetOrganization())
	set(pulumi.EnvProject, req.GetProject())
	set(pulumi.EnvPulumiRootDirectory, req.GetInfo().GetRootDirectory())
	set(pulumi.EnvStack, req.GetStack())
	set(pulumi.EnvConfig, string(config))
	set(pulumi.EnvConfigSecretKeys, string(keys))
	set(pulumi.EnvDryRun, strconv.FormatBool(req.GetDryRun()))
	set(pulumi.EnvParallel, strconv.Itoa(int(req.GetParallel())))
	set(pulumi.EnvMonitor, req.GetMonitorAddress())
	set(pulumi.EnvEngine, h.engineAddress)
	return env, nil
}

// About reports the Go toolchain in the update's metadata.
func (h *Host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, gobin, "env", "GOVERSION").Output()
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: gobin, Version: strings.TrimSpace(string(out))}, nil
}

// Cancel is a no-op: the engine kills the process group after its grace period.
func (h *Host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// InstallDependencies downloads the program's modules (used for policy packs). It never edits
// go.mod: the modules are pinned in the repository.
func (h *Host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	cmd := exec.CommandContext(server.Context(), "go", "mod", "download")
	cmd.Dir = req.GetInfo().GetProgramDirectory()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go mod download in %s: %w", cmd.Dir, err)
	}
	return closer.Close()
}

// RunPlugin builds and runs a Go plugin from source, which is how the engine runs a Go policy
// pack passed as `--policy-pack DIR`.
func (h *Host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	program, err := h.Build(server.Context(), req.GetInfo().GetProgramDirectory(), "")
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()
	cmd := exec.CommandContext(server.Context(), program, req.GetArgs()...)
	cmd.Dir = req.GetPwd()
	cmd.Env = req.GetEnv()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return fmt.Errorf("running plugin %s: %w", program, err)
		}
		if err := server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exit.ExitCode())}}); err != nil {
			return err
		}
	}
	return closer.Close()
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exit.ExitCode()
	}
	return -1
}
