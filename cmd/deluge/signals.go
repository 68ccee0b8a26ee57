package main

import (
	"context"
	"os"
	"sync/atomic"
)

// interrupts implements the two-stage interrupt of a run:
//
//   - the first SIGINT or SIGTERM cancels dispatch: no new prompt is sent,
//     the requests in flight finish and their results are written;
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
}

// watchInterrupts starts handling signals; onSignal is called (from the
// watching goroutine) with the signal's rank, 1 or 2.
func watchInterrupts(parent context.Context, e *env, onSignal func(n int, sig os.Signal)) *interrupts {
	in := &interrupts{done: make(chan struct{})}
	in.work, in.cancelWork = context.WithCancel(parent)
	in.dispatch, in.cancelDispatch = context.WithCancel(in.work)
	c := make(chan os.Signal, 2)
	in.stopNotify = e.notify(c)
	go func() {
		for {
			select {
			case sig := <-c:
				n := int(in.count.Add(1))
				if onSignal != nil {
					onSignal(n, sig)
				}
				if n == 1 {
					in.cancelDispatch()
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
	in.cancelDispatch()
	in.cancelWork()
}
