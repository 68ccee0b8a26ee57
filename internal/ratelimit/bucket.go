package ratelimit

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Clock returns a monotonic time as a duration since an arbitrary epoch.
type Clock func() time.Duration

// epoch anchors the default clock; time.Since reads the monotonic clock.
var epoch = time.Now()

// bubbleEpoch anchors the clock inside a testing/synctest bubble: a day
// before the bubble's fake clock starts (midnight UTC, 2000-01-01), so that
// its readings are positive, as the engine expects (0 means "never").
var bubbleEpoch = time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)

// Now is the default Clock: the monotonic time since the package was
// loaded. Inside a testing/synctest bubble, time.Now reads the bubble's fake
// clock and carries no monotonic reading, so time.Since(epoch) is a
// difference of wall clocks, decades negative; Now then measures from
// bubbleEpoch, which makes everything paced by the default clock run on the
// bubble's fake time.
func Now() time.Duration {
	if d := time.Since(epoch); d >= 0 {
		return d
	}
	return time.Since(bubbleEpoch)
}

// Bucket is a FIFO-fair GCRA limiter for a per-minute quota. The zero value
// is not usable; create one with New. A Bucket is safe for concurrent use.
type Bucket struct {
	// unlimited mirrors per == 0 so that an unlimited bucket admits
	// without locking or reading the clock.
	unlimited atomic.Bool

	mu    sync.Mutex
	clock Clock
	// per is the emission interval in nanoseconds per unit; 0 means
	// unlimited. tau is the tolerance: (burst-1) units.
	per, tau float64
	// tat is the theoretical arrival time, in clock nanoseconds.
	tat float64
	// perMinute and burst are the configured values, for reporting.
	perMinute, burst float64

	head, tail *waiter
}

type waiter struct {
	n          int
	prev, next *waiter
	// wake is signalled (non-blocking, capacity 1) when the waiter becomes
	// the head of the queue or when the head should re-check (refund, rate
	// change).
	wake chan struct{}
}

// New returns a bucket admitting perMinute units per minute with bursts of up
// to burst units. perMinute <= 0 means unlimited; burst is at least 1.
func New(perMinute, burst float64, clock Clock) *Bucket {
	if clock == nil {
		clock = Now
	}
	b := &Bucket{clock: clock}
	b.setRateLocked(perMinute, burst)
	return b
}

// SetRate changes the rate and burst; queued waiters re-evaluate at once.
func (b *Bucket) SetRate(perMinute, burst float64) {
	b.mu.Lock()
	b.setRateLocked(perMinute, burst)
	b.signalHeadLocked()
	b.mu.Unlock()
}

func (b *Bucket) setRateLocked(perMinute, burst float64) {
	if perMinute <= 0 || math.IsNaN(perMinute) || math.IsInf(perMinute, 0) {
		b.per, b.tau, b.perMinute, b.burst = 0, 0, 0, 0
		b.unlimited.Store(true)
		return
	}
	b.unlimited.Store(false)
	burst = max(burst, 1)
	b.perMinute, b.burst = perMinute, burst
	b.per = float64(time.Minute) / perMinute
	b.tau = (burst - 1) * b.per
}

// Rate returns the current rate in units per minute (0 when unlimited) and
// the burst.
func (b *Bucket) Rate() (perMinute, burst float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.perMinute, b.burst
}

// Unlimited reports whether the bucket admits everything at once.
func (b *Bucket) Unlimited() bool { return b.unlimited.Load() }

// Wait blocks until n units conform, charges them and returns how long it
// waited. On a context error it charges nothing and returns the error.
// Waiters are admitted in arrival order.
func (b *Bucket) Wait(ctx context.Context, n int) (time.Duration, error) {
	if b.unlimited.Load() {
		return 0, nil
	}
	b.mu.Lock()
	if b.head == nil {
		now := float64(b.clock())
		if b.delayLocked(now) <= 0 {
			b.chargeLocked(now, n)
			b.mu.Unlock()
			return 0, nil
		}
	}
	if err := ctx.Err(); err != nil {
		b.mu.Unlock()
		return 0, err
	}
	start := b.clock()
	w := &waiter{n: n, wake: make(chan struct{}, 1)}
	b.pushLocked(w)
	b.mu.Unlock()

	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var timerC <-chan time.Time
		b.mu.Lock()
		if b.head == w {
			now := float64(b.clock())
			d := b.delayLocked(now)
			if d <= 0 {
				b.chargeLocked(now, n)
				b.removeLocked(w)
				b.signalHeadLocked()
				b.mu.Unlock()
				return b.clock() - start, nil
			}
			// Sleep at least a little: timers cannot do better than about
			// a microsecond, and a zero duration would spin.
			sleep := time.Duration(max(d, float64(time.Microsecond)))
			if timer == nil {
				timer = time.NewTimer(sleep)
			} else {
				timer.Reset(sleep)
			}
			timerC = timer.C
		}
		b.mu.Unlock()
		select {
		case <-w.wake:
		case <-timerC:
		case <-ctx.Done():
			b.mu.Lock()
			b.removeLocked(w)
			b.signalHeadLocked()
			b.mu.Unlock()
			return b.clock() - start, ctx.Err()
		}
	}
}

// Reserve charges n units now, whatever the debt, and returns how long the
// caller should wait for them to conform. It is for callers that cannot
// block; most use Wait.
func (b *Bucket) Reserve(n int) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := float64(b.clock())
	d := b.delayLocked(now)
	b.chargeLocked(now, n)
	return time.Duration(max(d, 0))
}

// Adjust charges n more units (n > 0) or refunds -n units (n < 0) for a
// request already admitted: the reconciliation of an estimate with the real
// cost. A refund lets queued waiters through sooner.
func (b *Bucket) Adjust(n int) {
	if n == 0 || b.unlimited.Load() {
		return
	}
	b.mu.Lock()
	if b.per != 0 {
		b.tat += float64(n) * b.per
		// A refund never banks more than a full bucket: the bucket is full
		// whenever tat <= now, and chargeLocked starts from max(tat, now).
	}
	if n < 0 {
		b.signalHeadLocked()
	}
	b.mu.Unlock()
}

// Delay returns how long a request arriving now would wait, ignoring the
// queue. It charges nothing.
func (b *Bucket) Delay() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return time.Duration(max(b.delayLocked(float64(b.clock())), 0))
}

// Queued returns the number of waiters.
func (b *Bucket) Queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for w := b.head; w != nil; w = w.next {
		n++
	}
	return n
}

func (b *Bucket) delayLocked(now float64) float64 {
	if b.per == 0 {
		return 0
	}
	return b.tat - b.tau - now
}

func (b *Bucket) chargeLocked(now float64, n int) {
	if b.per == 0 {
		return
	}
	b.tat = max(b.tat, now) + float64(n)*b.per
}

func (b *Bucket) pushLocked(w *waiter) {
	if b.tail == nil {
		b.head, b.tail = w, w
		return
	}
	w.prev = b.tail
	b.tail.next = w
	b.tail = w
}

func (b *Bucket) removeLocked(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else if b.head == w {
		b.head = w.next
	} else {
		return // not queued
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		b.tail = w.prev
	}
	w.prev, w.next = nil, nil
}

func (b *Bucket) signalHeadLocked() {
	if b.head == nil {
		return
	}
	select {
	case b.head.wake <- struct{}{}:
	default:
	}
}
