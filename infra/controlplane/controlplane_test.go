package controlplane

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewRejectsNamesThatCannotBeDirectoriesOrContexts(t *testing.T) {
	for _, bad := range []string{"", "Upper", "a_b", "-lead", "trail-", strings.Repeat("a", 41), "../x"} {
		_, err := New(bad)
		assert.Error(t, err, bad)
	}
	cp, err := New("step0", WithNodes(0), WithBin("/bin-dir"), WithDir("/state-dir"))
	require.NoError(t, err)
	assert.Equal(t, 1, cp.Nodes, "at least one node")
	assert.Equal(t, "local-step0", cp.ContextName())
	assert.Equal(t, "/state-dir/kubeconfig", cp.KubeconfigPath())
}

func TestFreePortsAreDistinctAndBelowTheEphemeralRange(t *testing.T) {
	ports, err := freePorts(7)
	require.NoError(t, err)
	seen := map[int]bool{}
	for _, p := range ports {
		assert.False(t, seen[p], "distinct")
		seen[p] = true
		assert.GreaterOrEqual(t, p, 20000)
		assert.Less(t, p, 32768, "below the ephemeral range, where a client could take it")
	}
}

func TestLoadBalancerIPIsStableAndLoopback(t *testing.T) {
	a := LoadBalancerIP("istio-ingress", "istio-ingressgateway")
	assert.Equal(t, a, LoadBalancerIP("istio-ingress", "istio-ingressgateway"))
	assert.True(t, strings.HasPrefix(a, "127.0.1."), a)
	assert.NotEqual(t, "127.0.1.0", a)
}

func TestStartNamesMissingBinariesAndChangesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cp")
	cp, err := New("t1", WithBin(t.TempDir()), WithDir(dir))
	require.NoError(t, err)
	err = cp.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "scripts/toolchain install local")
	assert.Contains(t, err.Error(), "kube-apiserver")
	_, statErr := os.Stat(dir)
	assert.True(t, os.IsNotExist(statErr), "nothing was created")
}

func TestStopOfAControlPlaneThatNeverStartedIsFine(t *testing.T) {
	cp, err := New("t2", WithDir(filepath.Join(t.TempDir(), "cp")))
	require.NoError(t, err)
	require.NoError(t, cp.Stop(context.Background()))
	st, err := cp.Status(context.Background())
	require.NoError(t, err)
	assert.Empty(t, st.Running)
	assert.False(t, st.Ready)
}

// A process is ours from the moment spawn returns: the kernel shows an empty command line for a
// moment after exec, which once made a start-up judge a live etcd dead (and leave it running).
func TestOwnsAProcessRightAfterItIsSpawned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cp")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "logs"), 0o700))
	cp := &ControlPlane{Name: "t3", Dir: dir, Bin: "/bin"}
	for range 200 {
		pid, err := cp.spawn("sh", "-c", "sleep 5", dir) // dir is $0: on the command line, as with our binaries
		require.NoError(t, err)
		owned := cp.owns(pid)
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		require.True(t, owned, "pid %d, spawned a moment ago, is not judged ours", pid)
	}
	other := &ControlPlane{Name: "t4", Dir: dir + "-other", Bin: "/bin"}
	pid, err := cp.spawn("sh", "-c", "sleep 5", dir)
	require.NoError(t, err)
	defer syscall.Kill(-pid, syscall.SIGKILL)
	assert.False(t, other.owns(pid), "a process naming another directory is not ours")
	assert.False(t, cp.owns(1<<22+1), "a pid that does not exist is not ours")
}
