package deadline

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeNow is a settable clock.
type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time { return f.t }

func TestWindows(t *testing.T) {
	const timeout = time.Hour // no real timer fires during the test
	clock := &fakeNow{t: time.Now()}
	s := NewShared(context.Background(), timeout)
	s.now = clock.now
	window := timeout / Windows
	assert.Equal(t, timeout, s.Timeout())

	start := clock.t
	a := s.Get()
	require.NotNil(t, a)
	d, ok := a.Deadline()
	require.True(t, ok)
	assert.Equal(t, start.Add(timeout+window), d, "the window's start plus the timeout plus the window")

	clock.t = start.Add(window - 1)
	assert.Same(t, a, s.Get(), "attempts starting in the same window share its context")
	d, _ = a.Deadline()
	assert.GreaterOrEqual(t, d.Sub(clock.t), timeout, "the last attempt of a window still gets the whole timeout")

	clock.t = start.Add(window)
	b := s.Get()
	assert.NotSame(t, a, b, "a new window")
	d, _ = b.Deadline()
	assert.Equal(t, clock.t.Add(timeout+window), d)
	assert.NoError(t, a.Err(), "opening a window does not end the previous one")

	s.Close()
	assert.ErrorIs(t, a.Err(), context.Canceled, "Close cancels every context handed out")
	assert.ErrorIs(t, b.Err(), context.Canceled)
	assert.Nil(t, s.Get(), "closed: attempts fall back to their own context")
}

func TestForgetExpiredWindows(t *testing.T) {
	// A clock a day behind the real one: every window's deadline (one hour
	// and a bit after its start) is already past, so each context is born
	// expired, as after a long batch, and must not pile up.
	clock := &fakeNow{t: time.Now().Add(-24 * time.Hour)}
	s := NewShared(context.Background(), time.Hour)
	s.now = clock.now
	for range 100 {
		require.NotNil(t, s.Get())
		clock.t = clock.t.Add(time.Hour / Windows)
	}
	s.mu.Lock()
	live := len(s.live)
	s.mu.Unlock()
	assert.LessOrEqual(t, live, 1)
	s.Close()
}

func TestFollowTheParent(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	s := NewShared(parent, time.Hour)
	defer s.Close()
	ctx := s.Get()
	assert.Equal(t, "v", ctx.Value(key{}), "the caller's values reach the provider")
	cancel()
	assert.ErrorIs(t, ctx.Err(), context.Canceled, "the caller's cancellation reaches the attempt")
}

func TestCancelsAHungAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 20 * time.Second
		s := NewShared(context.Background(), timeout)
		defer s.Close()
		start := time.Now()
		ctx := s.Get()
		<-ctx.Done() // an attempt that never returns on its own
		assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
		took := time.Since(start)
		assert.GreaterOrEqual(t, took, timeout, "never before the timeout")
		assert.LessOrEqual(t, took, timeout+timeout/Windows, "at most a window later")
	})
}

func TestLateAttemptOfAWindowGetsTheWholeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 16 * time.Second
		s := NewShared(context.Background(), timeout)
		defer s.Close()
		first := s.Get()
		time.Sleep(timeout/Windows - time.Millisecond) // the window's last moment
		start := time.Now()
		late := s.Get()
		require.Same(t, first, late)
		<-late.Done()
		assert.GreaterOrEqual(t, time.Since(start), timeout)
	})
}
