package handout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/stages"
)

func pack(t *testing.T, who, mode, token string) Pack {
	cfg, err := stages.Load("class-"+who, map[string]string{"workshop:stage": "11", "workshop:meshMode": mode, "workshop:clusterProvider": "local"})
	require.NoError(t, err)
	return Pack{Participant: who, Stack: "class-" + who, Config: cfg, ClusterName: "istio-workshop-class-" + who,
		RootCA: "-----BEGIN CERTIFICATE-----\n" + who + "\n-----END CERTIFICATE-----\n",
		Tokens: map[string]string{"alice": token}, Objects: map[config.Stage][]string{5: {"AuthorizationPolicy bookinfo/deny-all"}}}
}

// links are the href and src attributes of an HTML file, which must parse.
func links(t *testing.T, path string) []string {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	z := html.NewTokenizer(f)
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			for {
				key, val, more := z.TagAttr()
				if k := string(key); k == "href" || k == "src" {
					out = append(out, string(val))
				}
				if !more {
					break
				}
			}
		}
	}
}

// Two participants' packs: every page is there and every link resolves inside the pack; each
// holds its own token and CA, never the other's.
func TestEachParticipantsPackIsWholeAndTheirsAlone(t *testing.T) {
	dir := t.TempDir()
	ada, bo := filepath.Join(dir, "ada"), filepath.Join(dir, "bo")
	require.NoError(t, Write(ada, pack(t, "ada", "ambient", "eyJ.ada-token.sig")))
	require.NoError(t, Write(bo, pack(t, "bo", "sidecar", "eyJ.bo-token.sig")))

	for _, d := range []string{ada, bo} {
		entries, err := os.ReadDir(d)
		require.NoError(t, err)
		var htmlFiles int
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".html") {
				continue
			}
			htmlFiles++
			for _, l := range links(t, filepath.Join(d, e.Name())) {
				_, err := os.Stat(filepath.Join(d, l))
				assert.NoError(t, err, "%s links %s", e.Name(), l)
			}
		}
		assert.Equal(t, 14, htmlFiles, "an index, a page per stage 0–11, the cheat sheet")
	}
	all := func(d string) string {
		var b strings.Builder
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				raw, _ := os.ReadFile(p)
				b.Write(raw)
			}
			return nil
		})
		return b.String()
	}
	adaPack, boPack := all(ada), all(bo)
	assert.Contains(t, adaPack, "export TOKEN_ALICE=eyJ.ada-token.sig")
	assert.NotContains(t, adaPack, "bo-token", "no secret of another participant")
	assert.NotContains(t, boPack, "ada-token")
	ca, err := os.ReadFile(filepath.Join(ada, "workshop-ca.crt"))
	require.NoError(t, err)
	assert.Contains(t, string(ca), "ada")
}

// A stage's page says where it is enforced, for the participant's mode, from the registry.
func TestTheDiagramFollowsTheModeAndTheRegistry(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, Write(dir, pack(t, "ada", "ambient", "t")))
	page, err := os.ReadFile(filepath.Join(dir, "stage-5.html"))
	require.NoError(t, err)
	s := string(page)
	assert.Contains(t, s, ">waypoint</text>")
	assert.NotContains(t, s, ">sidecar</text>", "no sidecar in ambient mode")
	assert.Equal(t, 3, strings.Count(s, `class="point enforced"`), "ingress gateway, waypoint and ztunnel enforce stage 5 in ambient mode")
	assert.Contains(t, s, "<strong>ztunnel</strong>: lets Bookinfo&#39;s pods accept only the waypoint")
	assert.Contains(t, s, "AuthorizationPolicy</td><td>bookinfo/deny-all")
	assert.Contains(t, s, `curl -sS -o /dev/null -w &#39;%{http_code}\n&#39; --cacert workshop-ca.crt -H &#34;Authorization: Bearer $TOKEN_ALICE&#34; https://bookinfo.localhost/api/v1/products`)

	require.NoError(t, Write(dir, pack(t, "ada", "sidecar", "t")))
	page, err = os.ReadFile(filepath.Join(dir, "stage-5.html"))
	require.NoError(t, err)
	assert.Contains(t, string(page), ">sidecar</text>")
	assert.NotContains(t, string(page), ">ztunnel</text>")
}

// Every stage after the clean cluster says where its promise is kept.
func TestEveryStageSaysWhereItIsEnforced(t *testing.T) {
	for _, s := range stages.All()[1:] {
		assert.NotEmpty(t, s.Enforced, "stage %d", s.Number)
		for _, e := range s.Enforced {
			assert.Contains(t, stages.EnforcementPoints, e.Where, "stage %d", s.Number)
		}
	}
}
