package tokens

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"

	jwtv5 "github.com/golang-jwt/jwt/v5"
)

// Verify checks token the way a relying party such as Envoy does: the signature against the
// JWKS key its `kid` names, then issuer, audience and expiry. It uses a different JWT library
// from the one that signs (and reads the JWKS by hand), so the two check each other.
func Verify(token, jwks, issuer, audience string, now time.Time) (Claims, error) {
	keys, err := rsaKeys(jwks)
	if err != nil {
		return Claims{}, err
	}
	var claims struct {
		jwtv5.RegisteredClaims
		Groups []string `json:"groups"`
	}
	_, err = jwtv5.ParseWithClaims(token, &claims, func(t *jwtv5.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, fmt.Errorf("no key %q in the JWKS", kid)
	}, jwtv5.WithValidMethods([]string{string(Algorithm)}), jwtv5.WithIssuer(issuer), jwtv5.WithAudience(audience),
		jwtv5.WithExpirationRequired(), jwtv5.WithIssuedAt(), jwtv5.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		return Claims{}, err
	}
	c := Claims{Issuer: claims.Issuer, Subject: claims.Subject, Groups: claims.Groups, Expiry: claims.ExpiresAt.Time}
	if len(claims.Audience) > 0 {
		c.Audience = claims.Audience[0]
	}
	if claims.IssuedAt != nil {
		c.IssuedAt = claims.IssuedAt.Time
	}
	if claims.NotBefore != nil {
		c.NotBefore = claims.NotBefore.Time
	}
	return c, nil
}

// rsaKeys reads the RSA keys of a JWKS by key id.
func rsaKeys(jwks string) (map[string]*rsa.PublicKey, error) {
	var set struct {
		Keys []struct{ Kty, Kid, N, E string }
	}
	if err := json.Unmarshal([]byte(jwks), &set); err != nil {
		return nil, fmt.Errorf("the JWKS: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, errN := base64.RawURLEncoding.DecodeString(k.N)
		e, errE := base64.RawURLEncoding.DecodeString(k.E)
		if err := errors.Join(errN, errE); err != nil {
			return nil, fmt.Errorf("the JWKS key %q: %w", k.Kid, err)
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	if len(keys) == 0 {
		return nil, errors.New("the JWKS holds no RSA key")
	}
	return keys, nil
}
