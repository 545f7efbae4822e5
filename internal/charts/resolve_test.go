package charts

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/modules"
)

// withModuleCache points the module cache at a directory holding the given modules' copies.
func withModuleCache(t *testing.T, mods ...string) {
	dir := t.TempDir()
	for _, m := range mods {
		path, version, _ := strings.Cut(m, "@")
		require.NoError(t, os.MkdirAll(filepath.Join(dir, modules.Escape(path)+"@"+version), 0o700))
	}
	old := modules.Cache
	modules.Cache = func() (string, error) { return dir, nil }
	t.Cleanup(func() { modules.Cache = old })
}

func answering(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, http.MethodHead, r.Method, "only asks whether it answers")
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/index.yaml"
}

func closed(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l.Close()
	return "http://" + l.Addr().String() + "/index.yaml"
}

func TestAutoTakesTheRepositoriesWhenTheyAnswer(t *testing.T) {
	withModuleCache(t, Modules(Pinned)...)
	got, note, err := Resolve(config.Auto, Pinned, []string{answering(t), answering(t)}, 6)
	require.NoError(t, err)
	assert.Equal(t, config.Repo, got)
	assert.Contains(t, note, "charts from the official repositories")
}

func TestAutoTakesTheModuleCopiesWhenARepositoryDoesNotAnswer(t *testing.T) {
	withModuleCache(t, Modules(Pinned)...)
	down := closed(t)
	got, note, err := Resolve(config.Auto, Pinned, []string{answering(t), down}, 6)
	require.NoError(t, err)
	assert.Equal(t, config.Module, got)
	assert.Contains(t, note, "charts from the pinned Go modules, as the official repositories do not answer ("+hostOf(down)+": connection refused)")
}

func TestAutoOfflineWithoutCopiesIsOneErrorNamingPrepare(t *testing.T) {
	withModuleCache(t, Modules(Pinned)[1:]...)
	down := closed(t)
	_, _, err := Resolve(config.Auto, Pinned, []string{down}, 6)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the official chart repositories do not answer ("+hostOf(down)+": connection refused)")
	assert.Contains(t, err.Error(), "the charts' offline copies are not on this machine ("+Modules(Pinned)[0]+")")
	assert.Contains(t, err.Error(), "run `scripts/workshop prepare 6` once while online")
}

func TestAnExplicitSourceIsNotChecked(t *testing.T) {
	withModuleCache(t)
	for _, s := range []config.ChartSource{config.Repo, config.Module} {
		got, note, err := Resolve(s, Pinned, []string{closed(t)}, 6)
		require.NoError(t, err)
		assert.Equal(t, s, got)
		assert.Empty(t, note)
	}
}
