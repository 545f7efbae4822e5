package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/test/harness"
)

// A class of two participants, each on a cluster of their own (two local control planes the
// organiser provides, reached by kubeconfig): the real CLI brings both to stage 1 side by side,
// reports each, verifies each, shows the next stage's change once, and resets both, leaving each
// cluster as it found it.
func TestAClassOfTwoOnClustersOfTheirOwn(t *testing.T) {
	harness.Require(t)
	p := harness.NewProject(t)
	ada, bo := harness.SharedControlPlane(t, "e2e-class-ada", 1), harness.SharedControlPlane(t, "e2e-class-bo", 1)
	before := map[string][]string{"ada": harness.Snapshot(t, ada.KubeconfigPath()), "bo": harness.Snapshot(t, bo.KubeconfigPath())}
	roster := filepath.Join(p.Dir, "class.yaml")
	require.NoError(t, os.WriteFile(roster, []byte("settings: {chartSource: module, meshMode: sidecar}\nparticipants:\n"+
		"- {name: ada, kubeconfig: "+ada.KubeconfigPath()+"}\n- {name: bo, kubeconfig: "+bo.KubeconfigPath()+"}\n"), 0o600))
	must := p.MustWorkshop

	up := must("class", "up", "1", "--roster", "class.yaml", "--parallel", "2")
	assert.Regexp(t, `(?m)^ada +reach stage 1 in [0-9.]+s: [0-9]+ created`, up.Stdout)
	assert.Regexp(t, `(?m)^bo +reach stage 1 in [0-9.]+s: [0-9]+ created`, up.Stdout)
	for _, cp := range []string{ada.KubeconfigPath(), bo.KubeconfigPath()} {
		assert.Contains(t, harness.Kubectl(t, cp, "get", "deployments", "-n", "bookinfo", "-o", "name"), "productpage-v1", "each participant's own cluster has Bookinfo")
	}

	must("class", "verify", "--roster", "class.yaml", "--objects-only")
	status := must("class", "status", "--roster", "class.yaml", "--json")
	var lines []struct {
		Participant string
		Stack       string
		Stage       int
		Last        struct {
			Op     string
			OK     bool
			Verify string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(status.Stdout), &lines), status.Stdout)
	require.Len(t, lines, 2)
	for _, l := range lines {
		assert.Equal(t, 1, l.Stage, l.Participant)
		assert.Equal(t, "class-"+l.Participant, l.Stack)
		assert.True(t, l.Last.OK)
		assert.Equal(t, "pass", l.Last.Verify, "the verify is recorded")
	}

	// Each participant's handout: a page per stage in force, the cheat sheet, from their stack.
	must("class", "handout", "--roster", "class.yaml", "--out", "handouts")
	for _, who := range []string{"ada", "bo"} {
		for _, page := range []string{"index.html", "stage-0.html", "stage-1.html", "cheatsheet.html", "style.css"} {
			assert.FileExists(t, filepath.Join(p.Dir, "handouts", who, page))
		}
		stage1, err := os.ReadFile(filepath.Join(p.Dir, "handouts", who, "stage-1.html"))
		require.NoError(t, err)
		assert.Contains(t, string(stage1), "Deployment</td><td>bookinfo/productpage-v1", "the objects the stage added to their cluster")
	}

	diff := must("class", "diff", "1", "2", "--roster", "class.yaml")
	assert.Contains(t, diff.Stdout, "The same change for every participant at stage 1 (ada, bo), shown for ada")
	assert.Contains(t, diff.Stdout, "Moving stack class-ada from stage 1 to stage 2")

	must("class", "reset", "--roster", "class.yaml", "--yes")
	assert.Equal(t, before["ada"], harness.Snapshot(t, ada.KubeconfigPath()), "ada's cluster as it was, and still there")
	assert.Equal(t, before["bo"], harness.Snapshot(t, bo.KubeconfigPath()))
	status = must("class", "status", "--roster", "class.yaml")
	assert.Regexp(t, `(?m)^ada +class-ada +- +reset`, status.Stdout)
}
