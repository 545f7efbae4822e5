// Command pulumi-resource-kubernetes is the upstream provider's main, rebuilt here because the
// module zip ships schema.json but not the generated *-embed.json files its main embeds.
// scripts/toolchain writes those two files (see embedgen.go) before building.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
