// Package workshop is the Pulumi program: read the configuration, make the cluster, then put
// each stage up to the configured one in force, in order.
package workshop

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/infra"
	"github.com/istio-workshop/istio-workshop/internal/charts"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/outputs"
	"github.com/istio-workshop/istio-workshop/stages"
)

// Program is the workshop's Pulumi program.
func Program(ctx *pulumi.Context) error {
	values, err := settings()
	if err != nil {
		return err
	}
	cfg, err := stages.Load(ctx.Stack(), values)
	if err != nil {
		return err // before any resource is registered: a bad config changes nothing
	}
	if len(stages.Charts(cfg)) > 0 {
		source, note, err := charts.Resolve(cfg.ChartSource, cfg.Versions, charts.Endpoints(), cfg.Stage)
		if err != nil {
			return err // before any resource: offline with no chart copies changes nothing
		}
		if note != "" {
			_ = ctx.Log.Info(note, nil)
		}
		cfg.ChartSource = source
	}
	cluster, err := infra.NewCluster(ctx, cfg)
	if err != nil {
		return err
	}
	ctx.Export(outputs.Stage, pulumi.Int(int(cfg.Stage)))
	// What the stack was made with, whichever file gave it: verify recomputes the stages'
	// probes from it and holds the exported ones to them.
	ctx.Export(outputs.Settings, pulumi.ToStringMap(withoutSecrets(values)))
	ctx.Export(outputs.MeshMode, pulumi.String(string(cfg.MeshMode)))
	ctx.Export(outputs.ClusterProvider, pulumi.String(string(cfg.Cluster.Provider)))
	ctx.Export(outputs.ClusterName, cluster.Name)
	ctx.Export(outputs.ContextName, cluster.ContextName)
	ctx.Export(outputs.Kubeconfig, cluster.Kubeconfig)
	if _, err := stages.Apply(ctx, cfg, cluster); err != nil {
		return err
	}
	if probes := stages.Probes(cfg); len(probes) > 0 {
		ctx.Export(outputs.Probes, pulumi.ToOutput(probes))
	}
	return nil
}

// LoadConfig reads and validates the settings the engine passes to the program.
func LoadConfig(stack string) (config.Config, error) {
	values, err := settings()
	if err != nil {
		return config.Config{}, err
	}
	return stages.Load(stack, values)
}

// settings are every setting the engine passed to the program (PULUMI_CONFIG holds all of them,
// which lets config.Load reject unknown keys).
func settings() (map[string]string, error) {
	values := map[string]string{}
	if raw := os.Getenv(pulumi.EnvConfig); raw != "" {
		if err := json.Unmarshal([]byte(raw), &values); err != nil {
			return nil, fmt.Errorf("reading the stack configuration: %w", err)
		}
	}
	return values, nil
}

// withoutSecrets leaves out the settings the stack holds as secrets (none of the workshop's
// own are, but a secret never goes into a plain output).
func withoutSecrets(values map[string]string) map[string]string {
	out := maps.Clone(values)
	var secret []string
	_ = json.Unmarshal([]byte(os.Getenv(pulumi.EnvConfigSecretKeys)), &secret)
	for _, k := range secret {
		delete(out, k)
	}
	return out
}
