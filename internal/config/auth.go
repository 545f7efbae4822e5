package config

import (
	"encoding/json"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// Auth is stage 4's end-user authentication: the stack's own token issuer and its personas.
type Auth struct {
	// Issuer is the `iss` of every workshop token; RequestAuthentication trusts only it.
	Issuer string
	// Audience is the `aud` of every token; the ingress accepts only it.
	Audience string
	// TokenLifetimeHours is how long minted tokens stay valid; an `up` near expiry mints new ones.
	TokenLifetimeHours int
	// Personas are the named token holders, sorted by name.
	Personas []Persona
}

// Persona is a named participant identity: the token's subject and its `groups` claim.
type Persona struct {
	Name   string   `json:"name"`
	Groups []string `json:"groups"`
}

// ReaderGroup is the `groups` value stage 5 requires at the ingress.
const ReaderGroup = "bookinfo-readers"

// BetaGroup is the `groups` value stage 5 routes to reviews v3.
const BetaGroup = "beta-testers"

// DefaultPersonas: one persona per outcome the workshop shows. alice is a reader and a beta
// tester, bob a reader, carol has a valid token but no group.
const DefaultPersonas = `{"alice":["` + ReaderGroup + `","` + BetaGroup + `"],"bob":["` + ReaderGroup + `"],"carol":[]}`

// Reserved persona names: the probes use tokens by these names that must fail validation.
const (
	ExpiredPersona = "expired"
	ForgedPersona  = "forged"
)

var authSettings = []Setting{
	{"jwtIssuer", "https://auth.istio-workshop.local", "an https:// URL without query or fragment", "the issuer (iss) of the tokens the stack mints (stage 4 on)"},
	{"jwtAudience", "bookinfo", "lowercase letters, digits, '.' and '-'", "the audience (aud) the ingress requires (stage 4 on)"},
	{"tokenLifetimeHours", "48", "an integer 1–720", "how long minted tokens are valid; an up within the last hour mints new ones (stage 4 on)"},
	{"personas", DefaultPersonas, `a JSON object of persona name to groups, e.g. {"alice": ["bookinfo-readers"]}`, "the token holders the stack mints tokens for (stage 4 on)"},
}

func (l *loader) auth() Auth {
	a := Auth{TokenLifetimeHours: l.integer("tokenLifetimeHours", 1, 720)}
	issuer, _ := l.val("jwtIssuer")
	if u, err := url.Parse(issuer); err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		l.errs.add("jwtIssuer", issuer, "must be "+l.allowed("jwtIssuer"))
	}
	a.Issuer = issuer
	aud, _ := l.val("jwtAudience")
	if !dnsSubdomain.MatchString(aud) {
		l.errs.add("jwtAudience", aud, "must be "+l.allowed("jwtAudience"))
	}
	a.Audience = aud
	a.Personas = l.personas()
	return a
}

func (l *loader) personas() []Persona {
	raw, _ := l.val("personas")
	var m map[string][]string
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		l.errs.add("personas", raw, "must be "+l.allowed("personas")+": "+err.Error())
		return nil
	}
	if len(m) == 0 {
		l.errs.add("personas", raw, "must name at least one persona")
	}
	if dup := duplicateKeys(raw); len(dup) > 0 {
		l.errs.add("personas", raw, "names "+strings.Join(dup, ", ")+" twice: JSON keeps only the last, so list each persona once")
	}
	var ps []Persona
	for name, groups := range m {
		switch {
		case len(name) > 30 || !dnsLabel.MatchString(name):
			l.errs.add("personas", name, "is not a persona name: use lowercase letters, digits and '-', at most 30 characters")
		case name == ExpiredPersona || name == ForgedPersona:
			l.errs.add("personas", name, "is reserved for the probes' invalid tokens: choose another name")
		}
		for _, g := range groups {
			if strings.TrimSpace(g) == "" || strings.ContainsAny(g, " \t\n") {
				l.errs.add("personas", g, "is not a group of persona "+name+": groups are non-empty words without spaces")
			}
		}
		ps = append(ps, Persona{Name: name, Groups: append([]string{}, groups...)})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	return ps
}

// Persona returns the persona called name.
func (a Auth) Persona(name string) (Persona, bool) {
	for _, p := range a.Personas {
		if p.Name == name {
			return p, true
		}
	}
	return Persona{}, false
}

// HasGroup reports whether the persona's `groups` claim holds group.
func (p Persona) HasGroup(group string) bool {
	for _, g := range p.Groups {
		if g == group {
			return true
		}
	}
	return false
}

// duplicateKeys lists the keys a JSON object gives more than once (json.Unmarshal silently keeps
// the last).
func duplicateKeys(raw string) []string {
	dec := json.NewDecoder(strings.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	seen, dup := map[string]bool{}, []string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := t.(string)
		if seen[key] && !slices.Contains(dup, key) {
			dup = append(dup, key)
		}
		seen[key] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return nil
		}
	}
	return dup
}
