package workshop

import (
	"fmt"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/mockstack"
	"github.com/istio-workshop/istio-workshop/internal/outputs"
	"github.com/istio-workshop/istio-workshop/stages"
)

// The probes reach the CLI whole: marshalled by the SDK exactly as the program exports them
// (the SDK reads `pulumi` tags, not `json` ones: every field was once dropped), then read back
// by the CLI's decoder, they equal what the stages define, field by field.
func TestProbesSurvivePulumisMarshallingAndTheCLIsDecoder(t *testing.T) {
	for _, mode := range []string{"ambient", "sidecar"} {
		for stage := 1; stage <= int(stages.Last()); stage++ {
			t.Run(fmt.Sprintf("%s/%d", mode, stage), func(t *testing.T) {
				cfg, err := stages.Load("step", map[string]string{"workshop:stage": fmt.Sprint(stage), "workshop:meshMode": mode, "workshop:ingressMutualTLS": "true"})
				require.NoError(t, err)
				want := stages.Probes(cfg)
				require.NotEmpty(t, want)

				// A resource input goes through the same marshaller as a stack output.
				stack, err := mockstack.Run(t, func(ctx *pulumi.Context) error {
					var sink pulumi.CustomResourceState
					return ctx.RegisterResource("test:index:Sink", "outputs", pulumi.Map{outputs.Probes: pulumi.ToOutput(want)}, &sink)
				}, "step", nil)
				require.NoError(t, err)
				exported := resource.PropertyMap(stack.Resources["test:index:Sink outputs"]).Mappable()

				got, err := outputs.Decode(map[string]any{outputs.Stage: stage, outputs.Probes: exported[outputs.Probes]})
				require.NoError(t, err)
				// No header and an empty list of headers are the same probe (Pulumi marshals nil as []).
				require.Len(t, got.Probes, len(want))
				for i := range want {
					assert.True(t, want[i].Equal(got.Probes[i]), "probe %d:\nwant %#v\n got %#v", i, want[i], got.Probes[i])
				}
			})
		}
	}
}

func TestTheCLIRefusesProbesItCannotRun(t *testing.T) {
	_, err := outputs.Decode(map[string]any{outputs.Stage: 1, outputs.Probes: []any{map[string]any{}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `expect.outcome "" is neither "answered" nor "refused"`, "an empty probe expects nothing")
	assert.Contains(t, err.Error(), "is not an http(s) URL")

	_, err = outputs.Decode(map[string]any{outputs.Stage: 2, outputs.Probes: []any{}})
	assert.ErrorContains(t, err, "the probes output is empty")

	_, err = outputs.Decode(map[string]any{outputs.Stage: 2, outputs.Probes: []any{map[string]any{"stage": 2, "name": "x", "from": "host", "url": "https://b.localhost/", "expect": 200}}})
	assert.ErrorContains(t, err, "do not match this workshop's", "the old shape of expect")
}
