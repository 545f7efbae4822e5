// Command workshop-local starts, inspects and stops a local control plane (infra/controlplane):
// a real API server with simulated nodes, on loopback, without Docker. Objects exist there but no
// container runs and no traffic flows.
//
//	workshop-local start [--name NAME] [--nodes N]   prints the kubeconfig path
//	workshop-local status [--name NAME]
//	workshop-local stop [--name NAME]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/istio-workshop/istio-workshop/infra/controlplane"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	name := fs.String("name", "workshop", "name of the control plane")
	nodes := fs.Int("nodes", 1, "simulated nodes (start)")
	_ = fs.Parse(os.Args[2:])
	cp, err := controlplane.New(*name, controlplane.WithNodes(*nodes))
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch os.Args[1] {
	case "start":
		if err := cp.Start(ctx); err != nil {
			fail(err)
		}
		fmt.Println(cp.KubeconfigPath())
	case "status":
		st, err := cp.Status(ctx)
		if err != nil {
			fail(err)
		}
		switch {
		case len(st.Running) == 0:
			fmt.Printf("%s: not running\n", st.Name)
			os.Exit(3)
		case st.Ready:
			fmt.Printf("%s: ready at %s (kubeconfig %s)\n", st.Name, st.Server, cp.KubeconfigPath())
		default:
			fmt.Printf("%s: not ready; running: %s; missing: %s\n", st.Name, strings.Join(st.Running, ", "), strings.Join(st.Missing, ", "))
			os.Exit(1)
		}
	case "stop":
		if err := cp.Stop(ctx); err != nil {
			fail(err)
		}
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: workshop-local start|status|stop [--name NAME] [--nodes N]")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "workshop-local:", err)
	os.Exit(1)
}
