package langhost

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// pluginManifest is the pulumi-plugin.json a provider SDK ships next to its Go package.
type pluginManifest struct {
	Resource bool   `json:"resource"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Server   string `json:"server"`
}

// RequiredPlugins finds the pulumi-plugin.json of every package the program in dir imports
// (walking up from each package to its module root) and returns the resource plugins they name.
func RequiredPlugins(ctx context.Context, dir string) ([]*pulumirpc.PackageDependency, error) {
	if dir == "" || !inModule(dir) {
		// A prebuilt program with no source beside it: the engine loads each plugin when the
		// program first uses it.
		return nil, nil
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-f", "{{.Dir}}|{{with .Module}}{{.Dir}}{{end}}", ".")
	cmd.Dir = dir
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps in %s: %w\n%s", dir, err, strings.TrimSpace(stderr.String()))
	}
	found := map[string]*pulumirpc.PackageDependency{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		pkgDir, modDir, ok := strings.Cut(sc.Text(), "|")
		if !ok || modDir == "" {
			continue // standard library
		}
		for d := pkgDir; strings.HasPrefix(d, modDir) && !seen[d]; d = filepath.Dir(d) {
			seen[d] = true
			m, err := readManifest(filepath.Join(d, "pulumi-plugin.json"))
			if err != nil {
				return nil, err
			}
			if m != nil && m.Resource && m.Name != "" {
				found[m.Name] = &pulumirpc.PackageDependency{Kind: "resource", Name: m.Name, Version: m.Version, Server: m.Server}
			}
		}
	}
	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	sort.Strings(names)
	deps := make([]*pulumirpc.PackageDependency, 0, len(names))
	for _, n := range names {
		deps = append(deps, found[n])
	}
	return deps, nil
}

func readManifest(path string) (*pluginManifest, error) {
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m pluginManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// inModule reports whether dir or one of its parents has a go.mod.
func inModule(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return true
		}
		if filepath.Dir(d) == d {
			return false
		}
	}
}
