package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Queue is a FIFO queue of callers waiting for admission to a paced
// resource. The zero value is an empty queue, ready to use; a Queue is safe
// for concurrent use and must not be copied after first use.
type Queue struct {
	mu         sync.Mutex
	head, tail *waiter
	// busy is set while a caller holds the right to call its Try: the
	// head, or a caller that found the queue empty and tries before
	// queueing. owner is that caller's waiter (nil before it queued).
	busy  bool
	owner *waiter
}

type waiter struct {
	prev, next *waiter
	// wake is signalled (non-blocking, capacity 1) when the waiter becomes
	// the head, or when the head should ask again (Wake).
	wake chan struct{}
}

// Try is one admission attempt, made by the head of a [Queue] only. It
// returns admitted = true when the request is admitted; wait is then how
// long until the request may go (a reservation ahead), and the caller stays
// at the head meanwhile, so that the next caller asks only once this one
// has gone. Otherwise wait is how long until asking again may succeed.
type Try func() (wait time.Duration, admitted bool)

// Wait queues the caller, calls try whenever it is at the head, and returns
// once try admits and the admitted wait has passed. If ctx ends first it
// returns ctx's error, with admitted reporting whether try had admitted
// the request (the caller then gives the admission back).
func (q *Queue) Wait(ctx context.Context, try Try) (admitted bool, err error) {
	q.mu.Lock()
	if q.head == nil && !q.busy {
		// Nobody waits: try at once, without queueing.
		q.busy = true
		q.mu.Unlock()
		d, ok := try()
		if ok && d <= 0 {
			q.mu.Lock()
			q.busy = false
			q.signalHeadLocked() // callers that queued while this one tried
			q.mu.Unlock()
			return true, nil
		}
		// Refused, or admitted ahead: take the head, ahead of the callers
		// that queued meanwhile, keeping the right to try.
		w := &waiter{wake: make(chan struct{}, 1)}
		q.mu.Lock()
		q.pushFrontLocked(w)
		q.owner = w
		q.mu.Unlock()
		return q.wait(ctx, w, try, d, ok, true)
	}
	if err := ctx.Err(); err != nil {
		q.mu.Unlock()
		return false, err
	}
	w := &waiter{wake: make(chan struct{}, 1)}
	q.pushLocked(w)
	q.mu.Unlock()
	return q.wait(ctx, w, try, 0, false, false)
}

// wait is the queued part of Wait. tried says whether w holds the right to
// try and (d, ok) is the outcome of its last try.
func (q *Queue) wait(ctx context.Context, w *waiter, try Try, d time.Duration, ok, tried bool) (bool, error) {
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
		if tried {
			if ok {
				// Admitted ahead: stay at the head until the request may go.
				if d > 0 {
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
			// Refused: give up the right to try and sleep until asking
			// again may succeed, or until woken.
			q.mu.Lock()
			q.busy, q.owner = false, nil
			select {
			case <-w.wake: // a stale signal
			default:
			}
			q.mu.Unlock()
			select {
			case <-arm(d):
			case <-w.wake:
			case <-ctx.Done():
				q.leave(w)
				return false, ctx.Err()
			}
			tried = false
		}
		q.mu.Lock()
		if q.head == w && !q.busy {
			q.busy, q.owner = true, w
			q.mu.Unlock()
			d, ok = try()
			tried = true
			continue
		}
		q.mu.Unlock()
		select {
		case <-w.wake:
		case <-ctx.Done():
			q.leave(w)
			return false, ctx.Err()
		}
	}
}

// Wake makes the head of the queue ask again at once: call it when the
// resource changed in a way that may admit sooner (a refund, a cooldown
// lifted, a faster pace).
func (q *Queue) Wake() {
	q.mu.Lock()
	q.signalHeadLocked()
	q.mu.Unlock()
}

// Len returns the number of queued callers.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for w := q.head; w != nil; w = w.next {
		n++
	}
	return n
}

// leave removes w from the queue, gives up the right to try if w held it,
// and wakes the new head.
func (q *Queue) leave(w *waiter) {
	q.mu.Lock()
	if q.busy && q.owner == w {
		q.busy, q.owner = false, nil
	}
	q.removeLocked(w)
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

func (q *Queue) pushFrontLocked(w *waiter) {
	if q.head == nil {
		q.head, q.tail = w, w
		return
	}
	w.next = q.head
	q.head.prev = w
	q.head = w
}

func (q *Queue) removeLocked(w *waiter) {
	switch {
	case w.prev != nil:
		w.prev.next = w.next
	case q.head == w:
		q.head = w.next
	default:
		return // not queued
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next = nil, nil
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
