package class

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/config"
)

// kubeconfig writes a kubeconfig with one context per cluster name, each cluster at its server.
func kubeconfig(t *testing.T, servers map[string]string) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\nclusters:\n")
	for name, server := range servers {
		b.WriteString("- name: " + name + "\n  cluster: {server: " + server + "}\n")
	}
	b.WriteString("contexts:\n")
	for name := range servers {
		b.WriteString("- name: " + name + "\n  context: {cluster: " + name + ", user: u}\n")
	}
	b.WriteString("users:\n- name: u\n  user: {token: t}\n")
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

func roster(t *testing.T, body string) (Roster, error) {
	path := filepath.Join(t.TempDir(), "class.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return Load(path)
}

func TestARosterOfDistinctClustersLoads(t *testing.T) {
	kc := kubeconfig(t, map[string]string{"ada": "https://10.1.0.1:6443", "bo": "https://10.1.0.2:6443"})
	r, err := roster(t, "settings: {meshMode: sidecar}\nparticipants:\n"+
		"- {name: ada, kubeconfig: "+kc+", context: ada}\n- {name: bo, kubeconfig: "+kc+", context: bo}\n- {name: cy, provider: local}\n- {name: di}\n")
	require.NoError(t, err)
	assert.Equal(t, []string{"existing", "existing", "local", "kind"}, []string{r.Participants[0].Provider, r.Participants[1].Provider, r.Participants[2].Provider, r.Participants[3].Provider},
		"existing with a kubeconfig, kind (the workshop's default) without")
	assert.Equal(t, map[string]string{"workshop:meshMode": "sidecar", "workshop:stage": "4", "workshop:clusterProvider": "existing", "workshop:kubeconfig": kc, "workshop:kubeContext": "bo"},
		r.StackSettings(r.Participants[1], config.Stage(4)))
	assert.Equal(t, "class-cy", r.Participants[2].Stack())
}

// Several kind participants on one machine get ports of their own (their clusters would all ask
// for 80 and 443); one keeps the stack's usual ports; a class-wide port is refused then.
func TestKindParticipantsGetPortsOfTheirOwn(t *testing.T) {
	kc := kubeconfig(t, map[string]string{"ada": "https://10.1.0.1:6443"})
	r, err := roster(t, "participants:\n- {name: ada, kubeconfig: "+kc+", context: ada}\n- {name: bo}\n- {name: cy, provider: local}\n- {name: di, provider: kind}\n")
	require.NoError(t, err)
	ports := func(p Participant) [2]string {
		s := r.StackSettings(p, config.Stage(1))
		return [2]string{s["workshop:httpPort"], s["workshop:httpsPort"]}
	}
	assert.Equal(t, [2]string{"", ""}, ports(r.Participants[0]), "an existing cluster's ingress is its own")
	assert.Equal(t, [2]string{"20080", "20081"}, ports(r.Participants[1]))
	assert.Equal(t, [2]string{"", ""}, ports(r.Participants[2]), "a local control plane's ingress has an address of its own")
	assert.Equal(t, [2]string{"20082", "20083"}, ports(r.Participants[3]))

	one, err := roster(t, "settings: {httpPort: \"8080\"}\nparticipants:\n- {name: bo}\n- {name: cy, provider: local}\n")
	require.NoError(t, err, "one kind participant may use the class-wide port")
	assert.Equal(t, "8080", one.StackSettings(one.Participants[0], config.Stage(1))["workshop:httpPort"])

	_, err = roster(t, "settings: {workshop:httpsPort: \"8443\"}\nparticipants:\n- {name: bo}\n- {name: di}\n")
	assert.ErrorContains(t, err, "settings: workshop:httpsPort cannot be class-wide with several kind participants on this machine")
}

// Every mistake of a roster is said at once, before anything starts.
func TestARostersMistakesAreSaidAtOnce(t *testing.T) {
	kc := kubeconfig(t, map[string]string{"ada": "https://10.1.0.1:6443", "same": "https://10.1.0.1:6443"})
	_, err := roster(t, "settings: {clusterProvider: kind}\nparticipants:\n"+
		"- {name: ada, kubeconfig: "+kc+", context: ada}\n"+
		"- {name: ada, provider: local}\n"+
		"- {name: bo, kubeconfig: "+kc+", context: same}\n"+
		"- {name: cy, kubeconfig: "+kc+", context: nowhere}\n"+
		"- {name: Dee, provider: local}\n"+
		"- {name: ed, provider: local, context: ada}\n"+
		"- {name: fi, provider: cloud}\n")
	require.Error(t, err)
	for _, want := range []string{
		"settings: workshop:clusterProvider is set per participant",
		"participant 2 (ada): the name ada is listed twice",
		"participant 3 (bo): the cluster at https://10.1.0.1:6443 is ada's too: one cluster per participant",
		`participant 4 (cy): kubeconfig ` + kc + ` has no context "nowhere" (it has: ada, same)`,
		`participant 5 (Dee): name "Dee" must be lowercase letters`,
		"participant 6 (ed): kubeconfig and context are for provider existing",
		`participant 7 (fi): provider "cloud" must be existing, kind, local or minikube`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = roster(t, "participants:\n- {name: ada, cluster: x}\n")
	assert.ErrorContains(t, err, `unknown field "cluster"`, "a misspelt field is not ignored")
	_, err = roster(t, "participants: []\n")
	assert.ErrorContains(t, err, "no participants")
}
