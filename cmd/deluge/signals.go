package main

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// interrupts implements the two-stage interrupt of a run:
//
//   - the first SIGINT or SIGTERM cancels dispatch: nothing new is sent
//     (not even the prompts the engine's workers had taken: the engine is
//     drained with llm.WithDrain), the requests in flight finish and their
//     results are written; those still running after grace are cut;
//   - a second signal cancels work: requests in flight are abandoned (their
//     prompts are not written, so a rerun sends them again).
//
// Either way the output is flushed and the summary printed.
type interrupts struct {
	// dispatch is canceled by the first signal, work by the second; both
	// end when the parent context does.
	dispatch, work context.Context
	stopNotify     func()
	cancelDispatch context.CancelFunc
	cancelWork     context.CancelFunc
	count          atomic.Int32
	done           chan struct{}
	// deadline cuts the work grace after the first signal (watcher
	// goroutine only, until stop).
	deadline *time.Timer
	wg       sync.WaitGroup
}

// watchInterrupts starts handling signals; onSignal is called (from the
// watching goroutine) with the signal's rank, 1 or 2. grace bounds the
// time the requests in flight get after the first signal.
func watchInterrupts(parent context.Context, e *env, grace time.Duration, onSignal func(n int, sig os.Signal)) *interrupts {
	in := &interrupts{done: make(chan struct{})}
	in.work, in.cancelWork = context.WithCancel(parent)
	in.dispatch, in.cancelDispatch = context.WithCancel(in.work)
	c := make(chan os.Signal, 2)
	in.stopNotify = e.notify(c)
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		for {
			select {
			case sig := <-c:
				n := int(in.count.Add(1))
				if onSignal != nil {
					onSignal(n, sig)
				}
				if n == 1 {
					in.cancelDispatch()
					if grace > 0 {
						in.deadline = time.AfterFunc(grace, in.cancelWork)
					}
				} else {
					in.cancelWork()
					return
				}
			case <-in.done:
				return
			}
		}
	}()
	return in
}

// interrupted reports whether a signal arrived.
func (in *interrupts) interrupted() bool { return in.count.Load() > 0 }

// stop stops handling signals and releases the contexts.
func (in *interrupts) stop() {
	in.stopNotify()
	close(in.done)
	in.wg.Wait()
	if in.deadline != nil {
		in.deadline.Stop()
	}
	in.cancelDispatch()
	in.cancelWork()
}
