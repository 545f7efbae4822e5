// Package images pre-loads the images a workshop runs into its kind nodes, so a room of laptops
// does not pull them over the venue's network.
package images

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// Preload copies images from the host's Docker into every node of a kind cluster (what
// `kind load docker-image` does, through kind's node helpers), pulling the missing ones first
// when pull is set. Once loaded, the workshop's pods start without reaching any registry
// (images are pinned and pulled IfNotPresent).
func Preload(ctx context.Context, clusterName string, images []string, pull bool, log io.Writer) error {
	opt, err := cluster.DetectNodeProvider()
	if err != nil {
		return fmt.Errorf("pre-loading images needs Docker: %w", err)
	}
	prov := cluster.NewProvider(opt)
	nodes, err := prov.ListInternalNodes(clusterName)
	if err != nil {
		return fmt.Errorf("listing the nodes of kind cluster %s: %w", clusterName, err)
	}
	if len(nodes) == 0 {
		return fmt.Errorf("kind cluster %s has no nodes: create it first (scripts/pulumi up)", clusterName)
	}
	var missing []string
	for _, image := range images {
		if exec.CommandContext(ctx, "docker", "image", "inspect", image).Run() == nil {
			continue
		}
		if !pull {
			missing = append(missing, image)
			continue
		}
		fmt.Fprintf(log, "pulling %s\n", image)
		if out, err := exec.CommandContext(ctx, "docker", "pull", image).CombinedOutput(); err != nil {
			return fmt.Errorf("docker pull %s: %w: %s", image, err, strings.TrimSpace(string(out)))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("not in the host's Docker: %s (run again with --pull while online)", strings.Join(missing, ", "))
	}
	dir, err := os.MkdirTemp("", "workshop-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	archive := filepath.Join(dir, "images.tar")
	if out, err := exec.CommandContext(ctx, "docker", append([]string{"save", "-o", archive}, images...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("docker save: %w: %s", err, strings.TrimSpace(string(out)))
	}
	for _, n := range nodes {
		fmt.Fprintf(log, "loading %d images into %s\n", len(images), n.String())
		f, err := os.Open(archive)
		if err != nil {
			return err
		}
		err = nodeutils.LoadImageArchive(n, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("loading images into node %s: %w", n.String(), err)
		}
	}
	return nil
}
