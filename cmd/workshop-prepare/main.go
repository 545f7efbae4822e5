// Command workshop-prepare readies a machine for a workshop without internet: it lists every
// image a stack's stages run and pre-loads them into the stack's kind cluster from the host's
// Docker (pulling them first with --pull).
//
//	go run ./cmd/workshop-prepare --stack step3                 # list the images
//	go run ./cmd/workshop-prepare --stack step3 --load --pull   # pull, then load into kind
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"sigs.k8s.io/yaml"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/images"
	"github.com/istio-workshop/istio-workshop/internal/provider"
)

func main() {
	stack := flag.String("stack", fmt.Sprintf("step%d", config.AvailableUpTo()), "the stack whose stages decide the images (stacks/Pulumi.STACK.yaml)")
	dir := flag.String("stacks", "stacks", "the stack files' directory")
	load := flag.Bool("load", false, "load the images into the stack's kind cluster")
	pull := flag.Bool("pull", false, "with --load: docker pull the images the host does not have")
	flag.Parse()
	if err := run(*stack, *dir, *load, *pull); err != nil {
		fmt.Fprintln(os.Stderr, "workshop-prepare:", err)
		os.Exit(1)
	}
}

func run(stack, dir string, load, pull bool) error {
	raw, err := os.ReadFile(filepath.Join(dir, "Pulumi."+stack+".yaml"))
	if err != nil {
		return fmt.Errorf("stack %s: %w", stack, err)
	}
	var file struct {
		Config map[string]string `json:"config"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return fmt.Errorf("stack %s: %w", stack, err)
	}
	cfg, err := config.Load(stack, file.Config)
	if err != nil {
		return err
	}
	list := images.For(cfg)
	for _, i := range list {
		fmt.Println(i)
	}
	if !load {
		return nil
	}
	if cfg.Cluster.Provider != config.Kind {
		return fmt.Errorf("--load pre-loads kind nodes; stack %s uses clusterProvider %s", stack, cfg.Cluster.Provider)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return provider.Preload(ctx, cfg.Cluster.Name, list, pull, os.Stderr)
}
