package backoff

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJitterBounds(t *testing.T) {
	for n, ceil := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 4: 500 * time.Millisecond, 60: 500 * time.Millisecond} {
		seenHigh := false
		for range 2000 {
			d := Jitter(100*time.Millisecond, 500*time.Millisecond, n)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.Less(t, d, ceil, "retry %d", n)
			seenHigh = seenHigh || d >= ceil/2
		}
		assert.True(t, seenHigh, "retry %d: the jitter spans the whole range", n)
	}
	assert.Zero(t, Jitter(0, time.Second, 3))
}

func TestJitterWithoutCeilingDoesNotOverflow(t *testing.T) {
	for _, n := range []int{1, 10, 62, 63, 64, 200} {
		assert.GreaterOrEqual(t, Jitter(time.Second, 0, n), time.Duration(0), "retry %d", n)
	}
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		require.NoError(t, Sleep(t.Context(), time.Minute))
		assert.Equal(t, time.Minute, time.Since(start))

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		assert.ErrorIs(t, Sleep(ctx, time.Minute), context.Canceled)
		assert.ErrorIs(t, Sleep(ctx, 0), context.Canceled)
		assert.NoError(t, Sleep(t.Context(), -time.Second))
	})
}
