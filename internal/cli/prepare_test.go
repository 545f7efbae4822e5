package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func stackFiles(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, StacksDir), 0o700))
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, StacksDir, "Pulumi."+name+".yaml"), []byte(body), 0o600))
	}
	t.Chdir(dir)
}

func TestPrepareCachesChartsAndLoadsImages(t *testing.T) {
	stackFiles(t, map[string]string{
		"step3": "config:\n  workshop:stage: \"3\"\n",
		"local": "config:\n  workshop:stage: \"1\"\n  workshop:clusterProvider: local\n",
	})
	defer func(m func(string) (string, error), d func(...string) error, p func(context.Context, string, []string, bool, io.Writer) error) {
		moduleDir, downloadCharts, preload = m, d, p
	}(moduleDir, downloadCharts, preload)
	cached := map[string]bool{}
	var downloaded []string
	moduleDir = func(m string) (string, error) {
		if cached[m] {
			return "/cache/" + m, nil
		}
		return "", errors.New("not downloaded")
	}
	downloadCharts = func(ms ...string) error {
		for _, m := range ms {
			downloaded, cached[m] = append(downloaded, m), true
		}
		return nil
	}
	var loaded []string
	defer func(d func(context.Context, []string) (map[string]bool, error)) { dockerImages = d }(dockerImages)
	dockerImages = func(_ context.Context, images []string) (map[string]bool, error) {
		if len(loaded) == 0 {
			return nil, errors.New("no docker CLI on PATH")
		}
		have := map[string]bool{}
		for _, i := range images {
			have[i] = i != "quay.io/jetstack/cert-manager-controller:v1.21.2"
		}
		return have, nil
	}
	preload = func(_ context.Context, cluster string, images []string, pull bool, _ io.Writer) error {
		assert.True(t, pull)
		loaded = append([]string{cluster}, images...)
		return nil
	}

	code, stdout, stderr := runCLI([]string{"prepare", "3"}, nil)
	require.Equal(t, OK, code, stderr)
	assert.NotEmpty(t, downloaded, "missing chart modules are fetched")
	assert.Contains(t, stdout, "docker.io/istio/pilot:1.31.1-distroless")
	assert.Contains(t, stdout, "quay.io/jetstack/cert-manager-controller:v1.21.2", "stage 2's cert-manager")
	assert.Contains(t, stdout, "from the Helm repositories when they answer, else from these copies (chartSource auto)", "the default")
	assert.Empty(t, loaded, "nothing loaded without --load")
	assert.Contains(t, stdout, "(which of them Docker holds is unknown: no docker CLI on PATH)")

	downloaded = nil
	code, stdout, _ = runCLI([]string{"prepare", "3", "--load", "--pull"}, nil)
	require.Equal(t, OK, code)
	assert.Contains(t, stdout, "docker.io/istio/pilot:1.31.1-distroless  in Docker's cache")
	assert.Contains(t, stdout, "quay.io/jetstack/cert-manager-controller:v1.21.2  NOT in Docker's cache (`workshop prepare N --load --pull` pulls it)")
	assert.Empty(t, downloaded, "cached modules are not fetched again")
	require.NotEmpty(t, loaded)
	assert.Equal(t, "istio-workshop-step3", loaded[0], "the stack's kind cluster")

	code, _, stderr = runCLI([]string{"prepare", "1", "--stack", "local", "--load"}, nil)
	assert.Equal(t, Usage, code)
	assert.Contains(t, stderr, "uses clusterProvider local")
	code, _, stderr = runCLI([]string{"prepare", "3", "--pull"}, nil)
	assert.Equal(t, Usage, code)
	assert.Contains(t, stderr, "--pull goes with --load")
}
