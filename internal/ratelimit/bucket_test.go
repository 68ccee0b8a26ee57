package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a settable clock. Waiters still sleep on real timers, so
// tests that block use a frozen clock and wake waiters by refunds or
// cancellation, never by the passage of time.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Duration      { return time.Duration(c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestBurstThenEvenPacing(t *testing.T) {
	var clk fakeClock
	b := New(600, 5, clk.now) // one request per 100 ms, bursts of 5
	for i := range 5 {
		assert.Zero(t, b.Reserve(1), "request %d of the burst goes at once", i)
	}
	// The burst is spent: each further request is 100 ms after the last.
	for i := 1; i <= 3; i++ {
		assert.Equal(t, time.Duration(i)*100*time.Millisecond, b.Reserve(1))
	}
	// After a long idle period the bucket is full again, but no fuller.
	clk.advance(time.Hour)
	for range 5 {
		assert.Zero(t, b.Reserve(1))
	}
	assert.Equal(t, 100*time.Millisecond, b.Reserve(1))
}

func TestNoMoreThanBurstPlusRateInAnyWindow(t *testing.T) {
	// Property: sending as soon as allowed, the count in any window w is at
	// most burst + w*rate.
	var clk fakeClock
	const perMinute, burst = 6000.0, 10.0 // 100/s
	b := New(perMinute, burst, clk.now)
	var sent []time.Duration
	for range 1000 {
		d := b.Reserve(1)
		sent = append(sent, clk.now()+d)
		clk.advance(d)
	}
	for _, w := range []time.Duration{time.Second, 10 * time.Second} {
		limit := burst + w.Seconds()*perMinute/60
		j := 0
		for i := range sent {
			for sent[i]-sent[j] >= w {
				j++
			}
			require.LessOrEqual(t, float64(i-j+1), limit, "window %v ending at request %d", w, i)
		}
	}
	// And the average rate is the configured one.
	elapsed := sent[len(sent)-1] - sent[0]
	assert.InDelta(t, float64(len(sent)-int(burst))/100, elapsed.Seconds(), 0.02)
}

func TestCostAboveBurstIsAdmittedIntoDebt(t *testing.T) {
	var clk fakeClock
	b := New(60_000, 1000, clk.now) // 1,000 tokens per second, burst 1,000
	assert.Zero(t, b.Reserve(5000), "an idle bucket admits a request bigger than its burst")
	// The bucket now owes 5 s minus the 1 s tolerance (999 units, strictly).
	assert.InDelta(t, (4 * time.Second).Seconds(), b.Delay().Seconds(), 0.01)
}

func TestAdjustReconciles(t *testing.T) {
	var clk fakeClock
	b := New(60_000, 1, clk.now) // 1 unit per ms, no burst
	b.Reserve(1000)
	assert.Equal(t, time.Second, b.Delay())
	b.Adjust(-600) // the request used 400 units, not 1,000
	assert.Equal(t, 400*time.Millisecond, b.Delay())
	b.Adjust(100) // or more than estimated
	assert.Equal(t, 500*time.Millisecond, b.Delay())
}

func TestUnlimited(t *testing.T) {
	b := New(0, 0, nil)
	assert.True(t, b.Unlimited())
	for range 100 {
		d, err := b.Wait(context.Background(), 1_000_000)
		require.NoError(t, err)
		require.Zero(t, d)
	}
	b.SetRate(60, 1)
	assert.False(t, b.Unlimited())
	pm, burst := b.Rate()
	assert.Equal(t, 60.0, pm)
	assert.Equal(t, 1.0, burst)
}

func TestWaitIsFIFOAndRefundWakesHead(t *testing.T) {
	var clk fakeClock // frozen: only refunds can admit waiters
	b := New(60, 1, clk.now)
	_, err := b.Wait(context.Background(), 1)
	require.NoError(t, err)

	var (
		mu    sync.Mutex
		order []int
		wg    sync.WaitGroup
	)
	for i := range 3 {
		// Enqueue one at a time so the arrival order is known.
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := b.Wait(context.Background(), 1)
			assert.NoError(t, err)
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		}()
		require.Eventually(t, func() bool { return b.Queued() == i+1 }, 5*time.Second, time.Millisecond)
	}
	for i := range 3 {
		b.Adjust(-1) // refund one unit: exactly one waiter conforms
		require.Eventually(t, func() bool { return b.Queued() == 2-i }, 5*time.Second, time.Millisecond)
	}
	wg.Wait()
	assert.Equal(t, []int{0, 1, 2}, order)
}

func TestWaitCanceledChargesNothingAndPromotesNext(t *testing.T) {
	var clk fakeClock
	b := New(60, 1, clk.now)
	b.Reserve(1)
	before := b.Delay()

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := b.Wait(ctx, 1); errc <- err }()
	require.Eventually(t, func() bool { return b.Queued() == 1 }, 5*time.Second, time.Millisecond)

	second := make(chan error, 1)
	go func() { _, err := b.Wait(context.Background(), 1); second <- err }()
	require.Eventually(t, func() bool { return b.Queued() == 2 }, 5*time.Second, time.Millisecond)

	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	assert.Equal(t, 1, b.Queued())
	assert.Equal(t, before, b.Delay(), "a canceled wait charges nothing")

	b.Adjust(-1)
	require.NoError(t, <-second, "the next waiter was promoted to head")
}

func TestWaitAlreadyCanceled(t *testing.T) {
	var clk fakeClock
	b := New(60, 1, clk.now)
	b.Reserve(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Wait(ctx, 1)
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, b.Queued())
}

func TestSetRateWakesWaiters(t *testing.T) {
	var clk fakeClock
	b := New(1, 1, clk.now) // one per minute
	b.Reserve(1)
	done := make(chan struct{})
	go func() {
		_, err := b.Wait(context.Background(), 1)
		assert.NoError(t, err)
		close(done)
	}()
	require.Eventually(t, func() bool { return b.Queued() == 1 }, 5*time.Second, time.Millisecond)
	b.SetRate(0, 0) // lift the limit
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("waiter not released by SetRate")
	}
}

func TestWaitDefaultClockPaces(t *testing.T) {
	// 20 requests at 1,200/min (one per 50 ms) with a burst of 1 take 19
	// intervals, on the default clock, in a synctest bubble's fake time.
	synctest.Test(t, func(t *testing.T) {
		b := New(1200, 1, nil)
		start := time.Now()
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, err := b.Wait(t.Context(), 1)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		assert.Equal(t, 19*50*time.Millisecond, time.Since(start))
	})
}

func BenchmarkWaitUncontended(b *testing.B) {
	bk := New(1e12, 1e9, nil)
	ctx := context.Background()
	for b.Loop() {
		_, _ = bk.Wait(ctx, 1)
	}
}

func TestNowRunsOnSynctestTime(t *testing.T) {
	outside := Now()
	require.Positive(t, outside)
	synctest.Test(t, func(t *testing.T) {
		start := Now()
		require.Positive(t, start, "readings are positive in a bubble too")
		time.Sleep(90 * time.Second)
		assert.Equal(t, 90*time.Second, Now()-start, "the bubble's fake time")

		// A bucket on the default clock paces in fake time: 60 a minute
		// with a burst of 1 admits one a second.
		b := New(60, 1, nil)
		begin := time.Now()
		for range 5 {
			_, err := b.Wait(t.Context(), 1)
			require.NoError(t, err)
		}
		assert.Equal(t, 4*time.Second, time.Since(begin))
	})
}
