package llm

import (
	"sync/atomic"
	"time"
)

// ProgressInfo is a snapshot of a running batch, passed to the function of
// [WithProgressFunc]. Package [github.com/deluge-go/deluge/progress]
// renders it as a bar or a log line.
type ProgressInfo struct {
	// Total is the number of prompts, or -1 when unknown (ProcessSeq and
	// ProcessJobs without [WithProgressTotal]).
	Total     int
	Done      int
	Succeeded int
	Failed    int
	InFlight  int
	// Limiter names what held dispatch back most since the previous
	// snapshot: "rpm", "tpm", "concurrency", "cooldown", or "" when
	// nothing did.
	Limiter string
	// RequestsPerSecond is the recent completion rate.
	RequestsPerSecond float64
	// Cost and Usage are those of the replies received from providers
	// (cache hits and shared replies are free and not counted).
	Cost  float64
	Usage Usage
	// Pace is the pacing of each model, as [Stats.Pace]: it shows when
	// the server allows less than the configured limits.
	Pace    []Pace
	Elapsed time.Duration
	// Final is set on the last snapshot of a batch, taken when it ends.
	Final bool
}

// batch holds the running totals of one batch, for its progress reports.
type batch struct {
	total     int
	start     time.Time
	done, ok  atomic.Int64
	failed    atomic.Int64
	in, out   atomic.Int64
	cachedIn  atomic.Int64
	reasoning atomic.Int64
	cost      atomicFloat
}

func newBatch(total int) *batch {
	return &batch{total: total, start: time.Now()}
}

func (b *batch) record(r Result) {
	b.done.Add(1)
	if r.Err != nil {
		b.failed.Add(1)
		return
	}
	b.ok.Add(1)
	if resp := r.Response; resp != nil && !resp.Cached {
		b.in.Add(int64(resp.Usage.InputTokens))
		b.out.Add(int64(resp.Usage.OutputTokens))
		b.cachedIn.Add(int64(resp.Usage.CachedInputTokens))
		b.reasoning.Add(int64(resp.Usage.ReasoningTokens))
		if resp.Cost != 0 {
			b.cost.add(resp.Cost)
		}
	}
}

// startProgress starts reporting the batch to the progress function, on a
// goroutine of its own, and returns the function that stops it after a
// final report; nil when the client has no progress function.
func (c *Client) startProgress(b *batch) (stop func()) {
	f := c.opts.progressFunc
	if f == nil {
		return nil
	}
	var (
		sample = c.sampler(b)
		quit   = make(chan struct{})
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		t := time.NewTicker(c.opts.progressEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				f(sample())
			case <-quit:
				info := sample()
				info.Final = true
				f(info)
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// sampler returns the function the reporter calls (from its one goroutine)
// to snapshot the batch. It remembers the previous sample to compute the
// recent rate and what held dispatch back since.
func (c *Client) sampler(b *batch) func() ProgressInfo {
	var (
		prevAt    time.Duration
		prevDone  int64
		prevWaits [numLimits]int64
		rate      float64
	)
	return func() ProgressInfo {
		elapsed := time.Since(b.start)
		done := b.done.Load()
		if dt := (elapsed - prevAt).Seconds(); dt > 0 {
			r := float64(done-prevDone) / dt
			if prevAt == 0 {
				rate = r
			} else {
				rate = 0.7*rate + 0.3*r // smooth the bursts of a paced batch
			}
		}
		prevAt, prevDone = elapsed, done
		limiter, most := "", int64(0)
		for k := range numLimits {
			w := c.stats.waits[k].Load()
			if d := w - prevWaits[k]; d > most {
				limiter, most = limitNames[k], d
			}
			prevWaits[k] = w
		}
		return ProgressInfo{
			Total:             b.total,
			Done:              int(done),
			Succeeded:         int(b.ok.Load()),
			Failed:            int(b.failed.Load()),
			InFlight:          int(c.stats.inFlight.Load()),
			Limiter:           limiter,
			RequestsPerSecond: rate,
			Cost:              b.cost.load(),
			Usage: Usage{
				InputTokens:       int(b.in.Load()),
				OutputTokens:      int(b.out.Load()),
				CachedInputTokens: int(b.cachedIn.Load()),
				ReasoningTokens:   int(b.reasoning.Load()),
			},
			Pace:    c.paces(),
			Elapsed: elapsed,
		}
	}
}
