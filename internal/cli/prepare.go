package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/istio-workshop/istio-workshop/internal/charts"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/images"
	"github.com/istio-workshop/istio-workshop/stages"
)

// What prepare uses to fetch and load; tests replace them.
var (
	moduleDir      = charts.ModuleDir
	downloadCharts = charts.Download
	preload        = images.Preload
	dockerImages   = localImages
)

// localImages reports which of images Docker already holds (`docker image inspect`); an error
// when there is no Docker CLI or its daemon does not answer.
func localImages(ctx context.Context, images []string) (map[string]bool, error) {
	if _, err := exec.LookPath("docker"); err != nil {
		return nil, errors.New("no docker CLI on PATH")
	}
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("the Docker daemon does not answer: %s", strings.TrimSpace(string(out)))
	}
	have := map[string]bool{}
	for _, i := range images {
		have[i] = exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Id}}", i).Run() == nil
	}
	return have, nil
}

// stackConfig reads a stack file's settings, validated.
func stackConfig(stack string) (config.Config, error) {
	_, settings, err := readStackFile(stack)
	if err != nil && !errors.Is(err, os.ErrNotExist) { // no file: the defaults, and the name's stage
		return config.Config{}, fmt.Errorf("stack %s: %w", stack, err)
	}
	values := map[string]string{}
	for k, v := range settings {
		if s, ok := v.(string); ok {
			values[k] = s
		} else if b, err := json.Marshal(v); err == nil {
			values[k] = string(b) // a YAML list or object reaches the program as JSON
		}
	}
	return stages.Load(stack, values)
}

// prepareReport is prepare's --json output.
type prepareReport struct {
	Stack  string   `json:"stack"`
	Images []string `json:"images"`
	Loaded bool     `json:"loaded"`
	// InDocker says which images Docker's cache holds (after --pull/--load, all of them);
	// Docker says why it could not be asked, if so.
	InDocker map[string]bool   `json:"inDocker"`
	Docker   string            `json:"docker,omitempty"`
	Charts   map[string]string `json:"charts"` // module -> its directory in the module cache
}

// prepare readies a machine for a workshop without internet: the chart modules in the Go module
// cache (for workshop:chartSource module), and with --load the images every stage up to the
// stack's runs, loaded into its kind nodes (pulled first with --pull).
func prepare(ctx context.Context, out IO, stack string, load, pull, asJSON bool) error {
	cfg, err := stackConfig(stack)
	if err != nil {
		return err
	}
	rep := prepareReport{Stack: stack, Images: stages.Images(cfg), Charts: map[string]string{}}
	for _, m := range charts.Modules(cfg.Versions) {
		dir, err := moduleDir(m)
		if err != nil {
			if err := downloadCharts(m); err != nil {
				return fmt.Errorf("fetching the charts of %s: %w", m, err)
			}
			if dir, err = moduleDir(m); err != nil {
				return err
			}
		}
		rep.Charts[m] = dir
	}
	if load {
		if cfg.Cluster.Provider != config.Kind {
			return usageError{fmt.Sprintf("--load pre-loads kind nodes; stack %s uses clusterProvider %s", stack, cfg.Cluster.Provider)}
		}
		if err := preload(ctx, cfg.Cluster.Name, rep.Images, pull, out.Stderr); err != nil {
			return err
		}
		rep.Loaded = true
	}
	if have, err := dockerImages(ctx, rep.Images); err != nil {
		rep.Docker = err.Error()
	} else {
		rep.InDocker = have
	}
	if asJSON {
		enc := json.NewEncoder(out.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := out.Stdout
	fmt.Fprintf(w, "Stack %s: %d images", stack, len(rep.Images))
	if rep.Loaded {
		fmt.Fprintf(w, ", loaded into kind cluster %s", cfg.Cluster.Name)
	}
	fmt.Fprintln(w, ":")
	for _, i := range rep.Images {
		switch {
		case rep.InDocker == nil:
			fmt.Fprintf(w, "  %s\n", i)
		case rep.InDocker[i]:
			fmt.Fprintf(w, "  %s  in Docker's cache\n", i)
		default:
			fmt.Fprintf(w, "  %s  NOT in Docker's cache (`workshop prepare N --load --pull` pulls it)\n", i)
		}
	}
	if rep.Docker != "" {
		fmt.Fprintf(w, "  (which of them Docker holds is unknown: %s)\n", rep.Docker)
	}
	fmt.Fprintln(w, "Charts and CRDs (Go module cache; the CRDs always come from here, the charts with workshop:chartSource module):")
	for _, m := range charts.Modules(cfg.Versions) {
		fmt.Fprintf(w, "  %s  cached in %s\n", m, rep.Charts[m])
	}
	switch cfg.ChartSource {
	case config.Repo:
		fmt.Fprintf(w, "Stack %s takes its charts from the Helm repositories (chartSource repo): set workshop:chartSource module (or auto) to run without internet.\n", stack)
	case config.Auto:
		fmt.Fprintf(w, "Stack %s takes its charts from the Helm repositories when they answer, else from these copies (chartSource auto).\n", stack)
	}
	return nil
}
