// Command pulumi-language-go is the project's Go language host for the Pulumi engine (see
// internal/langhost). The engine starts it with its own address as the last argument and reads
// the port it listens on from the first line of stdout.
package main

import (
	"fmt"
	"os"

	"github.com/istio-workshop/istio-workshop/internal/langhost"
	"github.com/istio-workshop/istio-workshop/internal/procs"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

func main() {
	// Flags such as --logtostderr, -v=9 or --tracing URL may come first; the engine address is
	// always last.
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pulumi-language-go [flags] ENGINE_ADDRESS")
		os.Exit(2)
	}
	procs.EndOnInterrupt()
	host := langhost.New(os.Args[len(os.Args)-1], "")
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-go: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-go: %v\n", err)
		os.Exit(1)
	}
}
