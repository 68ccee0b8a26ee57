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

// poolSize is the most workers a batch runs: the concurrency limit plus a
// quarter, so that jobs waiting between attempts (see workerPool) do not
// leave slots idle. Memory grows with it, not with the input.
func (c *Client) poolSize() int {
	n := c.opts.limits.MaxConcurrency
	return n + n/4
}

// runBatch processes jobs from pull on a pool of workers until pull is
// exhausted or emit returns false, and returns when every worker is done.
// Workers start lazily, one more per job pulled, up to the concurrency
// limit, so a small batch starts few goroutines; more start only while
// jobs wait between attempts (see workerPool).
func (c *Client) runBatch(ctx context.Context, o *options, total int, pull func() (int, Job, bool), emit func(Result) bool) {
	b := newBatch(total)
	if rep := c.startProgress(o, b); rep != nil {
		defer rep.Stop()
	}
	var (
		wg      sync.WaitGroup
		stopped atomic.Bool
		pool    = &workerPool{limit: int64(c.opts.limits.MaxConcurrency), max: int64(c.poolSize())}
	)
	// The batch's attempts share their timeout contexts (see deadline.go);
	// closing them once every worker is done releases their timers.
	deadlines := newSharedDeadlines(ctx, o.requestTimeout)
	ctx = &batchContext{Context: ctx, deadlines: deadlines, pool: pool}
	var worker func()
	worker = func() {
		defer wg.Done()
		for !pool.retire() {
			if stopped.Load() {
				pool.exit()
				return
			}
			i, job, ok := pull()
			if !ok {
				pool.exit()
				return
			}
			if pool.alive.Load() < pool.limit {
				pool.start(pool.limit) // ramp up: one more worker per job pulled
			}
			if !emit(c.processOne(ctx, o, i, job, b)) {
				stopped.Store(true)
				pool.exit()
				return
			}
		}
	}
	pool.spawn = func() {
		wg.Add(1)
		go worker()
	}
	pool.start(pool.limit)
	wg.Wait()
	deadlines.close()
}

// workerPool sizes a batch's workers. A worker takes a job, runs it to its
// outcome, then takes the next. With no more workers than the concurrency
// limit, a worker that finishes a request frees its slot and takes it back
// for its next job without blocking; workers beyond the limit would each
// hold a job while blocked on the semaphore, and every request would then
// hand its slot over to one of them: a goroutine parked and one woken per
// request, which cost the throughput benchmark several percent. Extra
// workers are still useful while jobs wait without a client slot (backing
// off between attempts, a cooldown, a model's own concurrency limit, an
// identical call's reply): a waiting worker lends its place (idle), an
// extra worker starts if the pool is below max, and when the wait is over
// (resume) the first worker to finish a job while more than limit are busy
// retires.
type workerPool struct {
	limit, max int64
	spawn      func() // starts one worker goroutine
	// alive counts workers started and not exited; busy those of them not
	// lending their place. busy <= alive <= max.
	alive, busy atomic.Int64
}

// start starts a worker if fewer than n are alive.
func (p *workerPool) start(n int64) {
	for {
		a := p.alive.Load()
		if a >= n {
			return
		}
		if p.alive.CompareAndSwap(a, a+1) {
			p.busy.Add(1)
			p.spawn()
			return
		}
	}
}

// exit accounts for a worker that returns.
func (p *workerPool) exit() {
	p.busy.Add(-1)
	p.alive.Add(-1)
}

// retire reports whether the calling worker should exit before taking
// another job, because more than limit workers are busy; it then accounts
// for the exit.
func (p *workerPool) retire() bool {
	for {
		b := p.busy.Load()
		if b <= p.limit {
			return false
		}
		if p.busy.CompareAndSwap(b, b-1) {
			p.alive.Add(-1)
			return true
		}
	}
}

// idle lends the calling worker's place while its job waits without a
// slot: another worker starts if the pool has room. Call resume after.
func (p *workerPool) idle() {
	if p.busy.Add(-1) < p.limit {
		p.start(p.max)
	}
}

func (p *workerPool) resume() { p.busy.Add(1) }

// batchContext is the context of a batch's calls: the caller's context, plus
// the deadlines the batch's attempts share and the batch's worker pool.
// The engine recognises it by its type, so only a batch's own calls use
// them; a context derived from it (a provider that calls another client
// with its attempt's context, say) is an ordinary context again.
type batchContext struct {
	context.Context
	deadlines *sharedDeadlines
	pool      *workerPool
}

// waiting tells a batch that the calling worker is about to wait without
// a concurrency slot, so that another worker may take a job meanwhile
// (see workerPool). Call the returned function when the wait is over.
// Outside a batch it does nothing.
func waiting(ctx context.Context) (done func()) {
	if b, ok := ctx.(*batchContext); ok {
		b.pool.idle()
		return b.pool.resume
	}
	return func() {}
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
