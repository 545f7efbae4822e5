package procs

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAZombieIsNotRunning(t *testing.T) {
	assert.True(t, Running(os.Getpid()))
	assert.False(t, Running(1<<22+7), "no such process")

	// A child killed and not yet reaped is a zombie.
	cmd := exec.Command("sleep", "60")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Wait() })
	assert.True(t, Running(cmd.Process.Pid))
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	require.Eventually(t, func() bool { return !Running(cmd.Process.Pid) }, 5*time.Second, 10*time.Millisecond,
		"killed and unreaped, it is a zombie, not a live process")
	_, err := os.Stat(fmt.Sprintf("/proc/%d", cmd.Process.Pid))
	assert.NoError(t, err, "the zombie is still in /proc: a check of /proc alone takes it for a live one")
}

// TestHelperRun is a workshop run when the helper variable is set: it marks itself, starts a
// child in a process group of its own (as the engine starts its plugins), says the child's pid
// and waits to be killed.
func TestHelperRun(t *testing.T) {
	if os.Getenv("PROCS_HELPER_RUN") != "1" {
		t.Skip("a helper process of TestARunKilledOutrightLeavesNothingTheNextRunMisses")
	}
	require.NoError(t, MarkRun())
	child := exec.Command("sleep", "300")
	child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, child.Start())
	fmt.Println(child.Process.Pid)
	time.Sleep(5 * time.Minute)
}

func TestARunKilledOutrightLeavesNothingTheNextRunMisses(t *testing.T) {
	run := exec.Command(os.Args[0], "-test.run=^TestHelperRun$", "-test.v")
	run.Env = append(os.Environ(), "PROCS_HELPER_RUN=1")
	out, err := run.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, run.Start())
	lines := bufio.NewScanner(out)
	var child int
	for lines.Scan() {
		if n, err := strconv.Atoi(lines.Text()); err == nil {
			child = n
			break
		}
	}
	require.NotZero(t, child, "the helper run started its child")
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })

	assert.NotContains(t, Orphans(), child, "its run is alive: not an orphan")
	require.NoError(t, run.Process.Signal(syscall.SIGKILL))
	_ = run.Wait()
	require.True(t, Running(child), "the child of a run killed outright lives on, in its own process group")

	assert.Contains(t, Orphans(), child, "the next run finds what the killed one left")
	End(Orphans(), 2*time.Second)
	assert.False(t, Running(child), "and ends it")
}

func TestOfThisRunIsWhatThisRunStarted(t *testing.T) {
	t.Setenv(RunEnv, "")
	require.NoError(t, MarkRun())
	child := exec.Command("sleep", "60")
	child.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Wait() })
	assert.Contains(t, OfThisRun(), child.Process.Pid)
	assert.NotContains(t, OfThisRun(), os.Getpid(), "never itself")
	assert.NotContains(t, Orphans(), child.Process.Pid, "this run is alive")
	End(OfThisRun(), 2*time.Second)
	require.Eventually(t, func() bool { return !Running(child.Process.Pid) }, 5*time.Second, 10*time.Millisecond)
}

func TestUnderFindsByDirectory(t *testing.T) {
	dir := t.TempDir()
	cwd := exec.Command("sleep", "60")
	cwd.Dir = dir
	env := exec.Command("sleep", "61")
	env.Env = append(os.Environ(), "SOME_CACHE="+dir+"/cache")
	arg := exec.Command("sh", "-c", "sleep 62", dir+"/x")
	other := exec.Command("sleep", "63")
	for _, c := range []*exec.Cmd{cwd, env, arg, other} {
		require.NoError(t, c.Start())
		t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	}
	found := Under(dir)
	for _, c := range []*exec.Cmd{cwd, env, arg} {
		assert.Contains(t, found, c.Process.Pid, Describe(c.Process.Pid))
	}
	assert.NotContains(t, found, other.Process.Pid)
}
