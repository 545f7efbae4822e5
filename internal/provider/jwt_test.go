package provider

import (
	"testing"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func urn(typ, name string) presource.URN {
	return presource.NewURN("test", "istio-workshop", "", tokens.Type("workshop:index:"+typ), name)
}

func tokenInputs(key string, lifetime int) property.Map {
	return property.NewMap(map[string]property.Value{
		"privateKeyPem": property.New(key).WithSecret(true),
		"keyId":         property.New("k1"),
		"issuer":        property.New("https://auth.example"),
		"audience":      property.New("bookinfo"),
		"subject":       property.New("alice"),
		"groups":        property.New([]property.Value{property.New("bookinfo-readers")}),
		"lifetimeHours": property.New(float64(lifetime)),
	})
}

// TestSigningKeyAndTokenThroughTheProvider: the key and token are secret outputs, the JWKS is
// not; a token is stable across previews and replaced near its expiry or when an input changes.
func TestSigningKeyAndTokenThroughTheProvider(t *testing.T) {
	s := server(t)
	keyResp, err := s.Create(p.CreateRequest{Urn: urn("SigningKey", "jwt"),
		Properties: property.NewMap(map[string]property.Value{"keyId": property.New("k1")})})
	require.NoError(t, err)
	key := keyResp.Properties.Get("privateKeyPem")
	assert.True(t, key.Secret(), "the private key is a secret output")
	assert.False(t, keyResp.Properties.Get("jwks").Secret(), "the JWKS is public")
	assert.Contains(t, keyResp.Properties.Get("jwks").AsString(), `"kid":"k1"`)

	in := tokenInputs(key.AsString(), 48)
	tokResp, err := s.Create(p.CreateRequest{Urn: urn("Token", "alice"), Properties: in})
	require.NoError(t, err)
	assert.True(t, tokResp.Properties.Get("token").Secret(), "the token is a secret output")
	assert.NotEmpty(t, tokResp.Properties.Get("token").AsString())
	exp, err := time.Parse(time.RFC3339, tokResp.Properties.Get("expiresAt").AsString())
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(48*time.Hour), exp, time.Minute)

	same, err := s.Diff(p.DiffRequest{Urn: urn("Token", "alice"), ID: tokResp.ID, State: tokResp.Properties, Inputs: in})
	require.NoError(t, err)
	assert.False(t, same.HasChanges, "a fresh token with the same inputs is kept")

	changed := tokenInputs(key.AsString(), 48)
	changed = changed.Set("subject", property.New("bob"))
	d, err := s.Diff(p.DiffRequest{Urn: urn("Token", "alice"), ID: tokResp.ID, State: tokResp.Properties, Inputs: changed})
	require.NoError(t, err)
	assert.True(t, d.HasChanges)
	assert.Equal(t, p.UpdateReplace, d.DetailedDiff["subject"].Kind, "a new subject replaces the token")

	nearExpiry := tokResp.Properties.Set("expiresAt", property.New(time.Now().Add(30*time.Minute).UTC().Format(time.RFC3339)))
	d, err = s.Diff(p.DiffRequest{Urn: urn("Token", "alice"), ID: tokResp.ID, State: nearExpiry, Inputs: in})
	require.NoError(t, err)
	assert.True(t, d.HasChanges, "a token about to expire is minted again")
	assert.Equal(t, p.UpdateReplace, d.DetailedDiff["expiresAt"].Kind)
}

func TestAnExpiredOnPurposeTokenIsNeverRenewed(t *testing.T) {
	in := TokenArgs{LifetimeHours: -2}
	c := TokenClaims(in, time.Now())
	assert.WithinDuration(t, time.Now().Add(-2*time.Hour), c.Expiry, time.Second)
	assert.True(t, c.IssuedAt.Before(c.Expiry))
	assert.False(t, NeedsRenewal(TokenState{TokenArgs: in, ExpiresAt: c.Expiry.Format(time.RFC3339)}, time.Now()))
	assert.True(t, NeedsRenewal(TokenState{TokenArgs: TokenArgs{LifetimeHours: 1}, ExpiresAt: "garbage"}, time.Now()))
}
