package layers

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/istio-workshop/istio-workshop/"

type pkg struct {
	ImportPath string
	Imports    []string // direct, non-test
	Deps       []string // every package it needs, transitively
}

func packages(t *testing.T) map[string]pkg {
	t.Helper()
	// go test caches a result by the files the test itself opens, not by what `go list` reads:
	// stat every Go file, so a changed import runs the test again.
	require.NoError(t, filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
			_, err = os.Stat(path)
		}
		return err
	}))
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"...").Output()
	require.NoError(t, err)
	all := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		require.NoError(t, dec.Decode(&p))
		all[strings.TrimPrefix(p.ImportPath, module)] = p
	}
	return all
}

func TestTheLayersHold(t *testing.T) {
	all := packages(t)
	base := []string{"internal/names", "internal/probe", "internal/outputs", "internal/config", "internal/versions", "internal/paths", "internal/pki", "internal/rollouts"}
	for _, name := range base {
		p, ok := all[name]
		require.True(t, ok, "base package %s is gone: update the layers", name)
		for _, dep := range p.Deps {
			if strings.HasPrefix(dep, "github.com/pulumi/") {
				t.Errorf("base package %s needs %s: the base has no Pulumi dependency", name, dep)
				break
			}
		}
	}
	presenter := []string{"internal/cli", "internal/verify", "internal/images", "internal/leftovers", "internal/procs"}
	program := []string{"components", "infra", "internal/workshop", "internal/provider"}
	for _, name := range presenter {
		for _, imp := range all[name].Imports {
			for _, prog := range program {
				assert.NotEqual(t, module+prog, imp, "presenter package %s imports %s: it reads the stage registry, never the program's parts", name, prog)
			}
		}
	}
	// Nothing below the registry reaches up to it, nor to the presenter.
	for _, name := range []string{"components", "infra", "internal/charts", "internal/k8sobj", "internal/provider", "policies/rules", "policies/objects"} {
		for _, dep := range all[name].Deps {
			for _, up := range []string{"stages", "internal/workshop", "internal/cli"} {
				assert.NotEqual(t, module+up, dep, "%s depends on %s", name, up)
			}
		}
	}
}

// The toolchain rebuilds a tool when a file its key covers changes: every in-repo package the
// tool is built from must be covered, or a change to it would leave the old binary in use.
func TestTheToolchainsKeysCoverWhatItsToolsAreBuiltFrom(t *testing.T) {
	raw, err := os.ReadFile("../../scripts/toolchain")
	require.NoError(t, err)
	sources := map[string][]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*\[(\w+)\]="([^"]*)"`).FindAllStringSubmatch(string(raw), -1) {
		sources[m[1]] = strings.Fields(m[2])
	}
	all := packages(t)
	for tool, mains := range map[string][]string{
		"workshop_provider": {"cmd/pulumi-resource-workshop"},
		"langhost":          {"cmd/pulumi-language-go"},
		"workshop_local":    {"cmd/workshop-lb", "cmd/workshop-local", "cmd/workshop-cert-manager"},
	} {
		require.Contains(t, sources, tool)
		for _, main := range mains {
			for _, dep := range append(all[main].Deps, module+main) {
				dir, ours := strings.CutPrefix(dep, module)
				if !ours {
					continue
				}
				covered := slices.ContainsFunc(sources[tool], func(src string) bool { return dir == src || strings.HasPrefix(dir, src+"/") })
				assert.True(t, covered, "%s is built from %s, which its key in scripts/toolchain does not cover", tool, dir)
			}
		}
	}
}
