package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzLoad: whatever a stack file holds, Load never panics, and every refusal names the key it is
// about (a workshop setting, or a key of another namespace given whole) and says something.
// `go test -fuzz FuzzLoad ./internal/config` runs it longer.
func FuzzLoad(f *testing.F) {
	f.Add("step4", "workshop:stage", "4", "workshop:meshMode", "sidecar")
	f.Add("dev", "istio-workshop:stage", "5", "workshop:personas", `{"dana": ["bookinfo-readers"]}`)
	f.Add("step6", "workshop:egressHosts", "https://x", "workshop:httpPort", "-1")
	f.Add("step2", "workshop:clusterProvider", "existing", "workshop:kubeconfig", "/nonexistent")
	f.Add("", "workshop:stage", "", "workshop:tokenLifetimeHours", "1e9")
	f.Fuzz(func(t *testing.T, stack, k1, v1, k2, v2 string) {
		_, err := load(stack, map[string]string{k1: v1, k2: v2})
		if err == nil {
			return
		}
		var errs Errors
		if !errors.As(err, &errs) {
			t.Fatalf("a refusal that is not a list of settings' problems: %v", err)
		}
		for _, e := range errs {
			_, known := knownSetting(e.Key)
			given := e.Key == k1 || e.Key == k2 || Namespace+":"+e.Key == k1 || Namespace+":"+e.Key == k2
			if !known && !given {
				t.Errorf("refusal about %q, neither a setting nor a key given: %v", e.Key, e)
			}
			if strings.TrimSpace(e.Problem) == "" {
				t.Errorf("refusal of %q says nothing", e.Key)
			}
		}
	})
}

func knownSetting(key string) (Setting, bool) {
	for _, s := range Settings {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}
