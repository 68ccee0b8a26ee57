// Package workpool runs a stream of jobs on a pool of goroutines sized for
// a concurrency limit.
//
// A worker takes a job, runs it to its outcome, then takes the next. With
// no more workers than the concurrency limit, a worker that finishes a
// request frees its slot and takes it back for its next job without
// blocking; workers beyond the limit would each hold a job while blocked
// on the semaphore, and every request would then hand its slot over to one
// of them: a goroutine parked and one woken per request, which cost the
// engine's throughput benchmark several percent. Extra workers are still
// useful while jobs wait without a slot (backing off between attempts, a
// cooldown, a model's own concurrency limit, an identical call's reply): a
// waiting worker lends its place ([Pool.Idle]), an extra worker starts if
// the pool is below its maximum, and when the wait is over
// ([Pool.Resume]) the first worker to finish a job while more than the
// limit are busy retires.
//
// Workers start lazily, one more per job taken, up to the limit, so a
// small batch starts few goroutines.
package workpool

import (
	"sync"
	"sync/atomic"
)

// Pool sizes the workers of one [Run]. Its methods are safe for
// concurrent use.
type Pool struct {
	limit, max int64
	spawn      func() // starts one worker goroutine
	// alive counts workers started and not exited; busy those of them not
	// lending their place. busy <= alive <= max.
	alive, busy atomic.Int64
}

// New returns a pool that keeps up to limit workers busy, and starts up
// to most in all while some lend their place. It serves one Run.
func New(limit, most int) *Pool {
	return &Pool{limit: int64(limit), max: int64(max(limit, most))}
}

// Run takes jobs from next and runs each with do on the pool's workers,
// until next reports that none is left or do returns false (take no more
// jobs); it returns when every worker has exited. next and do are called
// from several goroutines at once.
func Run[J any](p *Pool, next func() (J, bool), do func(J) bool) {
	var (
		wg      sync.WaitGroup
		stopped atomic.Bool
		worker  func()
	)
	worker = func() {
		defer wg.Done()
		for !p.retire() {
			if stopped.Load() {
				p.exit()
				return
			}
			j, ok := next()
			if !ok {
				p.exit()
				return
			}
			if p.alive.Load() < p.limit {
				p.start(p.limit) // ramp up: one more worker per job taken
			}
			if !do(j) {
				stopped.Store(true)
				p.exit()
				return
			}
		}
	}
	p.spawn = func() {
		wg.Add(1)
		go worker()
	}
	p.start(p.limit)
	wg.Wait()
}

// start starts a worker if fewer than n are alive.
func (p *Pool) start(n int64) {
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
func (p *Pool) exit() {
	p.busy.Add(-1)
	p.alive.Add(-1)
}

// retire reports whether the calling worker should exit before taking
// another job, because more than limit workers are busy; it then accounts
// for the exit.
func (p *Pool) retire() bool {
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

// Idle lends the calling worker's place while its job waits without a
// slot: another worker starts if the pool has room. Call [Pool.Resume]
// when the wait is over.
func (p *Pool) Idle() {
	if p.busy.Add(-1) < p.limit {
		p.start(p.max)
	}
}

// Resume ends a wait begun with [Pool.Idle].
func (p *Pool) Resume() { p.busy.Add(1) }
