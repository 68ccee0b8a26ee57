package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/redisconn"
	"github.com/deluge-go/deluge/internal/redistest"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/pacing/redispacing"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// scaleoutResult is the scale-out figure: four worker processes (the
// runner re-executed) against one emulator quota, on an uneven job (one
// worker's share twice the others': 2/5, 1/5, 1/5, 1/5 of the prompts),
// three ways in the same run:
//
//   - shared: each worker told the whole quota, pacing through one Redis
//     (pacing/redispacing);
//   - static: each worker told a quarter of the quota, pacing alone;
//   - unaware: each worker told the whole quota, pacing alone.
//
// quota_used is the rate the server accepted requests at, from its first
// arrival to its last, over the quota; wall_s runs from the start of the
// workers to the end of the last.
type scaleoutResult struct {
	Workers   int     `json:"workers"`
	RPM       int     `json:"rpm"`
	TPM       int     `json:"tpm"`
	Prompts   int     `json:"prompts"`
	Shares    []int   `json:"shares"`
	LatencyMs int64   `json:"latency_ms"`
	IdealS    float64 `json:"ideal_s"`

	Shared  *scaleoutMode `json:"shared"`
	Static  *scaleoutMode `json:"static_split"`
	Unaware *scaleoutMode `json:"unaware"`
	// SharedVsStatic is the shared run's wall time over the static
	// split's (< 1: faster).
	SharedVsStatic float64 `json:"shared_vs_static"`
}

type scaleoutMode struct {
	WallS          float64   `json:"wall_s"`
	RatioToIdeal   float64   `json:"ratio_to_ideal"`
	QuotaUsed      float64   `json:"quota_used"`
	ServerRequests int       `json:"server_requests"`
	Server429      int       `json:"server_429"`
	RefusedPct     float64   `json:"refused_pct"`
	Failures       int       `json:"failures"`
	WorkerWallS    []float64 `json:"worker_wall_s"`
	ClientRetries  int64     `json:"client_retries"`
}

type scaleoutParams struct {
	prompts int
	latency time.Duration
}

// The quota: 12,000 RPM (200 requests a second), tokens to spare; 64
// max_tokens a request.
const (
	scaleoutWorkers   = 4
	scaleoutRPM       = 12_000
	scaleoutTPM       = 20_000_000
	scaleoutMaxTokens = 64
)

// scaleoutChildResult is what a worker reports on stdout.
type scaleoutChildResult struct {
	Succeeded int     `json:"succeeded"`
	Failed    int     `json:"failed"`
	WallS     float64 `json:"wall_s"`
	Retries   int64   `json:"retries"`
	Detached  int64   `json:"redis_detached"`
}

func runScaleout(ctx context.Context, p scaleoutParams) (*scaleoutResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "deluge-bench-scaleout-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rds, err := redistest.Start(dir, redistest.Options{})
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	defer rds.Stop()

	// The uneven job: worker 1 has twice the prompts of each other.
	weights := []int{2, 1, 1, 1}
	unit := p.prompts / 5
	shares := make([]int, scaleoutWorkers)
	files := make([]string, scaleoutWorkers)
	next := 0
	for i, w := range weights {
		shares[i] = w * unit
		files[i] = filepath.Join(dir, fmt.Sprintf("prompts-%d.txt", i+1))
		var b bytes.Buffer
		for range shares[i] {
			fmt.Fprintf(&b, "Prompt %06d: summarize the benefits of regular exercise in one sentence.\n", next)
			next++
		}
		if err := os.WriteFile(files[i], b.Bytes(), 0o644); err != nil {
			return nil, err
		}
	}
	total := next
	res := &scaleoutResult{
		Workers: scaleoutWorkers, RPM: scaleoutRPM, TPM: scaleoutTPM, Prompts: total, Shares: shares,
		LatencyMs: p.latency.Milliseconds(), IdealS: round2(float64(total) / scaleoutRPM * 60),
	}
	srv := azuretest.NewServer(azuretest.WithAPIKeys(benchKey), azuretest.WithLatency(p.latency, 0),
		azuretest.WithDefaultRateLimit(scaleoutRPM, scaleoutTPM))
	defer srv.Close()

	mode := func(name string, rpm int, redisURL string) (*scaleoutMode, error) {
		srv.SetDefaultRateLimit(scaleoutRPM, scaleoutTPM) // empty the windows
		srv.ResetStats()
		m := &scaleoutMode{WorkerWallS: make([]float64, scaleoutWorkers)}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		start := time.Now()
		for i := range scaleoutWorkers {
			wg.Go(func() {
				args := []string{"-scaleout-child", files[i], "-scaleout-endpoint", srv.URL, "-scaleout-rpm", strconv.Itoa(rpm)}
				if redisURL != "" {
					args = append(args, "-scaleout-redis", redisURL)
				}
				var stdout, stderr bytes.Buffer
				cmd := exec.CommandContext(ctx, exe, args...)
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				var r scaleoutChildResult
				if err == nil {
					err = json.Unmarshal(stdout.Bytes(), &r)
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("%s worker %d: %w: %s", name, i+1, err, strings.TrimSpace(stderr.String())))
					return
				}
				m.WorkerWallS[i] = round2(r.WallS)
				m.Failures += r.Failed
				m.ClientRetries += r.Retries
			})
		}
		wg.Wait()
		wall := time.Since(start)
		if len(errs) > 0 {
			return nil, errs[0]
		}
		st := srv.Stats()
		m.WallS = round2(wall.Seconds())
		m.RatioToIdeal = round3(wall.Seconds() / res.IdealS)
		m.ServerRequests, m.Server429 = st.Requests, st.RateLimited
		m.RefusedPct = pct(st.RateLimited, st.Requests)
		m.QuotaUsed = round3(acceptedRate(st.Arrivals) / (scaleoutRPM / 60.0))
		return m, nil
	}
	if res.Shared, err = mode("shared", scaleoutRPM, rds.URL()); err != nil {
		return nil, err
	}
	if res.Static, err = mode("static", scaleoutRPM/scaleoutWorkers, ""); err != nil {
		return nil, err
	}
	if res.Unaware, err = mode("unaware", scaleoutRPM, ""); err != nil {
		return nil, err
	}
	res.SharedVsStatic = round3(res.Shared.WallS / res.Static.WallS)
	return res, nil
}

// acceptedRate returns the requests the server accepted per second, from
// the first arrival to the last accepted one.
func acceptedRate(arrivals []azuretest.Arrival) float64 {
	var ok []time.Time
	for _, a := range arrivals {
		if a.Status == 200 {
			ok = append(ok, a.Time)
		}
	}
	if len(ok) < 2 {
		return 0
	}
	slices.SortFunc(ok, func(a, b time.Time) int { return a.Compare(b) })
	span := ok[len(ok)-1].Sub(arrivals[0].Time).Seconds()
	// n requests span n-1 intervals.
	return float64(len(ok)-1) / span
}

// scaleoutChild is one worker: every prompt of its file through an
// llm.Client told rpm, pacing through Redis when redisURL is set.
func scaleoutChild(file, endpoint string, rpm int, redisURL string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	var convs []*conversation.Conversation
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			convs = append(convs, conversation.New().User(line))
		}
	}
	f.Close()
	if err := sc.Err(); err != nil {
		return err
	}
	opts := []llm.ClientOption{
		llm.WithMaxRequestsPerMinute(rpm), llm.WithMaxTokensPerMinute(scaleoutTPM / max(scaleoutRPM/rpm, 1)),
		llm.WithMaxNewTokens(scaleoutMaxTokens), llm.WithMaxConcurrency(256), llm.WithMaxAttempts(20),
	}
	var lim *redispacing.Limiter
	if redisURL != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rdb, err := redisconn.Open(ctx, redisURL)
		if err != nil {
			cancel()
			return err
		}
		defer rdb.Close()
		lim, err = redispacing.New(ctx, rdb, redispacing.WithWorkers(scaleoutWorkers), redispacing.WithLogger(quietLogger))
		cancel()
		if err != nil {
			return err
		}
		defer lim.Close()
		opts = append(opts, llm.WithLimiter(lim))
	}
	c, prov, err := newDeluge(delugeConfig{endpoint: endpoint, opts: opts})
	if err != nil {
		return err
	}
	defer prov.Close()
	start := time.Now()
	results := c.Process(context.Background(), convs)
	wall := time.Since(start)
	r := scaleoutChildResult{WallS: wall.Seconds(), Retries: c.Stats().Retries}
	for _, x := range results {
		if x.Err != nil {
			r.Failed++
		} else {
			r.Succeeded++
		}
	}
	if lim != nil {
		r.Detached = lim.Stats().Detached
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}
