package config

import (
	"fmt"
	"time"
)

// IstiodCA is stage 8: the lifetime of istiod's intermediate CA, which cert-manager issues and
// renews.
type IstiodCA struct {
	Duration    time.Duration
	RenewBefore time.Duration
}

// The intermediate lives at least a day (istiod's workload certificates last a day, and it never
// issues one that outlives its CA) and at most the workshop root's year.
const (
	MinIstiodCADuration    = 24 * time.Hour
	MaxIstiodCADuration    = 8760 * time.Hour
	minIstiodCARenewBefore = time.Hour
)

var istiodCASettings = []Setting{
	{"istiodCADuration", "2160h", "a duration 24h–8760h, such as 2160h (90 days)", "lifetime of istiod's intermediate CA (stage 8 on)"},
	{"istiodCARenewBefore", "720h", "a duration of 1h or more, shorter than istiodCADuration", "how long before its expiry cert-manager renews istiod's CA (stage 8 on)"},
}

func (l *loader) istiodCA() IstiodCA {
	duration := l.duration("istiodCADuration", MinIstiodCADuration, MaxIstiodCADuration)
	renew := l.duration("istiodCARenewBefore", minIstiodCARenewBefore, MaxIstiodCADuration)
	if duration > 0 && renew >= duration {
		v, _ := l.val("istiodCARenewBefore")
		l.errs.add("istiodCARenewBefore", v, fmt.Sprintf("must be shorter than workshop:istiodCADuration (%s): cert-manager would renew the CA as soon as it is issued", duration))
	}
	return IstiodCA{Duration: duration, RenewBefore: renew}
}

// duration reads key as a Go duration (such as 720h) within [min, max]; 0 when it is not.
func (l *loader) duration(key string, min, max time.Duration) time.Duration {
	v, _ := l.val(key)
	d, err := time.ParseDuration(v)
	if err != nil || d < min || d > max {
		l.errs.add(key, v, "must be "+l.allowed(key))
		return 0
	}
	return d
}
