// Package procs reads and ends processes through Linux's /proc: a workshop run marks its
// environment, so what the Pulumi engine starts for it (language host, providers: each in a
// process group of its own) can be found and ended when the run is interrupted, or by the next
// run when it was killed outright.
package procs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is one process as /proc/PID/stat tells it.
type Proc struct {
	PID, PPID int
	// State is the kernel's one-letter state (R, S, D, Z, X, ...).
	State byte
	// Start is the start time in clock ticks since boot: with the pid, a process's identity.
	Start uint64
}

// Read reads pid's /proc/PID/stat.
func Read(pid int) (Proc, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, err
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return Proc{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 20 {
		return Proc{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	p := Proc{PID: pid, State: f[0][0]}
	p.PPID, _ = strconv.Atoi(f[1])
	p.Start, _ = strconv.ParseUint(f[19], 10, 64)
	return p, nil
}

// Alive: the process exists and is not a zombie. A killed process stays a zombie until its
// parent reaps it, which may take a while when the parent was killed with it.
func (p Proc) Alive() bool { return p.State != 'Z' && p.State != 'X' }

// Running reports whether pid is a live process.
func Running(pid int) bool {
	p, err := Read(pid)
	return err == nil && p.Alive()
}

// All lists every process's pid.
func All() []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// Children lists the live processes whose parent is pid.
func Children(pid int) []int {
	var out []int
	for _, n := range All() {
		if p, err := Read(n); err == nil && p.PPID == pid && p.Alive() {
			out = append(out, n)
		}
	}
	return out
}

// Environ is pid's environment (nil if it cannot be read).
func Environ(pid int) []string {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
}

// Cmdline is pid's command line, its arguments joined by spaces.
func Cmdline(pid int) string {
	raw, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimSpace(strings.ReplaceAll(string(raw), "\x00", " "))
}

// Cwd is pid's working directory ("" if it cannot be read).
func Cwd(pid int) string {
	dir, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	return dir
}

// Describe is "pid N: command line" for reports.
func Describe(pid int) string { return fmt.Sprintf("pid %d: %s", pid, Cmdline(pid)) }

// End sends SIGTERM to pids, waits up to grace for them to exit, then kills what is left.
func End(pids []int, grace time.Duration) {
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && slices.ContainsFunc(pids, Running) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, pid := range pids {
		if Running(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// RunEnv marks the environment of a workshop run and of everything it starts: its value is the
// run's "pid:start".
const RunEnv = "WORKSHOP_RUN"

// MarkRun marks this process as a workshop run; what it starts from now on inherits the mark.
func MarkRun() error {
	self, err := Read(os.Getpid())
	if err != nil {
		return err
	}
	return os.Setenv(RunEnv, runID(self))
}

func runID(p Proc) string { return fmt.Sprintf("%d:%d", p.PID, p.Start) }

// runOf is the run whose mark pid carries ("" if none).
func runOf(pid int) string {
	for _, kv := range Environ(pid) {
		if v, ok := strings.CutPrefix(kv, RunEnv+"="); ok {
			return v
		}
	}
	return ""
}

// live reports whether the run id is a process still running.
func live(id string) bool {
	pid, start, ok := strings.Cut(id, ":")
	n, err := strconv.Atoi(pid)
	if !ok || err != nil {
		return false
	}
	p, err := Read(n)
	return err == nil && p.Alive() && strconv.FormatUint(p.Start, 10) == start
}

// OfThisRun lists the processes this run started that are still running (itself left out).
func OfThisRun() []int { return OfRun(os.Getpid()) }

// Orphans lists the processes left by workshop runs that are gone (killed outright).
func Orphans() []int {
	return matching(func(pid int) bool {
		id := runOf(pid)
		return id != "" && !live(id)
	})
}

// OfOtherLiveRuns lists the processes of workshop runs still running, other than this one
// (another terminal's command, and what it started).
func OfOtherLiveRuns() []int {
	self := os.Getenv(RunEnv)
	return matching(func(pid int) bool {
		id := runOf(pid)
		return id != "" && id != self && live(id)
	})
}

// Under lists the processes (this one left out) whose environment names dir, whose working
// directory is under it or whose command line names it.
func Under(dir string) []int {
	dir = filepath.Clean(dir)
	within := func(s string) bool { return strings.Contains(s, dir) }
	return matching(func(pid int) bool {
		if within(Cwd(pid)) || within(Cmdline(pid)) {
			return true
		}
		return slices.ContainsFunc(Environ(pid), func(kv string) bool { return strings.Contains(kv, dir) })
	})
}

func matching(keep func(int) bool) []int {
	self := os.Getpid()
	var out []int
	for _, pid := range All() {
		if pid == self {
			continue
		}
		if p, err := Read(pid); err != nil || !p.Alive() {
			continue
		}
		if keep(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// OfRun lists the live processes that carry the mark of the run whose process is pid (itself
// left out).
func OfRun(pid int) []int {
	p, err := Read(pid)
	if err != nil {
		return nil
	}
	id := runID(p)
	return matching(func(other int) bool { return other != pid && runOf(other) == id })
}
