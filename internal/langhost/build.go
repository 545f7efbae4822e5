package langhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Options are the `runtime.options` of Pulumi.yaml that this host honours (the same names as the
// official host).
type Options struct {
	// Binary is a prebuilt program, relative to the project root; the host does not build it.
	Binary string
	// BuildTarget is where to write the compiled program instead of the host's build dir.
	BuildTarget string
}

// RuntimeOptions reads Options from the decoded `runtime.options` map.
func RuntimeOptions(m map[string]any) Options {
	str := func(k string) string {
		s, _ := m[k].(string)
		return s
	}
	return Options{Binary: str("binary"), BuildTarget: str("buildTarget")}
}

// Build compiles the Go main package in dir and returns the binary's path. The output path is
// stable per directory so that `go build` finds the previous binary up to date and skips the
// link (a no-op build takes well under a second; a relink of a Pulumi program takes 10 s+).
func (h *Host) Build(ctx context.Context, dir, target string) (string, error) {
	if target == "" {
		sum := sha256.Sum256([]byte(dir))
		target = filepath.Join(h.buildDir(), hex.EncodeToString(sum[:8]), filepath.Base(dir))
	} else if !filepath.IsAbs(target) {
		target = filepath.Join(dir, target)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return "", err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "build", "-o", target, ".")
	cmd.Dir = dir
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build in %s failed: %w\n%s", dir, err, strings.TrimSpace(stderr.String()))
	}
	return target, nil
}

func (h *Host) buildDir() string {
	if h.BuildDir != "" {
		return h.BuildDir
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "istio-workshop", "programs")
	}
	return filepath.Join(os.TempDir(), "istio-workshop-programs")
}
