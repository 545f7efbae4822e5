// Package handout writes a participant's take-home pack: a static HTML page per stage (what it
// does, where it is enforced, the objects it added, the commands to try with the participant's
// own names and the answers to expect, best practices, troubleshooting), a one-page cheat sheet,
// the workshop CA and the participant's tokens. Everything comes from the stage registry and the
// participant's own stack: nothing is written by hand, and nothing of another participant's.
package handout

import (
	"embed"
	"fmt"
	"html/template"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/probe"
	"github.com/istio-workshop/istio-workshop/internal/versions"
	"github.com/istio-workshop/istio-workshop/stages"
)

// Pack is what one participant's handout is made of.
type Pack struct {
	// Participant names whose pack it is (the stack's name when there is no roster).
	Participant string
	Stack       string
	Config      config.Config
	ClusterName string
	// RootCA is the workshop root CA (PEM), written as workshop-ca.crt.
	RootCA string
	// Tokens are the participant's stack's personas' JWTs.
	Tokens map[string]string
	// Objects are the Kubernetes objects each stage added, "Kind namespace/name".
	Objects map[config.Stage][]string
}

//go:embed templates/*.html templates/style.css
var files embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"join":  strings.Join,
	"upper": strings.ToUpper,
	"page":  pageName,
	// split is an object's "Kind namespace/name" as its two cells.
	"split": func(s string) []string {
		kind, name, _ := strings.Cut(s, " ")
		return []string{kind, name}
	},
}).ParseFS(files, "templates/*.html"))

// pageName is stage n's page.
func pageName(n config.Stage) string { return fmt.Sprintf("stage-%d.html", n) }

// stagePage is what one stage's page shows.
type stagePage struct {
	Pack       *Pack
	Stage      stages.Stage
	Prev, Next string
	Diagram    template.HTML
	Enforced   []stages.Enforcement
	Objects    []string
	Checks     []check
	Commands   []stages.Command
}

// check is one of the stage's probes as a command a participant can type, and its answer.
type check struct {
	Name, Command, Expect string
}

// Write writes p's pack into dir (created if needed).
func Write(dir string, p Pack) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, data []byte, mode os.FileMode) error {
		return os.WriteFile(filepath.Join(dir, name), data, mode)
	}
	css, err := files.ReadFile("templates/style.css")
	if err != nil {
		return err
	}
	if err := write("style.css", css, 0o644); err != nil {
		return err
	}
	if p.RootCA != "" {
		if err := write("workshop-ca.crt", []byte(p.RootCA), 0o644); err != nil {
			return err
		}
	}
	render := func(name, tmpl string, data any) error {
		var b strings.Builder
		if err := pages.ExecuteTemplate(&b, tmpl, data); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return write(name, []byte(b.String()), 0o600) // a participant's tokens: theirs to read
	}
	inForce := stages.InForce(p.Config)
	if err := render("index.html", "index.html", struct {
		Pack   *Pack
		Stages []stages.Stage
		Tokens [][2]string
	}{&p, inForce, sortedTokens(p.Tokens)}); err != nil {
		return err
	}
	probes := stages.Probes(p.Config)
	for i, s := range inForce {
		sp := stagePage{Pack: &p, Stage: s, Enforced: forMode(s.Enforced, p.Config.MeshMode), Objects: p.Objects[s.Number],
			Commands: commandsFor(s.Guide.Commands, p.Config.MeshMode)}
		if i > 0 {
			sp.Prev = pageName(inForce[i-1].Number)
		}
		if i < len(inForce)-1 {
			sp.Next = pageName(inForce[i+1].Number)
		}
		sp.Diagram = Diagram(sp.Enforced, p.Config.MeshMode)
		for _, pr := range probes {
			if pr.Stage == int(s.Number) {
				sp.Checks = append(sp.Checks, check{Name: pr.Name, Command: Command(pr), Expect: pr.Expect.String()})
			}
		}
		if err := render(pageName(s.Number), "stage.html", sp); err != nil {
			return err
		}
	}
	type sheetStage struct {
		Stage    stages.Stage
		Commands []stages.Command
	}
	var sheet []sheetStage
	for _, s := range inForce {
		var ro []stages.Command
		for _, c := range commandsFor(s.Guide.Commands, p.Config.MeshMode) {
			if c.ReadOnly {
				ro = append(ro, c)
			}
		}
		sheet = append(sheet, sheetStage{s, ro})
	}
	return render("cheatsheet.html", "cheatsheet.html", struct {
		Pack   *Pack
		Stages []sheetStage
	}{&p, sheet})
}

func sortedTokens(tokens map[string]string) [][2]string {
	var out [][2]string
	for _, name := range slices.Sorted(maps.Keys(tokens)) {
		out = append(out, [2]string{name, tokens[name]})
	}
	return out
}

// inMode keeps what applies in mode: whatever names no mode, and what names this one.
func inMode[T any](list []T, mode config.MeshMode, modeOf func(T) config.MeshMode) []T {
	var out []T
	for _, x := range list {
		if m := modeOf(x); m == "" || m == mode {
			out = append(out, x)
		}
	}
	return out
}

func forMode(list []stages.Enforcement, mode config.MeshMode) []stages.Enforcement {
	return inMode(list, mode, func(e stages.Enforcement) config.MeshMode { return e.Mode })
}

func commandsFor(list []stages.Command, mode config.MeshMode) []stages.Command {
	return inMode(list, mode, func(c stages.Command) config.MeshMode { return c.Mode })
}

// Command is probe p as a participant types it: curl from their machine with the workshop CA and
// their token, or from a short-lived curl pod in the probe's namespace.
func Command(p probe.Probe) string {
	var args []string
	if p.CACert {
		args = append(args, "--cacert workshop-ca.crt")
	}
	if p.ClientCert {
		args = append(args, "--cert participant.crt --key participant.key")
	}
	if p.Persona != "" {
		args = append(args, fmt.Sprintf(`-H "Authorization: Bearer $TOKEN_%s"`, strings.ToUpper(p.Persona)))
	}
	for _, h := range p.Headers {
		args = append(args, fmt.Sprintf("-H %q", h))
	}
	curl := "curl -sS -o /dev/null -w '%{http_code}\\n' " + strings.Join(append(args, p.URL), " ")
	if p.From == probe.Host {
		return curl
	}
	run := fmt.Sprintf("kubectl run probe -n %s --rm -i --restart=Never --image=%s", p.From, versions.Curl)
	if p.ServiceAccount != "" {
		run += fmt.Sprintf(` --overrides='{"spec":{"serviceAccountName":%q}}'`, p.ServiceAccount)
	}
	if p.InMesh {
		run += " --labels=istio.io/dataplane-mode=ambient"
	}
	return run + " -- " + strings.TrimPrefix(curl, "curl ")
}
