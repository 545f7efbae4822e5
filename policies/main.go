// The workshop's policy pack: `scripts/pulumi preview --policy-pack policies` runs it (the
// language host builds this directory). The rules are in policies/rules.
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/policies/rules"
	"github.com/istio-workshop/istio-workshop/stages"
)

func main() {
	if err := policyx.Main(func(ctx *pulumi.Context) (policyx.PolicyPack, error) {
		return rules.Pack(stackOf(ctx), stages.Promises())
	}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// stackOf reads the stage and mesh mode from the stack's configuration the way the program does
// (stack stepN is stage N unless workshop:stage says otherwise). A stage it cannot tell leaves
// the stage rule out; the program refuses such a stack anyway.
func stackOf(ctx *pulumi.Context) rules.Stack {
	stage, ok := ctx.GetConfig(config.Namespace + ":stage")
	if !ok {
		if m := config.StackStage.FindStringSubmatch(ctx.Stack()); m != nil {
			stage, ok = m[1], true
		}
	}
	n, err := strconv.Atoi(stage)
	mode, set := ctx.GetConfig(config.Namespace + ":meshMode")
	return rules.Stack{Known: ok && err == nil, Stage: n, Ambient: !set || mode == string(config.Ambient)}
}
