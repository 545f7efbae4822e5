package workshop

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Moving the canary is one setting, and it changes the weights of reviews' everyone-else route,
// nothing else in the stack: what a reviewer reads in the preview.
func TestMovingTheCanaryChangesOnlyTheWeights(t *testing.T) {
	for _, mode := range []string{"ambient", "sidecar"} {
		t.Run(mode, func(t *testing.T) {
			before, err := run(t, "step10", map[string]string{"workshop:meshMode": mode, "workshop:reviewsWeights": "v1=80,v2=20"})
			require.NoError(t, err)
			after, err := run(t, "step10", map[string]string{"workshop:meshMode": mode, "workshop:reviewsWeights": "v1=50,v2=50"})
			require.NoError(t, err)
			const vs = "kubernetes:networking.istio.io/v1:VirtualService bookinfo-reviews"
			for k, inputs := range before.Resources {
				if k != vs && !isProbeExport(k) {
					assert.True(t, inputs.DeepEquals(after.Resources[k]), "moving the canary changes %s", k)
				}
			}
			weights := func(m map[string]any) []any {
				routes := m["spec"].(map[string]any)["http"].([]any)
				everyoneElse := routes[len(routes)-1].(map[string]any)
				var out []any
				for _, d := range everyoneElse["route"].([]any) {
					d := d.(map[string]any)
					out = append(out, d["weight"])
					delete(d, "weight")
				}
				return out
			}
			b, a := before.Resources[vs].Mappable(), after.Resources[vs].Mappable()
			assert.Equal(t, []any{80.0, 20.0}, weights(b))
			assert.Equal(t, []any{50.0, 50.0}, weights(a))
			bj, _ := json.Marshal(b)
			aj, _ := json.Marshal(a)
			assert.JSONEq(t, string(bj), string(aj), "apart from the weights, the route is the same")
		})
	}
}
