package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"time"

	goopenai "github.com/sashabaranov/go-openai"
	"golang.org/x/sync/errgroup"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// throughputResult is figure 2: a batch through Process against the
// zero-latency emulator, against an errgroup + go-openai loop with the
// same concurrency limit. Latency is per request, from dispatch (after
// the concurrency slot is taken) to the parsed reply.
type throughputResult struct {
	DelugeRPS     float64 `json:"deluge_rps"`
	BaselineRPS   float64 `json:"baseline_rps"`
	Ratio         float64 `json:"ratio"`
	P50Ms         float64 `json:"p50_ms"`
	P99Ms         float64 `json:"p99_ms"`
	BaselineP50Ms float64 `json:"baseline_p50_ms"`
	BaselineP99Ms float64 `json:"baseline_p99_ms"`

	// CPU time of the whole process (client, emulator, runtime) per
	// request, and the throughput ratio it implies on a machine with
	// nothing else to run: baseline CPU / deluge CPU.
	DelugeCPUUsPerReq   float64 `json:"deluge_cpu_us_per_req"`
	BaselineCPUUsPerReq float64 `json:"baseline_cpu_us_per_req"`
	CPURatio            float64 `json:"cpu_ratio"`

	DelugeRPSRounds   []float64 `json:"deluge_rps_rounds"`
	BaselineRPSRounds []float64 `json:"baseline_rps_rounds"`
	Prompts           int       `json:"prompts"`
	Concurrency       int       `json:"concurrency"`
	Rounds            int       `json:"rounds"`
}

type throughputParams struct {
	prompts, concurrency, rounds int
}

// batchPrompts returns n distinct prompts.
func batchPrompts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("Prompt %06d: count to 10, with a comma between each number and a period at the end.", i)
	}
	return out
}

func runThroughput(ctx context.Context, p throughputParams) (*throughputResult, error) {
	srv := azuretest.NewServer(azuretest.WithArrivalLog(0))
	defer srv.Close()
	dc, prov, err := newDeluge(delugeConfig{endpoint: srv.URL, opts: []llm.ClientOption{llm.WithMaxConcurrency(p.concurrency)}})
	if err != nil {
		return nil, err
	}
	defer prov.Close()
	tr := newPooledTransport()
	defer tr.CloseIdleConnections()
	gc := newGoOpenAI(srv.URL, &http.Client{Transport: tr})

	prompts := batchPrompts(p.prompts)
	convs := make([]*conversation.Conversation, len(prompts))
	for i, s := range prompts {
		convs[i] = conversation.New().User(s)
	}
	// Warm up: open the connections and grow the pools.
	warm := min(len(prompts), 4*p.concurrency)
	if _, _, err := processBatch(ctx, dc, convs[:warm]); err != nil {
		return nil, err
	}
	if _, _, err := errgroupBatch(ctx, gc, prompts[:warm], p.concurrency); err != nil {
		return nil, err
	}

	var dRPS, bRPS, dCPU, bCPU []float64
	var dLat, bLat []float64
	for r := range p.rounds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		order := []bool{true, false}
		if r%2 == 1 {
			order = []bool{false, true}
		}
		for _, deluge := range order {
			runtime.GC()
			var (
				wall time.Duration
				lat  []float64
				err  error
			)
			cpu0 := cpuTime()
			if deluge {
				wall, lat, err = processBatch(ctx, dc, convs)
			} else {
				wall, lat, err = errgroupBatch(ctx, gc, prompts, p.concurrency)
			}
			cpu := float64(cpuTime()-cpu0) / 1e3 / float64(len(prompts))
			if err != nil {
				return nil, err
			}
			rps := float64(len(prompts)) / wall.Seconds()
			if deluge {
				dRPS, dLat, dCPU = append(dRPS, round1(rps)), append(dLat, lat...), append(dCPU, cpu)
			} else {
				bRPS, bLat, bCPU = append(bRPS, round1(rps)), append(bLat, lat...), append(bCPU, cpu)
			}
		}
	}
	slices.Sort(dLat)
	slices.Sort(bLat)
	return &throughputResult{
		DelugeRPS:           round1(median(dRPS)),
		BaselineRPS:         round1(median(bRPS)),
		Ratio:               round3(median(ratios(dRPS, bRPS))),
		P50Ms:               round3(percentile(dLat, 50)),
		P99Ms:               round3(percentile(dLat, 99)),
		BaselineP50Ms:       round3(percentile(bLat, 50)),
		BaselineP99Ms:       round3(percentile(bLat, 99)),
		DelugeCPUUsPerReq:   round2(median(dCPU)),
		BaselineCPUUsPerReq: round2(median(bCPU)),
		CPURatio:            round3(median(ratios(bCPU, dCPU))),
		DelugeRPSRounds:     dRPS,
		BaselineRPSRounds:   bRPS,
		Prompts:             p.prompts,
		Concurrency:         p.concurrency,
		Rounds:              p.rounds,
	}, nil
}

// processBatch runs convs through Process and returns the wall time and
// each request's latency in milliseconds.
func processBatch(ctx context.Context, c *llm.Client, convs []*conversation.Conversation) (time.Duration, []float64, error) {
	start := time.Now()
	results := c.Process(ctx, convs)
	wall := time.Since(start)
	lat := make([]float64, len(results))
	for i, r := range results {
		if r.Err != nil {
			return 0, nil, fmt.Errorf("deluge: prompt %d: %w", i, r.Err)
		}
		if r.Response.Completion == "" {
			return 0, nil, fmt.Errorf("deluge: prompt %d: empty reply", i)
		}
		lat[i] = float64(r.Response.Latency) / 1e6
	}
	return wall, lat, nil
}

// errgroupBatch is the hand-written baseline: one goroutine per prompt
// under an errgroup limit, raw go-openai calls, replies kept in input order.
func errgroupBatch(ctx context.Context, c *goopenai.Client, prompts []string, concurrency int) (time.Duration, []float64, error) {
	replies := make([]string, len(prompts))
	lat := make([]float64, len(prompts))
	start := time.Now()
	var g errgroup.Group
	g.SetLimit(concurrency)
	for i, prompt := range prompts {
		g.Go(func() error {
			t0 := time.Now()
			r, err := c.CreateChatCompletion(ctx, goOpenAIRequest(prompt, benchMaxTokens))
			lat[i] = float64(time.Since(t0)) / 1e6
			if err != nil {
				return fmt.Errorf("baseline: prompt %d: %w", i, err)
			}
			if len(r.Choices) == 0 || r.Choices[0].Message.Content == "" {
				return errors.New("baseline: empty reply")
			}
			replies[i] = r.Choices[0].Message.Content
			return nil
		})
	}
	err := g.Wait()
	return time.Since(start), lat, err
}
