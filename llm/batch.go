package llm

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/deadline"
	"github.com/deluge-go/deluge/internal/workpool"
)

// Job is one prompt of a batch for [Client.ProcessJobs], with optional
// per-prompt overrides.
type Job struct {
	// Conversation is the prompt.
	Conversation *conversation.Conversation
	// Model, when set, sends this prompt to that model ID instead of
	// routing it (no weights, no failover). It must resolve like
	// [NewClient]'s model ID; the client's limits still apply.
	Model string
	// Options override the batch's call options for this prompt
	// (temperature, max new tokens, …).
	Options []Option
}

// Process sends every conversation and returns one [Result] per input, in
// input order, with [Result.Index] set. It keeps as many requests in flight
// as the limits allow and never fails as a whole: errors are per result.
// When ctx is canceled, dispatching stops at once, requests in flight are
// canceled, and every prompt not done gets a result whose error matches
// [context.Canceled] (and [ErrCanceled]).
func (c *Client) Process(ctx context.Context, convs []*conversation.Conversation, opts ...Option) []Result {
	results := make([]Result, len(convs))
	o, err := c.callOptions(opts)
	if err != nil {
		for i := range results {
			c.stats.finish(err)
			results[i] = Result{Index: i, Err: err}
		}
		return results
	}
	var next atomic.Int64
	pull := func() (indexedJob, bool) {
		i := int(next.Add(1) - 1)
		if i >= len(convs) {
			return indexedJob{}, false
		}
		return indexedJob{i, Job{Conversation: convs[i]}}, true
	}
	// Each index is written by exactly one worker: no lock needed.
	c.runBatch(ctx, o, len(convs), pull, func(r Result) bool {
		results[r.Index] = r
		return true
	})
	return results
}

// ProcessSeq is [Client.Process] for inputs that do not fit in memory: it
// pulls conversations from seq as capacity frees up (memory grows with the
// concurrency, not with the input) and yields each result as it completes,
// in completion order, under the index seq gave its conversation. Breaking
// out of the loop cancels the prompts in flight. Pass [WithProgressTotal]
// to give a progress display a total.
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

// ProcessJobs is [Client.ProcessSeq] for jobs that carry their own model
// or options.
func (c *Client) ProcessJobs(ctx context.Context, jobs iter.Seq2[int, Job], opts ...Option) iter.Seq2[int, Result] {
	return func(yield func(int, Result) bool) {
		o, err := c.callOptions(opts)
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
		pull := func() (indexedJob, bool) {
			if o.drained() {
				return indexedJob{}, false // WithDrain: take no more input
			}
			mu.Lock()
			defer mu.Unlock()
			i, job, ok := next()
			return indexedJob{i, job}, ok
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
		deliver(results, yield, stop, cancel)
		<-done
		mu.Lock()
		stopInput()
		mu.Unlock()
	}
}

// indexed is a result of a sequence: its input's index.
type indexed interface{ index() int }

func (r Result) index() int      { return r.Index }
func (r EmbedResult) index() int { return r.Index }

// deliver yields the workers' results, in completion order under their
// inputs' indexes, until they run out or the caller breaks out; then it
// closes stop and cancels the work, and drains results so the workers can
// finish.
func deliver[R indexed](results <-chan R, yield func(int, R) bool, stop chan<- struct{}, cancel context.CancelFunc) {
	for r := range results {
		if !yield(r.index(), r) {
			close(stop)
			cancel()
			break
		}
	}
	for range results { // let the workers finish
	}
}

// indexedJob is a job and its index in the batch's input.
type indexedJob struct {
	i   int
	job Job
}

// poolSize is the most workers a batch runs: the concurrency limit plus a
// quarter, so that jobs waiting between attempts (see package workpool) do
// not leave slots idle. Memory grows with it, not with the input.
func (c *Client) poolSize() int {
	n := c.opts.limits.MaxConcurrency
	return n + n/4
}

// runBatch processes jobs from pull on a pool of workers until pull is
// exhausted or emit returns false, and returns when every worker is done.
func (c *Client) runBatch(ctx context.Context, o *callOptions, total int, pull func() (indexedJob, bool), emit func(Result) bool) {
	b := newBatch(total)
	if stop := c.startProgress(b); stop != nil {
		defer stop()
	}
	pool := workpool.New(c.opts.limits.MaxConcurrency, c.poolSize())
	// The batch's attempts share their timeout contexts (see package
	// deadline); closing them once every worker is done releases their
	// timers.
	deadlines := deadline.NewShared(ctx, c.opts.requestTimeout)
	bc := &batchContext{Context: ctx, deadlines: deadlines, pool: pool, drain: o.drain}
	if o.drain != nil {
		waits, stop := watchDrain(ctx, o.drain)
		defer stop()
		bc.waits = &batchContext{Context: waits, deadlines: deadlines, pool: pool, drain: o.drain}
	}
	workpool.Run(pool, pull, func(j indexedJob) bool {
		return emit(c.processOne(bc, o, j.i, j.job, b))
	})
	deadlines.Close()
}

// batchContext is the context of a batch's calls: the caller's context,
// plus the deadlines the batch's attempts share and the batch's worker
// pool. The engine recognises it by its type, so only a batch's own calls
// use them; a context derived from it (a provider that calls another
// client with its attempt's context, say) is an ordinary context again.
type batchContext struct {
	context.Context
	deadlines *deadline.Shared
	pool      *workpool.Pool
	// drain is the batch's WithDrain channel, and waits the context of
	// its calls' waits, canceled when drain closes (see call.waitContext).
	drain <-chan struct{}
	waits context.Context
}

// waiting tells a batch that the calling worker is about to wait without
// a concurrency slot, so that another worker may take a job meanwhile
// (see package workpool). Call the returned function when the wait is
// over. Outside a batch it does nothing.
func waiting(ctx context.Context) (done func()) {
	if b, ok := ctx.(*batchContext); ok {
		b.pool.Idle()
		return b.pool.Resume
	}
	return func() {}
}

// processOne runs one job of a batch and records its outcome.
func (c *Client) processOne(ctx context.Context, o *callOptions, idx int, job Job, b *batch) Result {
	r := Result{Index: idx}
	jo, err := o.with(job.Options)
	k := call{c: c, o: jo}
	if err == nil && job.Model != "" {
		k.pinned, err = c.targetFor(job.Model)
	}
	if err != nil {
		r.Err = err
	} else {
		var eff effort
		r.Response, eff, r.Err = k.run(ctx, job.Conversation)
		r.Attempts, r.Latency = eff.attempts, eff.latency
	}
	c.stats.finish(r.Err)
	b.record(r)
	return r
}
