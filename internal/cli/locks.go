package cli

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
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
		if running(lock.Pid) {
			return false
		}
	}
	return len(files) > 0
}

// running reports whether pid is a live process. A killed process stays a zombie until its
// parent reaps it, and when its parent was killed with it (a whole process group, as a closed
// terminal kills it), that is up to init, which may take its time: a zombie holds no lock.
func running(pid int) bool {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses, so read after the last ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 || i+2 >= len(raw) {
		return true
	}
	state := raw[i+2]
	return state != 'Z' && state != 'X'
}
