package charts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/istio-workshop/istio-workshop/internal/config"
	"github.com/istio-workshop/istio-workshop/internal/versions"
)

// Endpoints are what chartSource repo downloads from: each chart repository's index and the
// Gateway API's release manifest.
func Endpoints(gatewayAPI string) []string {
	return []string{
		versions.IstioChartRepo + "/index.yaml",
		versions.CertManagerChartRepo + "/index.yaml",
		gatewayAPIRelease(gatewayAPI),
	}
}

// answerTimeout bounds the check that the repositories answer: offline, a name that does not
// resolve fails at once, a network that drops packets takes this long.
const answerTimeout = 4 * time.Second

// Resolve turns chartSource auto into repo when every endpoint answers, else into module, whose
// copies must then be in the Go module cache (`workshop prepare` puts them there). It says which
// it chose and why; repo and module are returned as they are.
func Resolve(source config.ChartSource, endpoints []string) (config.ChartSource, string, error) {
	if source != config.Auto {
		return source, "", nil
	}
	down := unanswered(endpoints)
	if len(down) == 0 {
		return config.Repo, "workshop:chartSource auto: charts from the official repositories (they answer)", nil
	}
	var missing []string
	for _, m := range Modules() {
		if _, err := cachedModuleDir(m); err != nil {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return "", "", fmt.Errorf("workshop:chartSource auto: the official chart repositories do not answer (%s) and the charts' offline copies are not on this machine (%s): "+
			"run `scripts/workshop prepare %d` once while online (it caches them), or check this machine's network",
			strings.Join(down, "; "), strings.Join(missing, ", "), config.AvailableUpTo())
	}
	return config.Module, fmt.Sprintf("workshop:chartSource auto: charts from the pinned Go modules, as the official repositories do not answer (%s); "+
		"set workshop:chartSource module to keep it so", strings.Join(down, "; ")), nil
}

// unanswered lists the endpoints that do not answer a HEAD request with a status below 500, each
// with the reason.
func unanswered(endpoints []string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), answerTimeout)
	defer cancel()
	var mu sync.Mutex
	var down []string
	var wg sync.WaitGroup
	for _, url := range endpoints {
		wg.Go(func() {
			err := head(ctx, url)
			if err != nil {
				mu.Lock()
				down = append(down, fmt.Sprintf("%s: %v", url, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return down
}

func head(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
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
