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

// schedulingResult is figure 3: a batch against the emulator with 50 ms
// latency and server-side RPM and TPM quotas, the client configured with
// the same limits. ideal_s is the work divided by the quota (the larger of
// prompts/RPM and tokens/TPM, tokens counted as the server charges them:
// prompt tokens plus max_tokens); the server's burst allowance (10 s of
// RPM, a minute of TPM) is not credited, nor is the last reply's latency
// charged.
type schedulingResult struct {
	WallS     float64 `json:"wall_s"`
	IdealS    float64 `json:"ideal_s"`
	Ratio     float64 `json:"ratio"`
	Server429 int     `json:"server_429"`

	BaselineWallS     float64 `json:"baseline_wall_s"`
	BaselineRatio     float64 `json:"baseline_ratio"`
	BaselineServer429 int     `json:"baseline_server_429"`

	IdealRPMS float64 `json:"ideal_rpm_s"`
	IdealTPMS float64 `json:"ideal_tpm_s"`
	Prompts   int     `json:"prompts"`
	RPM       int     `json:"rpm"`
	TPM       int     `json:"tpm"`
	MaxTokens int     `json:"max_tokens"`
	LatencyMs int64   `json:"latency_ms"`

	// From the deluge client's Stats.
	Retries      int64            `json:"retries"`
	Failures     int64            `json:"failures"`
	Throttled    int64            `json:"throttled"`
	WaitedS      map[string]int64 `json:"waited_ms_total"`
	BaselineErrs int              `json:"baseline_failures"`
}

type schedulingParams struct {
	prompts, rpm int
	latency      time.Duration
}

// schedulingMaxTokens is the max_tokens of each request: the server
// charges it against TPM at admission, so it sets the token work.
const schedulingMaxTokens = 140

// tpmFor returns the TPM that goes with rpm on Azure: deployments get 6 RPM
// per 1,000 TPM.
func tpmFor(rpm int) int { return rpm * 1000 / 6 }

func runScheduling(ctx context.Context, p schedulingParams) (*schedulingResult, error) {
	tpm := tpmFor(p.rpm)
	prompts := make([]string, p.prompts)
	tokens := 0
	for i := range prompts {
		prompts[i] = fmt.Sprintf("Prompt %05d: summarize the benefits of regular exercise in one sentence.", i)
		tokens += azuretest.PromptTokens(prompts[i]) + schedulingMaxTokens
	}
	res := &schedulingResult{
		IdealRPMS: round2(float64(p.prompts) / float64(p.rpm) * 60),
		IdealTPMS: round2(float64(tokens) / float64(tpm) * 60),
		Prompts:   p.prompts, RPM: p.rpm, TPM: tpm, MaxTokens: schedulingMaxTokens,
		LatencyMs: p.latency.Milliseconds(),
	}
	res.IdealS = max(res.IdealRPMS, res.IdealTPMS)

	srv := azuretest.NewServer(azuretest.WithLatency(p.latency, 0), azuretest.WithDefaultRateLimit(p.rpm, tpm), azuretest.WithArrivalLog(0))
	defer srv.Close()
	const concurrency = 256

	// deluge: the same limits as the server.
	dc, prov, err := newDeluge(delugeConfig{endpoint: srv.URL, opts: []llm.ClientOption{
		llm.WithMaxRequestsPerMinute(p.rpm), llm.WithMaxTokensPerMinute(tpm),
		llm.WithMaxNewTokens(schedulingMaxTokens), llm.WithMaxConcurrency(concurrency),
	}})
	if err != nil {
		return nil, err
	}
	defer prov.Close()
	convs := make([]*conversation.Conversation, len(prompts))
	for i, s := range prompts {
		convs[i] = conversation.New().User(s)
	}
	srv.SetDefaultRateLimit(p.rpm, tpm) // empty the buckets
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
	res.WallS = round2(wall.Seconds())
	res.Ratio = round3(wall.Seconds() / res.IdealS)
	res.Server429 = srv.Stats().RateLimited
	res.Retries, res.Failures, res.Throttled = st.Retries, st.Failures, st.Throttled
	res.WaitedS = map[string]int64{}
	for k, d := range st.Waited {
		res.WaitedS[k] = d.Milliseconds()
	}

	// The baseline: errgroup + go-openai paced by x/time/rate.
	tr := newPooledTransport()
	defer tr.CloseIdleConnections()
	gc := newGoOpenAI(srv.URL, &http.Client{Transport: tr})
	srv.SetDefaultRateLimit(p.rpm, tpm)
	srv.ResetStats()
	runtime.GC()
	start = time.Now()
	failed, err := pacedBatch(ctx, gc, prompts, p.rpm, tpm, concurrency)
	wall = time.Since(start)
	if err != nil {
		return nil, err
	}
	res.BaselineWallS = round2(wall.Seconds())
	res.BaselineRatio = round3(wall.Seconds() / res.IdealS)
	res.BaselineServer429 = srv.Stats().RateLimited
	res.BaselineErrs = failed
	return res, nil
}

// pacedBatch is the hand-written scheduler a careful user writes with
// x/time/rate: a request limiter and a token limiter at the quota, each
// with a one-second burst, tokens estimated as prompt bytes/4 plus framing
// plus max_tokens; a 429 is retried after a second, up to 5 attempts.
// It returns how many prompts failed for good.
func pacedBatch(ctx context.Context, c *goopenai.Client, prompts []string, rpm, tpm, concurrency int) (int, error) {
	reqs := rate.NewLimiter(rate.Limit(float64(rpm)/60), max(1, rpm/60))
	toks := rate.NewLimiter(rate.Limit(float64(tpm)/60), max(1, tpm/60))
	failed := make([]bool, len(prompts))
	var g errgroup.Group
	g.SetLimit(concurrency)
	for i, prompt := range prompts {
		g.Go(func() error {
			cost := (len(prompt)+3)/4 + 7 + schedulingMaxTokens
			for attempt := 1; ; attempt++ {
				if err := reqs.Wait(ctx); err != nil {
					return err
				}
				if err := toks.WaitN(ctx, cost); err != nil {
					return err
				}
				_, err := c.CreateChatCompletion(ctx, goOpenAIRequest(prompt, schedulingMaxTokens))
				var apiErr *goopenai.APIError
				if err != nil && errors.As(err, &apiErr) && apiErr.HTTPStatusCode == http.StatusTooManyRequests && attempt < 5 {
					select {
					case <-time.After(time.Second):
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
