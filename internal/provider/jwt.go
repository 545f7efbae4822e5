package provider

import (
	"context"
	"reflect"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/istio-workshop/istio-workshop/internal/tokens"
)

// SigningKey is the stack's JWT signing key: the private key is a secret that lives only in the
// stack's encrypted state, the JWKS a plain output that RequestAuthentication trusts. Any input
// change replaces it (and so every token signed with it).
type SigningKey struct{}

type SigningKeyArgs struct {
	KeyID string `pulumi:"keyId"`
}

type SigningKeyState struct {
	SigningKeyArgs
	PrivateKeyPEM string `pulumi:"privateKeyPem" provider:"secret"`
	JWKS          string `pulumi:"jwks"`
}

func (SigningKey) Annotate(a infer.Annotator) {
	a.Describe(&SigningKey{}, "An RSA key that signs the workshop's JWTs, and its public JWKS.")
}

func (SigningKey) WireDependencies(f infer.FieldSelector, _ *SigningKeyArgs, s *SigningKeyState) {
	f.OutputField(&s.PrivateKeyPEM).AlwaysSecret()
}

func (SigningKey) Create(ctx context.Context, req infer.CreateRequest[SigningKeyArgs]) (infer.CreateResponse[SigningKeyState], error) {
	state := SigningKeyState{SigningKeyArgs: req.Inputs}
	if req.DryRun {
		return infer.CreateResponse[SigningKeyState]{ID: req.Name, Output: state}, nil
	}
	key, jwks, err := tokens.NewSigningKey(req.Inputs.KeyID)
	if err != nil {
		return infer.CreateResponse[SigningKeyState]{}, err
	}
	state.PrivateKeyPEM, state.JWKS = key, jwks
	return infer.CreateResponse[SigningKeyState]{ID: req.Name, Output: state}, nil
}

func (SigningKey) Delete(context.Context, infer.DeleteRequest[SigningKeyState]) (infer.DeleteResponse, error) {
	return infer.DeleteResponse{}, nil
}

// Token is a JWT minted for one persona. It is a secret output. A token within renewBefore of
// its expiry is replaced on the next up, so a stack kept between workshop days keeps working;
// a token made expired on purpose (LifetimeHours <= 0, for the "expired token is refused"
// probe) never is.
type Token struct{}

type TokenArgs struct {
	PrivateKeyPEM string   `pulumi:"privateKeyPem" provider:"secret"`
	KeyID         string   `pulumi:"keyId"`
	Issuer        string   `pulumi:"issuer"`
	Audience      string   `pulumi:"audience"`
	Subject       string   `pulumi:"subject"`
	Groups        []string `pulumi:"groups"`
	// LifetimeHours <= 0 mints a token that expired that many hours (at least one) ago.
	LifetimeHours int `pulumi:"lifetimeHours"`
}

type TokenState struct {
	TokenArgs
	Token     string `pulumi:"token" provider:"secret"`
	ExpiresAt string `pulumi:"expiresAt"`
}

// renewBefore: a token this close to its expiry is minted again by the next up.
const renewBefore = time.Hour

func (Token) Annotate(a infer.Annotator) {
	a.Describe(&Token{}, "A JWT signed by the workshop's signing key for one persona.")
}

func (Token) WireDependencies(f infer.FieldSelector, _ *TokenArgs, s *TokenState) {
	f.OutputField(&s.Token).AlwaysSecret()
	f.OutputField(&s.PrivateKeyPEM).AlwaysSecret()
}

func (Token) Create(ctx context.Context, req infer.CreateRequest[TokenArgs]) (infer.CreateResponse[TokenState], error) {
	state := TokenState{TokenArgs: req.Inputs}
	if req.DryRun {
		return infer.CreateResponse[TokenState]{ID: req.Name, Output: state}, nil
	}
	in := req.Inputs
	claims := TokenClaims(in, time.Now())
	tok, err := tokens.Mint(in.PrivateKeyPEM, in.KeyID, claims)
	if err != nil {
		return infer.CreateResponse[TokenState]{}, err
	}
	state.Token, state.ExpiresAt = tok, claims.Expiry.UTC().Format(time.RFC3339)
	return infer.CreateResponse[TokenState]{ID: req.Name, Output: state}, nil
}

// TokenClaims are the claims Create signs at time now.
func TokenClaims(in TokenArgs, now time.Time) tokens.Claims {
	c := tokens.Claims{Issuer: in.Issuer, Audience: in.Audience, Subject: in.Subject, Groups: in.Groups,
		IssuedAt: now, NotBefore: now, Expiry: now.Add(time.Duration(in.LifetimeHours) * time.Hour)}
	if in.LifetimeHours <= 0 {
		ago := time.Duration(max(1, -in.LifetimeHours)) * time.Hour
		c.Expiry = now.Add(-ago)
		c.IssuedAt, c.NotBefore = c.Expiry.Add(-time.Hour), c.Expiry.Add(-time.Hour)
	}
	return c
}

// Diff replaces the token when an input changed (infer's default) or when it is about to expire.
func (Token) Diff(ctx context.Context, req infer.DiffRequest[TokenArgs, TokenState]) (infer.DiffResponse, error) {
	diff := map[string]p.PropertyDiff{}
	old, cur := reflect.ValueOf(req.State.TokenArgs), reflect.ValueOf(req.Inputs)
	for i := range old.NumField() {
		if !reflect.DeepEqual(old.Field(i).Interface(), cur.Field(i).Interface()) {
			diff[old.Type().Field(i).Tag.Get("pulumi")] = p.PropertyDiff{Kind: p.UpdateReplace, InputDiff: true}
		}
	}
	if NeedsRenewal(req.State, time.Now()) {
		diff["expiresAt"] = p.PropertyDiff{Kind: p.UpdateReplace}
	}
	return infer.DiffResponse{HasChanges: len(diff) > 0, DetailedDiff: diff}, nil
}

// NeedsRenewal reports whether a token meant to be valid expires within renewBefore of now.
func NeedsRenewal(s TokenState, now time.Time) bool {
	if s.LifetimeHours <= 0 {
		return false
	}
	exp, err := time.Parse(time.RFC3339, s.ExpiresAt)
	return err != nil || exp.Sub(now) < renewBefore
}

func (Token) Delete(context.Context, infer.DeleteRequest[TokenState]) (infer.DeleteResponse, error) {
	return infer.DeleteResponse{}, nil
}
