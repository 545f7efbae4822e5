package cli

import (
	"strings"
	"testing"
)

// FuzzCommandLine: whatever the command line, the CLI never panics, exits 0, 1 or 2, and a
// refused command line (2) says why. Commands that reach beyond the engine (prepare downloads,
// troubleshoot runs kubectl, reset looks for clusters) are left to their own tests.
func FuzzCommandLine(f *testing.F) {
	for _, seed := range []string{"up 4", "diff 4 5 --json", "verify --stack step4 --objects-only", "token alice --stack step4",
		"up -1", "explain 99", "diff 4", "up 4 --full --json", "preview step3", "recover", "help", "up 4 --stack", "--stack x up 1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		if len(args) > 0 && (args[0] == "prepare" || args[0] == "troubleshoot" || args[0] == "reset") {
			return
		}
		t.Chdir(t.TempDir()) // no stack file of the project's is read or written
		code, _, stderr := runCLI(args, &fakeEngine{})
		switch code {
		case OK, Failed:
		case Usage:
			if !strings.Contains(stderr, "workshop: ") {
				t.Errorf("%q refused without a reason: %q", line, stderr)
			}
		default:
			t.Errorf("%q exited %d", line, code)
		}
	})
}
