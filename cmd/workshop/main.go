// Command workshop is the presenter's CLI (run it through scripts/workshop, which sets up the
// same environment as scripts/pulumi). See internal/cli.
package main

import (
	"context"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/istio-workshop/istio-workshop/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, stackOutputs))
}

// stackOutputs reads a stack of the project in the working directory through the Automation API.
func stackOutputs(ctx context.Context, stack string) (map[string]any, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	s, err := auto.SelectStackLocalSource(ctx, stack, wd)
	if err != nil {
		return nil, err
	}
	out, err := s.Outputs(ctx)
	if err != nil {
		return nil, err
	}
	values := make(map[string]any, len(out))
	for k, v := range out {
		values[k] = v.Value
	}
	return values, nil
}
