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

// gate is a resource that admits one request every interval, on the
// default clock (a synctest bubble's fake time in these tests), and counts
// the tries made concurrently.
type gate struct {
	mu       sync.Mutex
	next     time.Duration
	interval time.Duration
	ahead    time.Duration
	tries    atomic.Int64
	inTry    atomic.Int64
	overlap  atomic.Bool
}

func (g *gate) try() (time.Duration, bool) {
	if g.inTry.Add(1) > 1 {
		g.overlap.Store(true)
	}
	defer g.inTry.Add(-1)
	g.tries.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	now := Now()
	at := max(g.next, now)
	if at-now > g.ahead {
		return at - now, false
	}
	g.next = at + g.interval
	return at - now, true
}

func TestQueueAdmitsInOrderOneTryAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			q     Queue
			g     = &gate{interval: 10 * time.Millisecond}
			mu    sync.Mutex
			order []int
			wg    sync.WaitGroup
		)
		start := time.Now()
		for i := range 50 {
			wg.Go(func() {
				_, ok, err := q.Wait(t.Context(), g.try)
				assert.True(t, ok)
				assert.NoError(t, err)
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
			})
			synctest.Wait() // enqueue one at a time, so the arrival order is known
		}
		wg.Wait()
		assert.Equal(t, 49*10*time.Millisecond, time.Since(start), "one every interval, the first at once")
		for i := range order {
			require.Equal(t, i, order[i], "FIFO")
		}
		assert.False(t, g.overlap.Load(), "only one caller tries at a time")
		assert.LessOrEqual(t, g.tries.Load(), int64(2*50), "about two tries per admission: no thundering herd")
		assert.Zero(t, q.Len())
	})
}

func TestQueueAheadKeepsTheHeadUntilItGoes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var q Queue
		g := &gate{interval: 10 * time.Millisecond, ahead: time.Second}
		start := time.Now()
		var wg sync.WaitGroup
		times := make([]time.Duration, 5)
		for i := range 5 {
			wg.Go(func() {
				_, ok, err := q.Wait(t.Context(), g.try)
				assert.True(t, ok)
				assert.NoError(t, err)
				times[i] = time.Since(start)
			})
			synctest.Wait()
		}
		wg.Wait()
		for i, d := range times {
			assert.Equal(t, time.Duration(i)*10*time.Millisecond, d, "request %d", i)
		}
		assert.EqualValues(t, 5, g.tries.Load(), "admitted ahead: one try per admission")
	})
}

func TestQueueWakeAsksAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			q    Queue
			open atomic.Bool
		)
		try := func() (time.Duration, bool) {
			if open.Load() {
				return 0, true
			}
			return time.Hour, false
		}
		done := make(chan struct{})
		go func() {
			_, ok, err := q.Wait(t.Context(), try)
			assert.True(t, ok)
			assert.NoError(t, err)
			close(done)
		}()
		synctest.Wait()
		require.Equal(t, 1, q.Len())
		open.Store(true)
		start := time.Now()
		q.Wake()
		<-done
		assert.Zero(t, time.Since(start), "woken at once, not after the hour")
	})
}

func TestQueueCancelPromotesTheNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			q    Queue
			open atomic.Bool
		)
		try := func() (time.Duration, bool) {
			if open.Load() {
				return 0, true
			}
			return time.Hour, false
		}
		ctx, cancel := context.WithCancel(t.Context())
		first := make(chan error, 1)
		go func() { _, _, err := q.Wait(ctx, try); first <- err }()
		synctest.Wait()
		second := make(chan error, 1)
		go func() { _, _, err := q.Wait(t.Context(), try); second <- err }()
		synctest.Wait()
		require.Equal(t, 2, q.Len())

		cancel()
		require.ErrorIs(t, <-first, context.Canceled)
		synctest.Wait()
		assert.Equal(t, 1, q.Len())
		open.Store(true)
		q.Wake()
		require.NoError(t, <-second, "the second caller became the head")

		// A canceled context fails a caller that would queue.
		open.Store(false)
		go func() { _, _, _ = q.Wait(t.Context(), try) }()
		synctest.Wait()
		_, ok, err := q.Wait(ctx, try)
		assert.False(t, ok)
		assert.ErrorIs(t, err, context.Canceled)
		open.Store(true)
		q.Wake()
	})
}

func TestQueueCancelDuringReservationReportsAdmitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var q Queue
		g := &gate{interval: time.Second, ahead: time.Hour}
		since, _, err := q.Wait(t.Context(), g.try) // the first goes at once
		assert.Zero(t, since, "no wait, no clock")
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		since, ok, err := q.Wait(ctx, g.try) // admitted for +1 s, canceled at +100 ms
		assert.Positive(t, since)
		assert.True(t, ok, "the caller must give the admission back")
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Zero(t, q.Len())
	})
}

func TestNowRunsOnSynctestTime(t *testing.T) {
	outside := Now()
	require.Positive(t, outside)
	synctest.Test(t, func(t *testing.T) {
		start := Now()
		require.Positive(t, start, "readings are positive in a bubble too")
		time.Sleep(90 * time.Second)
		assert.Equal(t, 90*time.Second, Now()-start, "the bubble's fake time")
	})
}

func BenchmarkQueueUncontended(b *testing.B) {
	var q Queue
	ctx := context.Background()
	try := func() (time.Duration, bool) { return 0, true }
	for b.Loop() {
		_, _, _ = q.Wait(ctx, try)
	}
}
