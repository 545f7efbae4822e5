// The workshop's policy pack: `scripts/pulumi preview --policy-pack policies` runs it (the
// language host builds this directory). The rules are in policies/rules.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/istio-workshop/istio-workshop/policies/rules"
)

func main() {
	if err := policyx.Main(func(*pulumi.Context) (policyx.PolicyPack, error) { return rules.Pack() }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
