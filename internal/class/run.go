package class

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Entry is what the class's record holds of one participant: the last operation on their
// stack and how it ended, and the last verify.
type Entry struct {
	Stage   int     `json:"stage"`
	Op      string  `json:"op"`
	OK      bool    `json:"ok"`
	Error   string  `json:"error,omitempty"`
	At      string  `json:"at"`
	Seconds float64 `json:"seconds"`
	// Verify is the last verify's verdict: "pass", "fail: ..." or "" (none yet).
	Verify string `json:"verify,omitempty"`
}

// Record is the class's record of runs, by participant, kept beside the stacks' state.
type Record struct {
	path    string
	mu      sync.Mutex
	Entries map[string]Entry `json:"entries"`
}

// RecordDir is where records are kept (the project's local state, ignored by git).
const RecordDir = ".state/class"

// OpenRecord reads the record of the roster at rosterPath (an empty one the first time).
func OpenRecord(rosterPath string) (*Record, error) {
	name := strings.TrimSuffix(filepath.Base(rosterPath), filepath.Ext(rosterPath))
	r := &Record{path: filepath.Join(RecordDir, name+".json"), Entries: map[string]Entry{}}
	raw, err := os.ReadFile(r.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return r, nil
	case err != nil:
		return nil, err
	}
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, err
	}
	if r.Entries == nil {
		r.Entries = map[string]Entry{}
	}
	return r, nil
}

// Ran records an operation on participant's stack at stage (a new up or a destroy makes the last
// verify's verdict stale: it is dropped).
func (r *Record) Ran(participant string, stage int, op string, err error, took time.Duration) error {
	e := Entry{Stage: stage, Op: op, OK: err == nil, At: Now().Format(time.RFC3339), Seconds: took.Round(10 * time.Millisecond).Seconds()}
	if err != nil {
		e.Error = err.Error()
	}
	return r.put(participant, func(*Entry) Entry { return e })
}

// Verified records the verdict of a verify of participant's stack.
func (r *Record) Verified(participant, verdict string) error {
	return r.put(participant, func(old *Entry) Entry {
		old.Verify = verdict
		return *old
	})
}

// put changes participant's entry and writes the record (each result is kept as it comes: a
// class interrupted half-way still knows who is done).
func (r *Record) put(participant string, change func(*Entry) Entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.Entries[participant]
	r.Entries[participant] = change(&old)
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
		return err
	}
	tmp := r.path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, r.path)
}

// Get is participant's entry.
func (r *Record) Get(participant string) (Entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.Entries[participant]
	return e, ok
}

// Each runs do for every participant, at most parallel at a time, and returns each one's error
// in the roster's order. One participant's failure never stops another's run.
func Each(ctx context.Context, participants []Participant, parallel int, do func(context.Context, Participant) error) []error {
	parallel = max(parallel, 1)
	errs := make([]error, len(participants))
	slots := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, p := range participants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-slots }()
			errs[i] = do(ctx, p)
		}()
	}
	wg.Wait()
	return errs
}

// Now is when an entry is written (tests fix it).
var Now = func() time.Time { return time.Now().UTC() }
