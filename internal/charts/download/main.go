// Command download fetches the pinned Go modules that carry the workshop's charts, so that
// chartSource module works offline (scripts/toolchain charts).
package main

import (
	"fmt"
	"os"

	"github.com/istio-workshop/istio-workshop/internal/charts"
)

func main() {
	if err := charts.Download(charts.Modules(charts.Pinned)...); err != nil {
		fmt.Fprintln(os.Stderr, "charts:", err)
		os.Exit(1)
	}
	for _, m := range charts.Modules(charts.Pinned) {
		dir, _ := charts.ModuleDir(m)
		fmt.Printf("%s -> %s\n", m, dir)
	}
}
