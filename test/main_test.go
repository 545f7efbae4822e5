package test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/istio-workshop/istio-workshop/internal/procs"
)

// suiteEnv names the suite's directory in the environment of everything the tests start.
const suiteEnv = "ISTIO_WORKSHOP_E2E_SUITE"

// TestMain puts every directory the tests make under one suite directory, then, once every test
// and clean-up has run, fails the run for any process still running that belongs to the suite:
// its environment or command line names that directory, or it works under it. Each is named,
// then ended.
func TestMain(m *testing.M) {
	suite, err := os.MkdirTemp("", "istio-workshop-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = os.Setenv("TMPDIR", suite) // t.TempDir() is under it
	_ = os.Setenv(suiteEnv, suite)
	code := m.Run()
	left := procs.Under(suite)
	for deadline := time.Now().Add(10 * time.Second); len(left) > 0 && time.Now().Before(deadline); left = procs.Under(suite) {
		time.Sleep(200 * time.Millisecond) // a process ended by a clean-up may still be on its way out
	}
	if len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d process(es) of the suite still running after every test ended:\n", len(left))
		for _, pid := range left {
			fmt.Fprintf(os.Stderr, "  %s\n", procs.Describe(pid))
		}
		procs.End(left, 5*time.Second)
		code = 1
	}
	_ = os.RemoveAll(suite)
	os.Exit(code)
}
