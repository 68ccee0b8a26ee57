package llm

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"

	"github.com/deluge-go/deluge/conversation"
)

// Job is one prompt of a batch for ProcessJobs, with optional per-prompt
// overrides.
type Job struct {
	Conversation *conversation.Conversation
	// Model, when set, sends this prompt to that model ID instead of
	// routing it (no weights, no failover). It must resolve like
	// NewClient's model ID; the client's limits still apply.
	Model string
	// Options override sampling options for this prompt (temperature, max
	// new tokens, …); engine options are rejected as in Generate.
	Options []Option
}

// Process sends every conversation and returns one Result per input, in
// input order, with Result.Index set. It keeps as many requests in flight
// as the limits allow and never fails as a whole: errors are per result.
// When ctx is canceled, dispatching stops at once, requests in flight are
// canceled, and every prompt not done gets a result whose error matches
// context.Canceled (and ErrCanceled).
func (c *Client) Process(ctx context.Context, convs []*conversation.Conversation, opts ...Option) []Result {
	results := make([]Result, len(convs))
	o, err := c.callOptions(&c.opts, opts)
	if err != nil {
		for i := range results {
			c.stats.finish(err)
			results[i] = Result{Index: i, Err: err}
		}
		return results
	}
	var next atomic.Int64
	pull := func() (int, Job, bool) {
		i := int(next.Add(1) - 1)
		if i >= len(convs) {
			return 0, Job{}, false
		}
		return i, Job{Conversation: convs[i]}, true
	}
	// Each index is written by exactly one worker: no lock needed.
	c.runBatch(ctx, o, len(convs), pull, func(r Result) bool {
		results[r.Index] = r
		return true
	})
	return results
}

// ProcessSeq is Process for inputs that do not fit in memory: it pulls
// conversations from seq as capacity frees up (memory grows with the
// concurrency, not with the input) and yields each result as it completes,
// in completion order, under the index seq gave its conversation. Breaking
// out of the loop cancels the prompts in flight. Pass WithProgressTotal to
// get a bar with an ETA.
func (c *Client) ProcessSeq(ctx context.Context, seq iter.Seq2[int, *conversation.Conversation], opts ...Option) iter.Seq2[int, Result] {
	jobs := func(yield func(int, Job) bool) {
		for i, conv := range seq {
			if !yield(i, Job{Conversation: conv}) {
				return
			}
		}
	}
	return c.ProcessJobs(ctx, jobs, opts...)
}

// ProcessJobs is ProcessSeq for jobs that carry their own model or options.
func (c *Client) ProcessJobs(ctx context.Context, jobs iter.Seq2[int, Job], opts ...Option) iter.Seq2[int, Result] {
	return func(yield func(int, Result) bool) {
		o, err := c.callOptions(&c.opts, opts)
		if err != nil {
			for i := range jobs {
				c.stats.finish(err)
				if !yield(i, Result{Index: i, Err: err}) {
					return
				}
			}
			return
		}
		// Pull the input on demand; iter.Pull2 runs the caller's iterator
		// on a coroutine of its own, so workers may take turns calling
		// next under a lock.
		next, stopInput := iter.Pull2(jobs)
		var (
			mu      sync.Mutex
			results = make(chan Result, c.poolSize())
			stop    = make(chan struct{})
			done    = make(chan struct{})
		)
		pull := func() (int, Job, bool) {
			mu.Lock()
			defer mu.Unlock()
			return next()
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			defer close(done)
			defer close(results)
			c.runBatch(ctx, o, o.progressTotal, pull, func(r Result) bool {
				select {
				case results <- r:
					return true
				case <-stop:
					return false
				}
			})
		}()
		for r := range results {
			if !yield(r.Index, r) {
				close(stop)
				cancel()
				break
			}
		}
		for range results { // let the workers finish
		}
		<-done
		mu.Lock()
		stopInput()
		mu.Unlock()
	}
}

// poolSize is the number of workers of a batch: the concurrency limit plus
// a quarter, so that requests backing off between attempts do not leave
// slots idle. Memory grows with it, not with the input.
func (c *Client) poolSize() int {
	n := c.opts.limits.MaxConcurrency
	return n + n/4
}

// runBatch processes jobs from pull on a pool of workers until pull is
// exhausted or emit returns false, and returns when every worker is done.
// Workers start lazily, one more per job pulled, up to the pool size, so a
// small batch starts few goroutines.
func (c *Client) runBatch(ctx context.Context, o *options, total int, pull func() (int, Job, bool), emit func(Result) bool) {
	b := newBatch(total)
	if rep := c.startProgress(o, b); rep != nil {
		defer rep.Stop()
	}
	var (
		wg      sync.WaitGroup
		started atomic.Int64
		stopped atomic.Bool
		limit   = int64(c.poolSize())
	)
	var worker func()
	worker = func() {
		defer wg.Done()
		for !stopped.Load() {
			i, job, ok := pull()
			if !ok {
				return
			}
			if started.Load() < limit && started.Add(1) <= limit {
				wg.Add(1)
				go worker()
			}
			if !emit(c.processOne(ctx, o, i, job, b)) {
				stopped.Store(true)
				return
			}
		}
	}
	started.Store(1)
	wg.Add(1)
	go worker()
	wg.Wait()
}

// processOne runs one job of a batch and records its outcome.
func (c *Client) processOne(ctx context.Context, o *options, idx int, job Job, b *batch) Result {
	r := Result{Index: idx}
	jo, err := c.callOptions(o, job.Options)
	var pinned *target
	if err == nil && job.Model != "" {
		pinned, err = c.targetFor(job.Model)
	}
	if err != nil {
		r.Err = err
	} else {
		var eff effort
		r.Response, eff, r.Err = c.run(ctx, jo, job.Conversation, pinned)
		if r.Response != nil {
			r.Attempts, r.Latency = r.Response.Attempts, r.Response.Latency
		} else {
			r.Attempts, r.Latency = eff.attempts, eff.latency
		}
	}
	c.stats.finish(r.Err)
	b.record(r)
	return r
}
