package llm

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeNow is a settable clock for sharedDeadlines.
type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time { return f.t }

func TestSharedDeadlinesWindows(t *testing.T) {
	const timeout = time.Hour // no real timer fires during the test
	clock := &fakeNow{t: time.Now()}
	s := newSharedDeadlines(context.Background(), timeout)
	s.now = clock.now
	window := timeout / deadlineWindows

	start := clock.t
	a := s.get()
	require.NotNil(t, a)
	d, ok := a.Deadline()
	require.True(t, ok)
	assert.Equal(t, start.Add(timeout+window), d, "the window's start plus the timeout plus the window")

	clock.t = start.Add(window - 1)
	assert.Same(t, a, s.get(), "attempts starting in the same window share its context")
	d, _ = a.Deadline()
	assert.GreaterOrEqual(t, d.Sub(clock.t), timeout, "the last attempt of a window still gets the whole timeout")

	clock.t = start.Add(window)
	b := s.get()
	assert.NotSame(t, a, b, "a new window")
	d, _ = b.Deadline()
	assert.Equal(t, clock.t.Add(timeout+window), d)
	assert.NoError(t, a.Err(), "opening a window does not end the previous one")

	s.close()
	assert.ErrorIs(t, a.Err(), context.Canceled, "close cancels every context handed out")
	assert.ErrorIs(t, b.Err(), context.Canceled)
	assert.Nil(t, s.get(), "closed: attempts fall back to their own context")
}

func TestSharedDeadlinesForgetExpiredWindows(t *testing.T) {
	// A clock a day behind the real one: every window's deadline (one hour
	// and a bit after its start) is already past, so each context is born
	// expired, as after a long batch, and must not pile up.
	clock := &fakeNow{t: time.Now().Add(-24 * time.Hour)}
	s := newSharedDeadlines(context.Background(), time.Hour)
	s.now = clock.now
	for range 100 {
		require.NotNil(t, s.get())
		clock.t = clock.t.Add(time.Hour / deadlineWindows)
	}
	s.mu.Lock()
	live := len(s.live)
	s.mu.Unlock()
	assert.LessOrEqual(t, live, 1)
	s.close()
}

func TestSharedDeadlinesFollowTheParent(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	s := newSharedDeadlines(parent, time.Hour)
	defer s.close()
	ctx := s.get()
	assert.Equal(t, "v", ctx.Value(key{}), "the caller's values reach the provider")
	cancel()
	assert.ErrorIs(t, ctx.Err(), context.Canceled, "the caller's cancellation reaches the attempt")
}

func TestSharedDeadlineCancelsAHungAttempt(t *testing.T) {
	// Real timers, generous bound: an attempt that never returns on its own
	// is cancelled at about the timeout (at most a sixteenth later).
	s := newSharedDeadlines(context.Background(), 20*time.Millisecond)
	defer s.close()
	ctx := s.get()
	select {
	case <-ctx.Done():
		assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
	case <-time.After(10 * time.Second):
		t.Fatal("the shared deadline never fired")
	}
}

func TestAttemptContext(t *testing.T) {
	const timeout = time.Hour
	parent := context.Background()
	deadlines := newSharedDeadlines(parent, timeout)
	defer deadlines.close()
	batch := &batchContext{Context: parent, deadlines: deadlines, pool: &workerPool{}}

	t.Run("a batch's attempts share their context", func(t *testing.T) {
		a, cancelA := attemptContext(batch, timeout)
		b, cancelB := attemptContext(batch, timeout)
		cancelA()
		cancelB()
		assert.Same(t, a, b)
		assert.NoError(t, a.Err(), "an attempt's cancel does not end the shared context")
	})
	t.Run("a context derived from the batch's gets its own", func(t *testing.T) {
		type key struct{}
		derived := context.WithValue(batch, key{}, 1)
		a, cancel := attemptContext(derived, timeout)
		defer cancel()
		shared, _ := attemptContext(batch, timeout)
		assert.NotSame(t, shared, a)
		assert.Equal(t, 1, a.Value(key{}))
		_, ok := a.Deadline()
		assert.True(t, ok)
	})
	t.Run("another timeout gets its own", func(t *testing.T) {
		before := time.Now()
		a, cancel := attemptContext(batch, time.Minute)
		defer cancel()
		d, ok := a.Deadline()
		require.True(t, ok)
		assert.False(t, d.Before(before.Add(time.Minute)))
		assert.True(t, d.Before(time.Now().Add(time.Minute+time.Second)))
	})
	t.Run("outside a batch, a context of its own", func(t *testing.T) {
		before := time.Now()
		a, cancel := attemptContext(parent, timeout)
		d, ok := a.Deadline()
		require.True(t, ok)
		assert.False(t, d.Before(before.Add(timeout)))
		cancel()
		assert.ErrorIs(t, a.Err(), context.Canceled, "released when the attempt is over")
	})
	t.Run("the caller's earlier deadline is enough", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(parent, time.Minute)
		defer cancel()
		a, done := attemptContext(ctx, timeout)
		defer done()
		assert.Equal(t, ctx, a, "no context, no timer of its own")
	})
}

func TestWorkerPool(t *testing.T) {
	spawned := 0
	p := &workerPool{limit: 4, max: 5}
	p.spawn = func() { spawned++ }
	for range 10 {
		p.start(p.limit)
	}
	assert.Equal(t, 4, spawned, "never more than limit workers without a wait")
	assert.False(t, p.retire())

	p.idle() // a job backs off: one extra worker takes its place
	assert.Equal(t, 5, spawned)
	p.idle() // another: the pool is at max
	assert.Equal(t, 5, spawned)
	assert.False(t, p.retire(), "busy: 3 of 4")

	p.resume()
	p.resume() // both waits over: 5 busy, one more than the limit
	assert.True(t, p.retire(), "the first worker to finish a job retires")
	assert.False(t, p.retire())
	assert.EqualValues(t, 4, p.alive.Load())
	assert.EqualValues(t, 4, p.busy.Load())

	for range 4 {
		p.exit()
	}
	assert.Zero(t, p.alive.Load())
	assert.Zero(t, p.busy.Load())
}
