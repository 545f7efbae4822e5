package charts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/modules"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// Endpoints are what chartSource repo downloads from: each chart repository's index. (CRDs
// come from the pinned modules whatever the source.)
func Endpoints() []string {
	return []string{versions.IstioChartRepo + "/index.yaml", versions.CertManagerChartRepo + "/index.yaml"}
}

// answerTimeout bounds the check that the repositories answer: offline, a name that does not
// resolve fails at once, a network that drops packets takes this long.
const answerTimeout = 4 * time.Second

// Resolve turns chartSource auto into repo when every endpoint answers, else into module, whose
// copies must then be in the Go module cache (`workshop prepare` puts them there). It says which
// it chose and why; repo and module are returned as they are. stage is the one being applied
// (the error names the command that prepares it).
func Resolve(source config.ChartSource, v config.Versions, endpoints []string, stage config.Stage) (config.ChartSource, string, error) {
	if source != config.Auto {
		return source, "", nil
	}
	down := unanswered(endpoints)
	if len(down) == 0 {
		return config.Repo, "workshop:chartSource auto: charts from the official repositories (they answer)", nil
	}
	var missing []string
	for _, m := range Modules(v) {
		if _, err := modules.Cached(m); err != nil {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return "", "", fmt.Errorf("workshop:chartSource auto: the official chart repositories do not answer (%s) and the charts' offline copies are not on this machine (%s): "+
			"run `scripts/workshop prepare %d` once while online (it caches them), or check this machine's network",
			strings.Join(down, "; "), strings.Join(missing, ", "), stage)
	}
	return config.Module, fmt.Sprintf("workshop:chartSource auto: charts from the pinned Go modules, as the official repositories do not answer (%s); "+
		"set workshop:chartSource module to keep it so", strings.Join(down, "; ")), nil
}

// unanswered lists the endpoints that do not answer a HEAD request with a status below 500, each
// as "host: reason".
func unanswered(endpoints []string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), answerTimeout)
	defer cancel()
	var mu sync.Mutex
	var down []string
	var wg sync.WaitGroup
	for _, endpoint := range endpoints {
		wg.Go(func() {
			if err := head(ctx, endpoint); err != nil {
				mu.Lock()
				down = append(down, fmt.Sprintf("%s: %s", hostOf(endpoint), shortReason(err)))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(down)
	return down
}

func head(ctx context.Context, endpoint string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, endpoint, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var uerr interface{ Unwrap() error }
		if errors.As(err, &uerr) {
			return uerr.Unwrap()
		}
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}

// shortReason is the last part of a network error ("network is unreachable", "no such host").
func shortReason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}
