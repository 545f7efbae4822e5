// Package workshop is the Pulumi program: read the configuration, make the cluster, then put
// each stage up to the configured one in force, in order.
package workshop

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/components"
	"github.com/istio-workshop/istio-workshop/infra"
	"github.com/istio-workshop/istio-workshop/internal/charts"
	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/outputs"
)

// Program is the workshop's Pulumi program.
func Program(ctx *pulumi.Context) error {
	values, err := settings()
	if err != nil {
		return err
	}
	cfg, err := config.Load(ctx.Stack(), values)
	if err != nil {
		return err // before any resource is registered: a bad config changes nothing
	}
	cluster, err := infra.NewCluster(ctx, cfg)
	if err != nil {
		return err
	}
	clean, err := components.NewCleanCluster(ctx, "clean-cluster", cluster, pulumi.DependsOn([]pulumi.Resource{cluster}))
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
	ctx.Export(outputs.DefaultState, clean.DefaultState)
	if !cfg.Stage.Includes(1) {
		return nil
	}
	source, note, err := charts.Resolve(cfg.ChartSource, charts.Endpoints(cfg.Versions.GatewayAPI))
	if err != nil {
		return err // before any stage: offline with no chart copies changes nothing
	}
	if note != "" {
		_ = ctx.Log.Info(note, nil)
	}
	cfg.ChartSource = source

	// Stage 1: Istio, Bookinfo in the mesh, HTTP ingress. The check above must see the cluster
	// before Istio changes it.
	mesh, err := components.NewMesh(ctx, "mesh", cfg, cluster, pulumi.DependsOn([]pulumi.Resource{clean}))
	if err != nil {
		return err
	}
	var tls *components.IngressTLS
	if cfg.Stage.Includes(2) {
		// Stage 2: cert-manager, the workshop CA and the ingress certificate.
		certManager, err := components.NewCertManager(ctx, "cert-manager", cfg, cluster, pulumi.DependsOn([]pulumi.Resource{clean}))
		if err != nil {
			return err
		}
		tls, err = components.NewIngressTLS(ctx, "ingress-tls", cfg, certManager, mesh, pulumi.Provider(cluster.Provider))
		if err != nil {
			return err
		}
		ctx.Export(outputs.RootCA, tls.RootCA)
		if cfg.Ingress.MutualTLS {
			ctx.Export(outputs.ClientCert, tls.ClientCert)
			ctx.Export(outputs.ClientKey, tls.ClientKey)
		}
	}
	bookinfo, err := components.NewBookinfo(ctx, "bookinfo", cfg, mesh, tls, pulumi.Provider(cluster.Provider))
	if err != nil {
		return err
	}
	ctx.Export(outputs.ProductPageURL, bookinfo.ProductPageURL)
	ctx.Export(outputs.Probes, pulumi.ToOutput(components.ProbesFor(cfg)))

	if cfg.Stage.Includes(3) {
		// Stage 3: mesh-wide STRICT mTLS, and a client outside the mesh to prove it.
		if _, err := components.NewStrictMTLS(ctx, "strict-mtls", cfg, mesh, pulumi.Provider(cluster.Provider)); err != nil {
			return err
		}
	}
	if cfg.Stage.Includes(4) {
		// Stage 4: the stack's own token issuer; every ingress request needs a valid JWT.
		auth, err := components.NewEndUserAuth(ctx, "end-user-auth", cfg, mesh, pulumi.Provider(cluster.Provider))
		if err != nil {
			return err
		}
		ctx.Export(outputs.JWKS, auth.JWKS)
		ctx.Export(outputs.Tokens, auth.Tokens)
	}
	if !cfg.Stage.Includes(5) {
		return nil
	}
	// Stage 5: deny by default, allow by identity and claim, route beta testers to v3.
	authz, err := components.NewAuthorization(ctx, "authorization", cfg, mesh, bookinfo, pulumi.Provider(cluster.Provider))
	if err != nil {
		return err
	}
	if !cfg.Stage.Includes(6) {
		return nil
	}
	// Stage 6: out of the mesh only to registered hosts, only through the egress gateway.
	egress, err := components.NewEgress(ctx, "egress", cfg, mesh, authz, pulumi.Provider(cluster.Provider))
	if err != nil {
		return err
	}
	if cfg.Stage.Includes(7) {
		// Stage 7: below Istio, pods accept and open only the connections the mesh needs.
		if _, err := components.NewNetworkPolicies(ctx, "network-policies", cfg, []pulumi.Resource{bookinfo, authz, egress},
			pulumi.Provider(cluster.Provider)); err != nil {
			return err
		}
	}
	return nil
}

// LoadConfig reads and validates the settings the engine passes to the program.
func LoadConfig(stack string) (config.Config, error) {
	values, err := settings()
	if err != nil {
		return config.Config{}, err
	}
	return config.Load(stack, values)
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
