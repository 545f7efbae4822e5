package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/stages"
)

// How troubleshoot runs commands; tests replace them.
var (
	lookPath   = exec.LookPath
	runCommand = func(ctx context.Context, env []string, name string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		c := exec.CommandContext(ctx, name, args...)
		c.Env = append(os.Environ(), env...)
		out, err := c.CombinedOutput()
		return string(out), err
	}
)

// troubleshoot runs the read-only troubleshooting commands of every stage up to the stack's, in
// its mesh mode, against its cluster, and reports the ones that fail.
func troubleshoot(ctx context.Context, out IO, eng Engine, stack string) error {
	o, err := liveOutputs(ctx, eng, stack)
	if err != nil {
		return err
	}
	n, mode, kubeconfig := o.Stage, o.MeshMode, o.Kubeconfig
	dir, err := os.MkdirTemp("", "workshop-troubleshoot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte(kubeconfig), 0o600); err != nil {
		return err
	}
	env := []string{"KUBECONFIG=" + kc}
	ran, skipped := 0, 0
	var failed []string
	for s := config.Stage(0); s <= config.Stage(n); s++ {
		st, _ := stages.Get(s)
		for _, c := range st.Guide.Commands {
			if !c.ReadOnly || (c.Mode != "" && string(c.Mode) != mode) {
				continue
			}
			fmt.Fprintf(out.Stdout, "\n# stage %d: %s\n$ %s\n", s, c.Why, shellJoin(c.Run))
			if _, err := lookPath(c.Run[0]); err != nil {
				skipped++
				fmt.Fprintf(out.Stdout, "  skipped: %s is not installed (scripts/toolchain install local builds the pinned kubectl and istioctl)\n", c.Run[0])
				continue
			}
			ran++
			text, err := runCommand(ctx, env, c.Run[0], c.Run[1:]...)
			fmt.Fprint(out.Stdout, indent(text, 40))
			if err != nil {
				failed = append(failed, shellJoin(c.Run))
				fmt.Fprintf(out.Stdout, "  FAILED: %v\n", err)
			}
		}
	}
	fmt.Fprintf(out.Stdout, "\n%d command(s) run, %d failed, %d skipped\n", ran, len(failed), skipped)
	if len(failed) > 0 {
		return fmt.Errorf("%d troubleshooting command(s) failed: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}

// indent keeps the first max lines of text, indented.
func indent(text string, max int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > max {
		lines = append(lines[:max], fmt.Sprintf("... (%d more lines)", len(lines)-max))
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// shellJoin prints a command as a shell would take it.
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " |;&$'\"*?()<>") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
