package procs

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A process started with SIGINT ignored (as under `nohup cmd &`) still ends on SIGINT, at once.
func TestAPluginStartedWithInterruptIgnoredEndsOnInterrupt(t *testing.T) {
	if mode := os.Getenv("PROCS_TEST_CHILD"); mode != "" {
		if mode == "end" {
			EndOnInterrupt()
		}
		_, _ = os.Stdout.WriteString("ready\n")
		time.Sleep(time.Minute)
		return
	}
	for _, handled := range []bool{false, true} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAPluginStartedWithInterruptIgnoredEndsOnInterrupt$")
		cmd.Env = append(os.Environ(), "PROCS_TEST_CHILD=ignore")
		if handled {
			cmd.Env = append(os.Environ(), "PROCS_TEST_CHILD=end")
		}
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		signal.Ignore(os.Interrupt) // inherited by the child, as from a background job
		err = cmd.Start()
		signal.Reset(os.Interrupt)
		require.NoError(t, err)
		_, err = out.Read(make([]byte, 6)) // "ready": its signal handling is in place
		require.NoError(t, err)
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
			assert.True(t, handled, "without EndOnInterrupt the child ignores SIGINT (the case this guards)")
		case <-time.After(2 * time.Second):
			assert.False(t, handled, "the child still runs 2 s after SIGINT")
			_ = cmd.Process.Kill()
			<-done
		}
	}
}
