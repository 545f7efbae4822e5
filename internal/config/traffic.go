package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ReviewsVersions are the versions of Bookinfo's reviews service the workshop deploys.
var ReviewsVersions = []string{"v1", "v2", "v3"}

// Share is a percentage of requests for one version of reviews.
type Share struct {
	Version string
	Percent int
}

// Traffic is stage 10: how reviews' ordinary traffic (not the beta testers', not the A/B
// cookie's) is shared between versions, and how much of it is mirrored to another.
type Traffic struct {
	// Weights add up to 100, in version order.
	Weights []Share
	// Mirror is the version that gets a copy of Percent of those requests; nil: no mirroring.
	Mirror *Share
}

var trafficSettings = []Setting{
	{"reviewsWeights", "v1=80,v2=20", "version=percent pairs of v1, v2, v3 adding up to 100, such as v1=90,v2=10 (a canary) or v2=100 (blue/green)",
		"how reviews' ordinary traffic is shared between its versions (stage 10 on): the canary's weights"},
	{"reviewsMirror", "v3=20", "version=percent (1–100) of v1, v2 or v3, such as v3=20, or off",
		"the version that gets a copy of that share of reviews' ordinary traffic (stage 10 on); its answers are dropped"},
}

func (l *loader) traffic() Traffic {
	var t Traffic
	raw, _ := l.val("reviewsWeights")
	shares, ok := l.shares("reviewsWeights", raw)
	total := 0
	for _, s := range shares {
		total += s.Percent
	}
	switch {
	case !ok:
	case len(shares) == 0:
		l.errs.add("reviewsWeights", raw, "must name at least one version: "+l.allowed("reviewsWeights"))
	case total != 100:
		l.errs.add("reviewsWeights", raw, fmt.Sprintf("adds up to %d: the weights must add up to 100", total))
	default:
		slices.SortFunc(shares, func(a, b Share) int { return strings.Compare(a.Version, b.Version) })
		t.Weights = shares
	}
	raw, _ = l.val("reviewsMirror")
	if raw == "off" {
		return t
	}
	mirror, ok := l.shares("reviewsMirror", raw)
	switch {
	case !ok:
	case len(mirror) != 1 || mirror[0].Percent < 1:
		l.errs.add("reviewsMirror", raw, "must be "+l.allowed("reviewsMirror")+" (one version, a percentage of 1 or more)")
	default:
		t.Mirror = &mirror[0]
	}
	return t
}

// shares reads "v1=80,v2=20"; a malformed pair, an unknown version or a version named twice is
// reported against key.
func (l *loader) shares(key, raw string) ([]Share, bool) {
	var out []Share
	ok := true
	for _, pair := range strings.Split(raw, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		version, pct, found := strings.Cut(pair, "=")
		version = strings.TrimSpace(version)
		n, err := strconv.Atoi(strings.TrimSpace(pct))
		switch {
		case !found || err != nil || n < 0 || n > 100:
			l.errs.add(key, raw, fmt.Sprintf("has %q: each pair is version=percent with a whole percentage 0–100 (%s)", pair, l.allowed(key)))
			ok = false
		case !slices.Contains(ReviewsVersions, version):
			l.errs.add(key, raw, fmt.Sprintf("names version %q: reviews has %s", version, strings.Join(ReviewsVersions, ", ")))
			ok = false
		case slices.ContainsFunc(out, func(s Share) bool { return s.Version == version }):
			l.errs.add(key, raw, fmt.Sprintf("names %s twice: give each version once", version))
			ok = false
		default:
			out = append(out, Share{version, n})
		}
	}
	return out, ok
}
