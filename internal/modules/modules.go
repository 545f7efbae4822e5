// Package modules finds pinned Go modules in the module cache, downloading them through the Go
// module proxy when they are missing: the charts' and CRDs' offline copies live there.
package modules

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Cache is the Go module cache's directory (tests point it elsewhere).
var Cache = sync.OnceValues(func() (string, error) {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d, nil
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("the pinned modules' copies need Go to locate its module cache: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
})

// Dir is where the module cache keeps module ("path@version"), downloaded first if it is missing;
// an error names the command that downloads it while online.
func Dir(module string) (string, error) {
	dir, err := Cached(module)
	if errors.Is(err, os.ErrNotExist) {
		if err := Download(module); err != nil {
			return "", fmt.Errorf("%s is not in the Go module cache and downloading it failed (%v): run `scripts/toolchain charts` while online", module, err)
		}
		return dir, nil
	}
	return dir, err
}

// Cached is where the module cache keeps module; os.ErrNotExist if it is not there.
func Cached(module string) (string, error) {
	cache, err := Cache()
	if err != nil {
		return "", err
	}
	path, version, ok := strings.Cut(module, "@")
	if !ok {
		return "", fmt.Errorf("module %q has no version", module)
	}
	dir := filepath.Join(cache, Escape(path)+"@"+version)
	if _, err := os.Stat(dir); err != nil {
		return dir, err
	}
	return dir, nil
}

// Download fetches modules into the module cache through the Go module proxy.
func Download(modules ...string) error {
	cmd := exec.Command("go", append([]string{"mod", "download"}, modules...)...)
	cmd.Dir = os.TempDir() // outside any module: nothing's go.mod is touched
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go mod download: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Escape applies the module cache's case encoding (an upper-case letter becomes '!' + lower).
func Escape(path string) string {
	var b strings.Builder
	for _, r := range path {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
