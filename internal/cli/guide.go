package cli

import (
	"fmt"
	"io"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/stages"
)

// printGuide writes stage s's practices and commands (both modes, each labelled).
func printGuide(w io.Writer, s config.Stage) {
	st, _ := stages.Get(s)
	g := st.Guide
	if len(g.Concepts) > 0 {
		fmt.Fprintln(w, "\nWhat it is about:")
		for _, c := range g.Concepts {
			fmt.Fprintf(w, "  - %s\n", c)
		}
	}
	fmt.Fprintln(w, "\nBest practices:")
	for _, p := range g.Practices {
		fmt.Fprintf(w, "  - %s\n", p)
	}
	fmt.Fprintln(w, "\nTroubleshooting:")
	for _, c := range g.Commands {
		mode := ""
		if c.Mode != "" {
			mode = " (" + string(c.Mode) + " mode)"
		}
		fmt.Fprintf(w, "  # %s%s\n  %s\n", c.Why, mode, shellJoin(c.Run))
	}
}
