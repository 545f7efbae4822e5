// Package paths names the directories the workshop keeps outside the repository. They match
// scripts/toolchain: $WORKSHOP_CACHE, else $XDG_CACHE_HOME/istio-workshop, else
// ~/.cache/istio-workshop (the same on every OS, so the script and the Go code agree).
package paths

import (
	"os"
	"path/filepath"
)

// Cache is the root of built tools, compiled programs and local control planes.
func Cache() string {
	if d := os.Getenv("WORKSHOP_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "istio-workshop")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "istio-workshop")
	}
	return filepath.Join(home, ".cache", "istio-workshop")
}

// PulumiHome is the workshop's own PULUMI_HOME (plugins, workspace settings), as
// `scripts/toolchain env` exports it; see pulumi_home there for why it is not ~/.pulumi.
func PulumiHome() string {
	if d := os.Getenv("PULUMI_HOME"); d != "" {
		return d
	}
	return filepath.Join(Cache(), "pulumi")
}

// ToolsBin holds the pinned tool binaries (pulumi, kube-apiserver, etcd, kwok, helm, ...).
func ToolsBin() string {
	if d := os.Getenv("WORKSHOP_TOOLS_BIN"); d != "" {
		return d
	}
	return filepath.Join(Cache(), "bin")
}

// ControlPlanes holds the state of local control planes, one directory per cluster name.
func ControlPlanes() string { return filepath.Join(Cache(), "controlplanes") }
