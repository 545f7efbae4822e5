package handout

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The pack's pages render in a real headless browser (Debian's Chromium, which `scripts/toolchain
// install all` installs): each loads from disk, and the DOM Chromium built holds the page's
// heading, and on a stage page the diagram.
func TestThePagesRenderInARealBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium: scripts/toolchain install all installs Debian's (as root)")
	}
	dir := t.TempDir()
	require.NoError(t, Write(dir, pack(t, "ada", "ambient", "eyJ.ada-token.sig")))
	for page, want := range map[string][]string{
		"index.html":      {"<h1>Istio workshop: ada's pack</h1>", "export TOKEN_ALICE=eyJ.ada-token.sig"},
		"stage-5.html":    {"<h1>Stage 5: Authorization policies</h1>", "<svg", `class="point enforced"`},
		"cheatsheet.html": {"<h1>Istio cheat sheet (ambient mode, stages 0–11)</h1>"},
	} {
		t.Run(page, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			home := t.TempDir() // Chromium's profile and caches, not the user's
			cmd := exec.CommandContext(ctx, chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
				"--user-data-dir="+home, "--dump-dom", "file://"+filepath.Join(dir, page))
			cmd.Env = append(os.Environ(), "HOME="+home)
			out, err := cmd.Output()
			require.NoError(t, err, "chromium: %s", out)
			dom := string(out)
			for _, w := range want {
				assert.Contains(t, dom, w)
			}
			assert.False(t, strings.Contains(dom, "ERR_FILE_NOT_FOUND"), "the page loaded")
		})
	}
}
