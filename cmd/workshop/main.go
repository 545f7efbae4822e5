// Command workshop is the presenter's CLI (run it through scripts/workshop, which sets up the
// same environment as scripts/pulumi). See internal/cli.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/istio-workshop/istio-workshop/internal/cli"
	"github.com/istio-workshop/istio-workshop/internal/procs"
)

func main() {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "workshop:", err)
		os.Exit(cli.Failed)
	}
	// What the engine starts for this run (language host, providers, each in a process group of
	// its own) carries the run's mark: ended below if the run is interrupted, and by the next run
	// if this one is killed outright.
	if err := procs.MarkRun(); err != nil {
		fmt.Fprintln(os.Stderr, "workshop:", err)
		os.Exit(cli.Failed)
	}
	if left := procs.Orphans(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "workshop: ending %d process(es) left by an interrupted workshop run:\n", len(left))
		for _, pid := range left {
			fmt.Fprintf(os.Stderr, "  %s\n", procs.Describe(pid))
		}
		procs.End(left, endGrace)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	eng := cli.AutoEngine{Dir: wd, PolicyPack: policyPack(wd)}
	code := cli.Run(ctx, os.Args[1:], cli.IO{Stdout: os.Stdout, Stderr: os.Stderr, Terminal: term.IsTerminal(int(os.Stderr.Fd()))}, eng)
	stop()
	if left := procs.OfThisRun(); len(left) > 0 { // interrupted: the engine's plugins outlive it
		procs.End(left, endGrace)
	}
	os.Exit(code)
}

// endGrace is how long a process gets to exit on SIGTERM before it is killed.
const endGrace = 5 * time.Second

// policyPack is the project's policy pack, as scripts/pulumi runs it: WORKSHOP_POLICY_PACK names
// another directory, or "off".
func policyPack(wd string) string {
	switch p := os.Getenv("WORKSHOP_POLICY_PACK"); p {
	case "off":
		return ""
	case "":
		if _, err := os.Stat(filepath.Join(wd, "policies", "PulumiPolicy.yaml")); err == nil {
			return filepath.Join(wd, "policies")
		}
		return ""
	default:
		return p
	}
}
