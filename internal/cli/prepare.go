package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/internal/charts"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/images"
	"github.com/istio-workshop/istio-workshop/internal/provider"
)

// What prepare uses to fetch and load; tests replace them.
var (
	moduleDir      = charts.ModuleDir
	downloadCharts = charts.Download
	preload        = provider.Preload
)

// stackConfig reads a stack file's settings, validated.
func stackConfig(stack string) (config.Config, error) {
	raw, err := os.ReadFile(filepath.Join(StacksDir, "Pulumi."+stack+".yaml"))
	if err != nil {
		return config.Config{}, fmt.Errorf("stack %s: %w", stack, err)
	}
	var file struct {
		Config map[string]any `json:"config"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return config.Config{}, fmt.Errorf("stack %s: %w", stack, err)
	}
	values := map[string]string{}
	for k, v := range file.Config {
		if s, ok := v.(string); ok {
			values[k] = s
		} else if b, err := json.Marshal(v); err == nil {
			values[k] = string(b) // a YAML list or object reaches the program as JSON
		}
	}
	return config.Load(stack, values)
}

// prepareReport is prepare's --json output.
type prepareReport struct {
	Stack  string            `json:"stack"`
	Images []string          `json:"images"`
	Loaded bool              `json:"loaded"`
	Charts map[string]string `json:"charts"` // module -> its directory in the module cache
}

// prepare readies a machine for a workshop without internet: the chart modules in the Go module
// cache (for workshop:chartSource module), and with --load the images every stage up to the
// stack's runs, loaded into its kind nodes (pulled first with --pull).
func prepare(ctx context.Context, out IO, stack string, load, pull, asJSON bool) error {
	cfg, err := stackConfig(stack)
	if err != nil {
		return err
	}
	rep := prepareReport{Stack: stack, Images: images.For(cfg), Charts: map[string]string{}}
	for _, m := range charts.Modules() {
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
		fmt.Fprintf(w, "  %s\n", i)
	}
	fmt.Fprintln(w, "Charts (Go module cache, for workshop:chartSource module):")
	for _, m := range charts.Modules() {
		fmt.Fprintf(w, "  %s  cached in %s\n", m, rep.Charts[m])
	}
	if cfg.ChartSource != config.Module {
		fmt.Fprintf(w, "Stack %s takes its charts from the Helm repositories (chartSource repo): set workshop:chartSource module to run without internet.\n", stack)
	}
	return nil
}
