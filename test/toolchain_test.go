package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/test/harness"
)

// The README's first command on a fresh machine without internet fails in the toolchain's first
// build: it ends in one message that says why and what to do.
func TestAFirstRunOfflineSaysWhatToDo(t *testing.T) {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "PATH" && k != "GOFLAGS" && k != "GOPROXY" && !strings.HasPrefix(k, "WORKSHOP_") && !strings.HasPrefix(k, "PULUMI_") {
			env = append(env, kv)
		}
	}
	goBin, err := exec.LookPath("go")
	require.NoError(t, err)
	fresh := t.TempDir()
	env = append(env, "PATH="+filepath.Dir(goBin)+":/usr/bin:/bin", "WORKSHOP_CACHE="+filepath.Join(fresh, "cache"),
		"GOMODCACHE="+filepath.Join(fresh, "gomod"), "GOPROXY=off", "GOFLAGS=-mod=mod", "XDG_CONFIG_HOME="+filepath.Join(fresh, "config"))
	cmd := exec.Command(filepath.Join(harness.Root(), "scripts", "toolchain"), "install", "core")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.Error(t, err, string(out))
	last := strings.TrimSpace(string(out))
	last = last[strings.LastIndex(last, "\n")+1:]
	assert.Contains(t, last, "toolchain: error: building pulumi failed")
	assert.Contains(t, last, "A first run builds from the Go module proxy (off): without internet it cannot; run it once while online")
}
