// istio-workshop: a Pulumi program that turns a laptop into an Istio security workshop.
// The program itself is internal/workshop; stack stepN is stage N by its name.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/istio-workshop/istio-workshop/internal/workshop"
)

func main() { pulumi.Run(workshop.Program) }
