// Command workshop is the presenter's CLI (run it through scripts/workshop, which sets up the
// same environment as scripts/pulumi). See internal/cli.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"golang.org/x/term"

	"github.com/istio-workshop/istio-workshop/internal/cli"
)

func main() {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "workshop:", err)
		os.Exit(cli.Failed)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	eng := cli.AutoEngine{Dir: wd, PolicyPack: policyPack(wd)}
	code := cli.Run(ctx, os.Args[1:], cli.IO{Stdout: os.Stdout, Stderr: os.Stderr, Terminal: term.IsTerminal(int(os.Stderr.Fd()))}, eng)
	stop()
	os.Exit(code)
}

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
