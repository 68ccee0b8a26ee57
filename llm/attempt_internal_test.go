package llm

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/internal/deadline"
	"github.com/deluge-go/deluge/internal/workpool"
)

func TestAttemptContext(t *testing.T) {
	const timeout = time.Hour
	parent := context.Background()
	deadlines := deadline.NewShared(parent, timeout)
	defer deadlines.Close()
	batch := &batchContext{Context: parent, deadlines: deadlines, pool: workpool.New(1, 1)}

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
