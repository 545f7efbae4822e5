package provider

import (
	"encoding/json"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istio-workshop/istio-workshop/internal/mockstack"
)

// The mocks that the program's unit tests run against answer as this provider does: every output
// they make up is an output of the real resource (by the provider's own schema), secret exactly
// where the provider makes it secret. A renamed or newly secret output fails here, not on a
// cluster.
func TestTheMocksAnswerAsTheProviderDoes(t *testing.T) {
	resp, err := server(t).GetSchema(p.GetSchemaRequest{})
	require.NoError(t, err)
	var schema struct {
		Resources map[string]struct {
			Properties map[string]struct {
				Secret bool `json:"secret"`
			} `json:"properties"`
		} `json:"resources"`
	}
	require.NoError(t, json.Unmarshal([]byte(resp.Schema), &schema))
	require.NotEmpty(t, mockstack.ProviderOutputs)
	for typ, answer := range mockstack.ProviderOutputs {
		res, ok := schema.Resources[typ]
		if !assert.True(t, ok, "the mocks answer for %s, which the provider does not have", typ) {
			continue
		}
		for key, v := range answer("x") {
			prop, ok := res.Properties[string(key)]
			if assert.True(t, ok, "the mocks give %s an output %q the provider does not have", typ, key) {
				assert.Equal(t, prop.Secret, v.ContainsSecrets(), "%s.%s: secret in the provider, so in the mocks (and the other way round)", typ, key)
			}
		}
	}
}
