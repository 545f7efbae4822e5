package handout

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/stages"
)

// Diagram draws where a stage's promise is kept, as SVG: every enforcement point of the mode, in
// the order a request meets them, the stage's own highlighted and numbered (the page lists what
// each number enforces). Drawn from the registry's data, not by hand.
func Diagram(enforced []stages.Enforcement, mode config.MeshMode) template.HTML {
	var points []stages.EnforcementPoint
	for _, p := range stages.EnforcementPoints {
		if (mode == config.Ambient && p == stages.Sidecar) || (mode == config.Sidecar && (p == stages.Waypoint || p == stages.Ztunnel)) {
			continue // not in this mode's data plane
		}
		points = append(points, p)
	}
	const w, h, gap, top = 118, 46, 12, 20
	var b strings.Builder
	width := len(points)*(w+gap) + gap
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="diagram" role="img" aria-label="where this stage is enforced" viewBox="0 0 %d %d" width="%d" height="%d">`, width, h+2*top, width, h+2*top)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="flow"/>`, gap, top+h/2, width-gap, top+h/2)
	for i, p := range points {
		x := gap + i*(w+gap)
		number := 0
		for j, e := range enforced {
			if e.Where == p {
				number = j + 1
				break
			}
		}
		class := "point"
		if number > 0 {
			class = "point enforced"
		}
		fmt.Fprintf(&b, `<g class="%s"><rect x="%d" y="%d" width="%d" height="%d" rx="6"/><text x="%d" y="%d" text-anchor="middle">%s</text>`,
			class, x, top, w, h, x+w/2, top+h/2+4, template.HTMLEscapeString(string(p)))
		if number > 0 {
			fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="9"/><text class="badge" x="%d" y="%d" text-anchor="middle">%d</text>`, x+w-4, top-2, x+w-4, top+2, number)
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from the registry's constants, each escaped
}
