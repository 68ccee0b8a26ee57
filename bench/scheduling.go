package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"time"

	goopenai "github.com/sashabaranov/go-openai"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// schedulingResult is figure 3: batches against the emulator, which
// enforces Azure's quota windows (at most ⌈RPM/60⌉ requests in a clock
// second and RPM/6 in ten seconds, tokens per minute) and answers after
// 50 ms, in three shapes; deluge and the hand-written baseline run each
// shape against the same server, one after the other.
type schedulingResult struct {
	RPMBound       *shapeResult `json:"rpm_bound"`
	TPMBound       *shapeResult `json:"tpm_bound"`
	OverConfigured *shapeResult `json:"over_configured"`
	LatencyMs      int64        `json:"latency_ms"`
}

// shapeResult is one shape of the scheduling figure. ideal_s is the work
// divided by the quota: the larger of prompts/RPM and tokens/TPM, tokens
// counted as the server charges them (prompt tokens plus max_tokens); the
// last reply's latency is not charged. refused_pct is the server's 429s
// over the requests it received.
type shapeResult struct {
	Prompts   int `json:"prompts"`
	RPM       int `json:"rpm"`
	TPM       int `json:"tpm"`
	ClientRPM int `json:"client_rpm"`
	ClientTPM int `json:"client_tpm"`
	MaxTokens int `json:"max_tokens"`

	IdealS    float64 `json:"ideal_s"`
	IdealRPMS float64 `json:"ideal_rpm_s"`
	IdealTPMS float64 `json:"ideal_tpm_s"`

	WallS          float64 `json:"wall_s"`
	Ratio          float64 `json:"ratio"`
	Server429      int     `json:"server_429"`
	ServerRequests int     `json:"server_requests"`
	RefusedPct     float64 `json:"refused_pct"`
	// From deluge's Stats.
	Retries   int64            `json:"retries"`
	Failures  int64            `json:"failures"`
	Throttled int64            `json:"throttled"`
	WaitedMs  map[string]int64 `json:"waited_ms_total"`
	FoundRPM  int              `json:"found_rpm"`
	FoundTPM  int              `json:"found_tpm"`
	ServerRPM int              `json:"server_rpm_from_headers"`

	BaselineWallS          float64 `json:"baseline_wall_s"`
	BaselineRatio          float64 `json:"baseline_ratio"`
	BaselineServer429      int     `json:"baseline_server_429"`
	BaselineServerRequests int     `json:"baseline_server_requests"`
	BaselineRefusedPct     float64 `json:"baseline_refused_pct"`
	BaselineFailures       int     `json:"baseline_failures"`
}

// shape is one batch of the scheduling figure: the server's quota, the
// request size, and how far above the quota the clients are configured.
type shape struct {
	name             string
	prompts          int
	rpm, tpm         int
	maxTokens        int
	overConfigured   float64 // client limits = quota × (1 + this)
	latency          time.Duration
	concurrency      int
	baselineRetryGap time.Duration
}

type schedulingParams struct {
	rpmPrompts, tpmPrompts int
	latency                time.Duration
}

// The shapes: 200 requests a second, tokens to spare (RPM-bound); 1,000
// max_tokens per request at 6 M TPM, about 98 requests a second (TPM-bound);
// the first with both clients told 30% more than the quota. At these rates
// a shape takes about 15 s per contender in a full run, 3 s in -quick.
func schedulingShapes(p schedulingParams) []shape {
	return []shape{
		{name: "rpm_bound", prompts: p.rpmPrompts, rpm: 12_000, tpm: 2_000_000, maxTokens: 64},
		{name: "tpm_bound", prompts: p.tpmPrompts, rpm: 36_000, tpm: 6_000_000, maxTokens: 1000},
		{name: "over_configured", prompts: p.rpmPrompts, rpm: 12_000, tpm: 2_000_000, maxTokens: 64, overConfigured: 0.30},
	}
}

func runScheduling(ctx context.Context, p schedulingParams) (*schedulingResult, error) {
	res := &schedulingResult{LatencyMs: p.latency.Milliseconds()}
	for _, s := range schedulingShapes(p) {
		s.latency, s.concurrency, s.baselineRetryGap = p.latency, 256, time.Second
		r, err := runShape(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		switch s.name {
		case "rpm_bound":
			res.RPMBound = r
		case "tpm_bound":
			res.TPMBound = r
		case "over_configured":
			res.OverConfigured = r
		}
	}
	return res, nil
}

func runShape(ctx context.Context, s shape) (*shapeResult, error) {
	prompts := make([]string, s.prompts)
	tokens := 0
	for i := range prompts {
		prompts[i] = fmt.Sprintf("Prompt %05d: summarize the benefits of regular exercise in one sentence.", i)
		tokens += azuretest.PromptTokens(prompts[i]) + s.maxTokens
	}
	clientRPM := int(float64(s.rpm) * (1 + s.overConfigured))
	clientTPM := int(float64(s.tpm) * (1 + s.overConfigured))
	res := &shapeResult{
		Prompts: s.prompts, RPM: s.rpm, TPM: s.tpm, ClientRPM: clientRPM, ClientTPM: clientTPM, MaxTokens: s.maxTokens,
		IdealRPMS: round2(float64(s.prompts) / float64(s.rpm) * 60),
		IdealTPMS: round2(float64(tokens) / float64(s.tpm) * 60),
	}
	res.IdealS = max(res.IdealRPMS, res.IdealTPMS)

	srv := azuretest.NewServer(azuretest.WithLatency(s.latency, 0), azuretest.WithDefaultRateLimit(s.rpm, s.tpm), azuretest.WithArrivalLog(0))
	defer srv.Close()

	// deluge, told clientRPM and clientTPM.
	dc, prov, err := newDeluge(delugeConfig{endpoint: srv.URL, opts: []llm.ClientOption{
		llm.WithMaxRequestsPerMinute(clientRPM), llm.WithMaxTokensPerMinute(clientTPM),
		llm.WithMaxNewTokens(s.maxTokens), llm.WithMaxConcurrency(s.concurrency),
	}})
	if err != nil {
		return nil, err
	}
	defer prov.Close()
	convs := make([]*conversation.Conversation, len(prompts))
	for i, p := range prompts {
		convs[i] = conversation.New().User(p)
	}
	srv.SetDefaultRateLimit(s.rpm, s.tpm) // empty the windows
	srv.ResetStats()
	runtime.GC()
	start := time.Now()
	results := dc.Process(ctx, convs)
	wall := time.Since(start)
	for i, r := range results {
		if r.Err != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("deluge: prompt %d: %w", i, r.Err)
		}
	}
	st := dc.Stats()
	ss := srv.Stats()
	res.WallS = round2(wall.Seconds())
	res.Ratio = round3(wall.Seconds() / res.IdealS)
	res.Server429, res.ServerRequests = ss.RateLimited, ss.Requests
	res.RefusedPct = pct(ss.RateLimited, ss.Requests)
	res.Retries, res.Failures, res.Throttled = st.Retries, st.Failures, st.Throttled
	res.WaitedMs = map[string]int64{}
	for k, d := range st.Waited {
		res.WaitedMs[k] = d.Milliseconds()
	}
	if len(st.Pace) > 0 {
		res.FoundRPM, res.FoundTPM = st.Pace[0].Found.RequestsPerMinute, st.Pace[0].Found.TokensPerMinute
		res.ServerRPM = st.Pace[0].Server.RequestsPerMinute
	}

	// The baseline: errgroup + go-openai paced by x/time/rate, told the
	// same limits.
	tr := newPooledTransport()
	defer tr.CloseIdleConnections()
	gc := newGoOpenAI(srv.URL, &http.Client{Transport: tr})
	srv.SetDefaultRateLimit(s.rpm, s.tpm)
	srv.ResetStats()
	runtime.GC()
	start = time.Now()
	failed, err := pacedBatch(ctx, gc, prompts, clientRPM, clientTPM, s)
	wall = time.Since(start)
	if err != nil {
		return nil, err
	}
	ss = srv.Stats()
	res.BaselineWallS = round2(wall.Seconds())
	res.BaselineRatio = round3(wall.Seconds() / res.IdealS)
	res.BaselineServer429, res.BaselineServerRequests = ss.RateLimited, ss.Requests
	res.BaselineRefusedPct = pct(ss.RateLimited, ss.Requests)
	res.BaselineFailures = failed
	return res, nil
}

func pct(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return round3(100 * float64(part) / float64(whole))
}

// pacedBatch is the hand-written scheduler a careful user writes with
// x/time/rate: a request limiter at rpm with a burst of 1, and a token
// limiter at tpm with the smallest burst that admits one request (WaitN
// needs n ≤ burst), tokens estimated as prompt bytes/4 plus framing plus
// max_tokens; a 429 is retried after a second, up to 5 attempts. It
// returns how many prompts failed for good.
func pacedBatch(ctx context.Context, c *goopenai.Client, prompts []string, rpm, tpm int, s shape) (int, error) {
	cost := func(prompt string) int { return (len(prompt)+3)/4 + 7 + s.maxTokens }
	most := 1
	for _, p := range prompts {
		most = max(most, cost(p))
	}
	reqs := rate.NewLimiter(rate.Limit(float64(rpm)/60), 1)
	toks := rate.NewLimiter(rate.Limit(float64(tpm)/60), most)
	failed := make([]bool, len(prompts))
	var g errgroup.Group
	g.SetLimit(s.concurrency)
	for i, prompt := range prompts {
		g.Go(func() error {
			for attempt := 1; ; attempt++ {
				if err := reqs.Wait(ctx); err != nil {
					return err
				}
				if err := toks.WaitN(ctx, cost(prompt)); err != nil {
					return err
				}
				_, err := c.CreateChatCompletion(ctx, goOpenAIRequest(prompt, s.maxTokens))
				var apiErr *goopenai.APIError
				if err != nil && errors.As(err, &apiErr) && apiErr.HTTPStatusCode == http.StatusTooManyRequests && attempt < 5 {
					select {
					case <-time.After(s.baselineRetryGap):
						continue
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				failed[i] = err != nil
				return nil
			}
		})
	}
	err := g.Wait()
	n := 0
	for _, f := range failed {
		if f {
			n++
		}
	}
	return n, err
}
