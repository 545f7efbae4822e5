package tokens

import (
	"testing"
	"time"

	jwtv5 "github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func claims(now time.Time, lifetime time.Duration) Claims {
	return Claims{Issuer: "https://auth.example", Audience: "bookinfo", Subject: "alice", Groups: []string{"readers"},
		IssuedAt: now, NotBefore: now, Expiry: now.Add(lifetime)}
}

func verify(token, jwks string) (Claims, error) {
	return Verify(token, jwks, "https://auth.example", "bookinfo", time.Now())
}

func TestAMintedTokenValidatesAgainstThePublishedJWKS(t *testing.T) {
	key, jwks, err := NewSigningKey("k1")
	require.NoError(t, err)
	assert.NotContains(t, jwks, "PRIVATE", "the JWKS holds only the public key")
	assert.NotContains(t, jwks, `"d"`, "no private exponent in the JWKS")
	token, err := Mint(key, "k1", claims(time.Now(), time.Hour))
	require.NoError(t, err)

	c, err := verify(token, jwks)
	require.NoError(t, err)
	assert.Equal(t, "alice", c.Subject)
	assert.Equal(t, []string{"readers"}, c.Groups)
	assert.WithinDuration(t, time.Now().Add(time.Hour), c.Expiry, 2*time.Second)
}

func TestATokenSignedByAnotherKeyDoesNotValidate(t *testing.T) {
	_, jwks, err := NewSigningKey("k1")
	require.NoError(t, err)
	other, _, err := NewSigningKey("k1") // same kid, different key: a forgery
	require.NoError(t, err)
	token, err := Mint(other, "k1", claims(time.Now(), time.Hour))
	require.NoError(t, err)
	_, err = verify(token, jwks)
	assert.ErrorIs(t, err, jwtv5.ErrTokenSignatureInvalid)

	unknownKid, err := Mint(other, "k2", claims(time.Now(), time.Hour))
	require.NoError(t, err)
	_, err = verify(unknownKid, jwks)
	assert.ErrorContains(t, err, `no key "k2"`)
}

func TestAnExpiredTokenDoesNotValidate(t *testing.T) {
	key, jwks, err := NewSigningKey("k1")
	require.NoError(t, err)
	token, err := Mint(key, "k1", claims(time.Now().Add(-2*time.Hour), time.Hour))
	require.NoError(t, err)
	_, err = verify(token, jwks)
	assert.ErrorIs(t, err, jwtv5.ErrTokenExpired)
}

func TestWrongAudienceAndIssuerDoNotValidate(t *testing.T) {
	key, jwks, err := NewSigningKey("k1")
	require.NoError(t, err)
	c := claims(time.Now(), time.Hour)
	c.Audience = "someone-else"
	token, err := Mint(key, "k1", c)
	require.NoError(t, err)
	_, err = verify(token, jwks)
	assert.ErrorIs(t, err, jwtv5.ErrTokenInvalidAudience)

	c = claims(time.Now(), time.Hour)
	c.Issuer = "https://evil.example"
	token, err = Mint(key, "k1", c)
	require.NoError(t, err)
	_, err = verify(token, jwks)
	assert.ErrorIs(t, err, jwtv5.ErrTokenInvalidIssuer)
}

func TestGroupsIsAlwaysAList(t *testing.T) {
	key, jwks, err := NewSigningKey("k1")
	require.NoError(t, err)
	c := claims(time.Now(), time.Hour)
	c.Groups = nil
	token, err := Mint(key, "k1", c)
	require.NoError(t, err)
	got, err := verify(token, jwks)
	require.NoError(t, err)
	assert.NotNil(t, got.Groups, "an empty list, not a missing claim")
	assert.Empty(t, got.Groups)
}

func TestBadInputsAreNamed(t *testing.T) {
	_, err := Mint("not a key", "k1", claims(time.Now(), time.Hour))
	assert.ErrorContains(t, err, "not PEM")
	_, err = Verify("x.y.z", "not json", "i", "a", time.Now())
	assert.ErrorContains(t, err, "the JWKS")
	_, err = Verify("x.y.z", `{"keys":[]}`, "i", "a", time.Now())
	assert.ErrorContains(t, err, "no RSA key")
}
