package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deluge-go/deluge/internal/backoff"
)

// Queue is a FIFO queue of callers waiting for admission to a paced
// resource. The zero value is an empty queue, ready to use; a Queue is safe
// for concurrent use and must not be copied after first use.
//
// While nobody waits, callers try at once and concurrently, with no lock:
// an unlimited or idle resource costs one atomic load. A caller that is
// refused joins the queue; from then on, callers queue behind it and only
// the head of the queue tries.
type Queue struct {
	n          atomic.Int64 // callers queued
	mu         sync.Mutex
	head, tail *waiter
}

type waiter struct {
	prev, next *waiter
	// wake is signalled (non-blocking, capacity 1) when the waiter becomes
	// the head, or when the head should ask again (Wake).
	wake chan struct{}
}

// Try is one admission attempt. It returns admitted = true when the
// request is admitted; wait is then how long until the request may go (a
// reservation ahead), and a queued caller stays at the head meanwhile, so
// that the next one asks only once this one has gone. Otherwise wait is
// how long until asking again may succeed.
type Try func() (wait time.Duration, admitted bool)

// Wait calls try until it admits, queueing the caller in FIFO order when it
// is refused, and returns once the admitted wait has passed. since is the
// Now reading when the caller began to wait, 0 if it did not wait at all
// (the common case, which reads no clock). If ctx ends first it returns
// ctx's error, with admitted reporting whether try had admitted the
// request (the caller then gives the admission back).
func (q *Queue) Wait(ctx context.Context, try Try) (since time.Duration, admitted bool, err error) {
	if q.n.Load() == 0 {
		d, ok := try()
		if ok {
			if d > 0 {
				since = Now()
				if err := backoff.Sleep(ctx, d); err != nil {
					return since, true, err
				}
			}
			return since, true, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, false, err
		}
		since = Now()
		admitted, err := q.wait(ctx, try, since+d)
		return since, admitted, err
	}
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	since = Now()
	admitted, err = q.wait(ctx, try, 0)
	return since, admitted, err
}

// wait queues the caller and tries whenever it is at the head, not before
// retry (a Now reading; 0: at once).
func (q *Queue) wait(ctx context.Context, try Try, retry time.Duration) (bool, error) {
	w := &waiter{wake: make(chan struct{}, 1)}
	q.mu.Lock()
	q.pushLocked(w)
	q.n.Add(1)
	q.mu.Unlock()

	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	arm := func(d time.Duration) <-chan time.Time {
		// At least a microsecond: a zero timer would spin.
		d = max(d, time.Microsecond)
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		return timer.C
	}
	for {
		q.mu.Lock()
		head := q.head == w
		q.mu.Unlock()
		if !head {
			select {
			case <-w.wake:
				continue
			case <-ctx.Done():
				q.leave(w)
				return false, ctx.Err()
			}
		}
		if d := retry - Now(); retry > 0 && d > 0 {
			// At the head, but asking now would be refused: sleep, unless
			// woken because the resource changed.
			select {
			case <-arm(d):
			case <-w.wake:
			case <-ctx.Done():
				q.leave(w)
				return false, ctx.Err()
			}
			retry = 0
			continue
		}
		d, ok := try()
		if !ok {
			retry = Now() + d
			continue
		}
		if d > 0 {
			// Admitted ahead: stay at the head until the request may go.
			select {
			case <-arm(d):
			case <-ctx.Done():
				q.leave(w)
				return true, ctx.Err()
			}
		}
		q.leave(w)
		return true, nil
	}
}

// Wake makes the head of the queue ask again at once: call it when the
// resource changed in a way that may admit sooner (a refund, a cooldown
// lifted, a faster pace).
func (q *Queue) Wake() {
	if q.n.Load() == 0 {
		return
	}
	q.mu.Lock()
	q.signalHeadLocked()
	q.mu.Unlock()
}

// Len returns the number of queued callers.
func (q *Queue) Len() int { return int(q.n.Load()) }

// leave removes w from the queue and wakes the new head.
func (q *Queue) leave(w *waiter) {
	q.mu.Lock()
	if q.removeLocked(w) {
		q.n.Add(-1)
	}
	q.signalHeadLocked()
	q.mu.Unlock()
}

func (q *Queue) pushLocked(w *waiter) {
	if q.tail == nil {
		q.head, q.tail = w, w
		return
	}
	w.prev = q.tail
	q.tail.next = w
	q.tail = w
}

func (q *Queue) removeLocked(w *waiter) bool {
	switch {
	case w.prev != nil:
		w.prev.next = w.next
	case q.head == w:
		q.head = w.next
	default:
		return false // not queued
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next = nil, nil
	return true
}

func (q *Queue) signalHeadLocked() {
	if q.head == nil {
		return
	}
	select {
	case q.head.wake <- struct{}{}:
	default:
	}
}
