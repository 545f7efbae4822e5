// Package tokens is the workshop's own token issuer: an RSA signing key, the JWKS that Istio's
// RequestAuthentication trusts, and JWTs minted for the workshop's personas. Everything here is
// deterministic given the key, so the provider can keep keys and tokens in the stack's secrets.
package tokens

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Algorithm is the JWS algorithm of every workshop token (Istio accepts RS256 JWKS keys).
const Algorithm = jose.RS256

// keyBits is the RSA modulus size: 2048 is the minimum current guidance accepts.
const keyBits = 2048

// NewSigningKey makes an RSA signing key. It returns the key (PKCS#8 PEM, a secret) and the
// public JWKS that verifies tokens signed with it under key id kid.
func NewSigningKey(kid string) (keyPEM, jwks string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	jwks, err = JWKS(kid, &key.PublicKey)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), jwks, nil
}

// JWKS is the JSON Web Key Set holding pub, as RequestAuthentication's `jwks` field takes it.
func JWKS(kid string, pub *rsa.PublicKey) (string, error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: kid, Algorithm: string(Algorithm), Use: "sig"}}}
	raw, err := json.Marshal(set)
	return string(raw), err
}

// Claims are the claims of a workshop token.
type Claims struct {
	Issuer   string
	Audience string
	Subject  string
	// Groups is the `groups` claim that stage 5's authorization policies match.
	Groups    []string
	IssuedAt  time.Time
	NotBefore time.Time
	Expiry    time.Time
}

// Mint signs claims with the key (PEM from NewSigningKey) under key id kid.
func Mint(keyPEM, kid string, c Claims) (string, error) {
	key, err := parseKey(keyPEM)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: Algorithm, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	std := jwt.Claims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  jwt.Audience{c.Audience},
		IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
		NotBefore: jwt.NewNumericDate(c.NotBefore),
		Expiry:    jwt.NewNumericDate(c.Expiry),
	}
	// Always a list, even when empty: policies match `request.auth.claims[groups]` values.
	groups := struct {
		Groups []string `json:"groups"`
	}{Groups: append([]string{}, c.Groups...)}
	return jwt.Signed(signer).Claims(std).Claims(groups).Serialize()
}

func parseKey(keyPEM string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		return nil, errors.New("the signing key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the signing key: %w", err)
	}
	rsaKey, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the signing key is a %T, not RSA", k)
	}
	return rsaKey, nil
}
