package llm

import (
	"os"
	"sync/atomic"
	"time"

	"github.com/deluge-go/deluge/internal/progress"
)

// Progress refresh intervals: the bar redraws often, the callback runs
// about once a second, and the plain log line is written every
// progressLogEvery so a log file gets a heartbeat, not a flood.
const (
	progressBarEvery  = 200 * time.Millisecond
	progressTickEvery = 500 * time.Millisecond
	progressFuncEvery = time.Second
	progressLogEvery  = 10 * time.Second
)

// batch holds the running totals of one Process call, for its progress
// display.
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

// startProgress starts the displays o asks for, or returns nil.
func (c *Client) startProgress(o *options, b *batch) *progress.Reporter {
	var (
		renderers progress.Multi
		every     = progressTickEvery
	)
	if f := o.progressFunc; f != nil {
		renderers = append(renderers, progress.NewFunc(func(s progress.Snapshot) { f(progressInfo(s)) }, progressFuncEvery))
	}
	w := o.progressWriter
	if w == nil {
		w = os.Stderr
	}
	mode := o.progressMode
	if mode == ProgressAuto {
		mode = ProgressLog
		if progress.IsTerminal(w) {
			mode = ProgressBar
		}
	}
	switch mode {
	case ProgressBar:
		renderers = append(renderers, progress.NewBar(w, b.total))
		every = progressBarEvery
	case ProgressLog:
		renderers = append(renderers, progress.NewLog(w, progressLogEvery))
	}
	if len(renderers) == 0 {
		return nil
	}
	return progress.Start(c.sampler(b), renderers, every)
}

// sampler returns the function the reporter calls (from its one goroutine)
// to snapshot the batch. It remembers the previous sample to compute the
// recent rate and what held dispatch back since.
func (c *Client) sampler(b *batch) func() progress.Snapshot {
	var (
		prevAt    time.Duration
		prevDone  int64
		prevWaits [numLimits]int64
		rate      float64
	)
	return func() progress.Snapshot {
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
		return progress.Snapshot{
			Total:             b.total,
			Done:              int(done),
			Succeeded:         int(b.ok.Load()),
			Failed:            int(b.failed.Load()),
			InFlight:          int(c.stats.inFlight.Load()),
			Limiter:           limiter,
			Rate:              rate,
			Cost:              b.cost.load(),
			InputTokens:       int(b.in.Load()),
			OutputTokens:      int(b.out.Load()),
			CachedInputTokens: int(b.cachedIn.Load()),
			ReasoningTokens:   int(b.reasoning.Load()),
			Elapsed:           elapsed,
		}
	}
}

func progressInfo(s progress.Snapshot) ProgressInfo {
	return ProgressInfo{
		Total:             s.Total,
		Done:              s.Done,
		Succeeded:         s.Succeeded,
		Failed:            s.Failed,
		InFlight:          s.InFlight,
		Limiter:           s.Limiter,
		RequestsPerSecond: s.Rate,
		Cost:              s.Cost,
		Usage: Usage{
			InputTokens:       s.InputTokens,
			OutputTokens:      s.OutputTokens,
			CachedInputTokens: s.CachedInputTokens,
			ReasoningTokens:   s.ReasoningTokens,
		},
		Elapsed: s.Elapsed,
	}
}
