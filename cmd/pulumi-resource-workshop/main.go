// Command pulumi-resource-workshop is the workshop's provider plugin (see internal/provider).
package main

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/istio-workshop/istio-workshop/internal/procs"
	"github.com/istio-workshop/istio-workshop/internal/provider"
)

func main() {
	procs.EndOnInterrupt()
	prov, err := provider.New()
	if err == nil {
		err = p.RunProvider(context.Background(), provider.Name, provider.Version, prov)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-workshop: %v\n", err)
		os.Exit(1)
	}
}
