// Command empty is a Pulumi program that registers nothing: the benchmark's baseline for what a
// preview costs before the workshop's program does any work (engine, language host, plugins).
package main

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

func main() { pulumi.Run(func(*pulumi.Context) error { return nil }) }
