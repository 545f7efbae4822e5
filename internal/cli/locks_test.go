package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

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
