package cli

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"

	"github.com/istio-workshop/istio-workshop/internal/procs"
)

// staleLocked reports whether the stack is locked only by runs that died on this machine: the
// file backend's lock files (BACKEND/.pulumi/locks/ORG/PROJECT/STACK/*.json) name their pid and
// host. A run killed with SIGKILL leaves its lock behind, and every later run of the stack then
// fails with "the stack is currently locked"; a lock of a live run, or of another machine, is
// never stale. Backends other than file:// answer false.
func staleLocked(backendURL, stack string) bool {
	u, err := url.Parse(backendURL)
	if err != nil || u.Scheme != "file" {
		return false
	}
	files, _ := filepath.Glob(filepath.Join(u.Path, ".pulumi", "locks", "*", "*", stack, "*.json"))
	host, _ := os.Hostname()
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return false
		}
		var lock struct {
			Pid      int    `json:"pid"`
			Hostname string `json:"hostname"`
		}
		if json.Unmarshal(raw, &lock) != nil || lock.Hostname != host || lock.Pid <= 0 {
			return false
		}
		if procs.Running(lock.Pid) { // a zombie holds no lock
			return false
		}
	}
	return len(files) > 0
}
