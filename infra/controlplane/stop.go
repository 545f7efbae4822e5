package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Stop ends every process of the control plane, waits until its ports are closed and removes its
// directory. Stopping one that does not exist, or re-running an interrupted Stop, is fine.
func (c *ControlPlane) Stop(ctx context.Context) error {
	s, err := c.readState()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if s != nil {
		// Reverse start order: clients first, etcd last.
		procs := slices.Clone(processes)
		slices.Reverse(procs)
		for _, p := range procs {
			if pid, ok := s.PIDs[p]; ok && c.owns(pid) {
				_ = syscall.Kill(-pid, syscall.SIGTERM) // the process group: setsid made it a leader
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for _, p := range procs {
			pid, ok := s.PIDs[p]
			for ok && c.owns(pid) {
				if time.Now().After(deadline) {
					_ = syscall.Kill(-pid, syscall.SIGKILL)
				}
				if time.Now().After(deadline.Add(5 * time.Second)) {
					return fmt.Errorf("%s (pid %d) of %s does not exit", p, pid, c.Name)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		for name, port := range s.Ports {
			if err := waitPortClosed(ctx, port); err != nil {
				return fmt.Errorf("%s port %d of %s: %w", name, port, c.Name, err)
			}
		}
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		return fmt.Errorf("removing %s: %w", c.Dir, err)
	}
	return nil
}

// owns reports whether pid is alive and is one of this control plane's processes (every one of
// them names c.Dir on its command line), so a reused pid is never signalled.
func (c *ControlPlane) owns(pid int) bool {
	if pid <= 0 {
		return false
	}
	// Right after exec the kernel has already closed the exec pipe (so exec.Cmd.Start has
	// returned) but not yet set up the new command line: /proc/PID/cmdline reads empty for a
	// moment. Read again instead of judging the process gone.
	for range 100 {
		cmdline, alive := procCmdline(pid)
		if !alive {
			return false
		}
		if cmdline != "" {
			return strings.Contains(cmdline, c.Dir)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false // a process whose command line stays empty (a kernel thread) is not ours
}

// procCmdline returns pid's command line (arguments joined by spaces) and whether the process is
// alive; a zombie (state Z) has exited, only its parent has not reaped it yet.
func procCmdline(pid int) (string, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return "", false
	}
	if st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
		if i := bytes.LastIndexByte(st, ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
			return "", false
		}
	}
	return strings.TrimSpace(string(bytes.ReplaceAll(raw, []byte{0}, []byte{' '}))), true
}

// waitPortClosed waits until nothing listens on the loopback port.
func waitPortClosed(ctx context.Context, port int) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err != nil {
			return nil
		}
		conn.Close()
		select {
		case <-ctx.Done():
			return errors.New("still listening")
		case <-time.After(100 * time.Millisecond):
		}
	}
}
