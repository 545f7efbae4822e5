package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStaleLockedOnlyWhenEveryLockHolderIsDeadOnThisMachine(t *testing.T) {
	dir := t.TempDir()
	backend := "file://" + dir
	host, _ := os.Hostname()
	lock := func(name string, pid int, hostname string) {
		d := filepath.Join(dir, ".pulumi", "locks", "organization", "istio-workshop", "step5")
		require.NoError(t, os.MkdirAll(d, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(d, name+".json"),
			fmt.Appendf(nil, `{"pid":%d,"username":"u","hostname":%q,"timestamp":"2026-11-24T10:00:00Z"}`, pid, hostname), 0o600))
	}
	assert.False(t, staleLocked(backend, "step5"), "no lock")

	lock("dead", 1<<22+7, host)
	assert.True(t, staleLocked(backend, "step5"), "its holder is gone")
	assert.False(t, staleLocked(backend, "step4"), "another stack's lock is not this one's")
	assert.False(t, staleLocked("https://api.pulumi.com", "step5"), "only the file backend")

	lock("live", os.Getpid(), host)
	assert.False(t, staleLocked(backend, "step5"), "a live run holds it too")

	require.NoError(t, os.Remove(filepath.Join(dir, ".pulumi", "locks", "organization", "istio-workshop", "step5", "live.json")))
	lock("remote", 1<<22+7, "another-machine")
	assert.False(t, staleLocked(backend, "step5"), "a lock of another machine is never judged here")
}

func TestAZombieHoldsNoLock(t *testing.T) {
	assert.True(t, running(os.Getpid()))
	assert.False(t, running(1<<22+7), "no such process")

	// A child killed and not yet reaped is a zombie.
	cmd := exec.Command("sleep", "60")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Wait() })
	assert.True(t, running(cmd.Process.Pid))
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	require.Eventually(t, func() bool { return !running(cmd.Process.Pid) }, 5*time.Second, 10*time.Millisecond,
		"killed and unreaped, it is a zombie, not a live run")
	_, err := os.Stat(fmt.Sprintf("/proc/%d", cmd.Process.Pid))
	assert.NoError(t, err, "the zombie is still in /proc: the old check took it for a live run")
}
