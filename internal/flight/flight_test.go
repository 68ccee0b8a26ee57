package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type reply struct{ text string }

// start runs g.Do(key) on a goroutine and returns its outcome's channel.
func start(ctx context.Context, g *Group[*reply], key string, fn func() (*reply, error)) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		v, shared, err := g.Do(ctx, key, fn)
		ch <- outcome{v, shared, err}
	}()
	return ch
}

type outcome struct {
	v      *reply
	shared bool
	err    error
}

func TestConcurrentCallersShareOneRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			g    = Group[*reply]{Share: func(r *reply) *reply { cp := *r; return &cp }}
			runs atomic.Int32
			gate = make(chan struct{})
			mine = &reply{"hello"}
		)
		fn := func() (*reply, error) {
			runs.Add(1)
			<-gate
			return mine, nil
		}
		leader := start(t.Context(), &g, "k", fn)
		synctest.Wait() // the leader runs fn and blocks in it
		var waiters []<-chan outcome
		for range 5 {
			waiters = append(waiters, start(t.Context(), &g, "k", fn))
		}
		other := start(t.Context(), &g, "other", func() (*reply, error) { return &reply{"other"}, nil })
		synctest.Wait()
		close(gate)

		l := <-leader
		assert.False(t, l.shared)
		assert.Same(t, mine, l.v, "the caller that ran fn keeps its value")
		for _, w := range waiters {
			o := <-w
			require.NoError(t, o.err)
			assert.True(t, o.shared)
			assert.Equal(t, "hello", o.v.text)
			assert.NotSame(t, mine, o.v, "waiters get Share's copy")
		}
		assert.EqualValues(t, 1, runs.Load(), "one run for the key")
		assert.Equal(t, "other", (<-other).v.text, "another key runs on its own")

		// The key is free again.
		_, shared, err := g.Do(t.Context(), "k", func() (*reply, error) { return mine, nil })
		require.NoError(t, err)
		assert.False(t, shared)
	})
}

func TestWaiterLeavesWhenItsContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			g     Group[*reply]
			gate  = make(chan struct{})
			waits atomic.Int32
		)
		g.Wait = func(context.Context) func() {
			waits.Add(1)
			return func() { waits.Add(-1) }
		}
		leader := start(t.Context(), &g, "k", func() (*reply, error) { <-gate; return &reply{"late"}, nil })
		synctest.Wait()
		ctx, cancel := context.WithCancel(t.Context())
		w := start(ctx, &g, "k", nil)
		synctest.Wait()
		assert.EqualValues(t, 1, waits.Load(), "Wait reports the waiting caller")
		cancel()
		o := <-w
		assert.ErrorIs(t, o.err, context.Canceled)
		assert.True(t, o.shared)
		assert.Zero(t, waits.Load(), "and the end of its wait")
		close(gate)
		assert.Equal(t, "late", (<-leader).v.text)
	})
}

var errAbandoned = errors.New("abandoned")

func TestWaitersRunAgainAfterAnAbandonedRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			g    = Group[*reply]{Again: func(err error) bool { return errors.Is(err, errAbandoned) }}
			gate = make(chan struct{})
			runs atomic.Int32
		)
		leader := start(t.Context(), &g, "k", func() (*reply, error) { <-gate; return nil, errAbandoned })
		synctest.Wait()
		w := start(t.Context(), &g, "k", func() (*reply, error) { runs.Add(1); return &reply{"again"}, nil })
		synctest.Wait()
		close(gate)
		assert.ErrorIs(t, (<-leader).err, errAbandoned)
		o := <-w
		require.NoError(t, o.err)
		assert.False(t, o.shared, "the waiter ran fn itself")
		assert.Equal(t, "again", o.v.text)
		assert.EqualValues(t, 1, runs.Load())
	})
}

func TestWaitersShareAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			g    Group[*reply]
			gate = make(chan struct{})
			boom = errors.New("boom")
		)
		leader := start(t.Context(), &g, "k", func() (*reply, error) { <-gate; return nil, boom })
		synctest.Wait()
		w := start(t.Context(), &g, "k", func() (*reply, error) { t.Error("a waiter ran fn"); return nil, nil })
		synctest.Wait()
		close(gate)
		assert.ErrorIs(t, (<-leader).err, boom)
		o := <-w
		assert.ErrorIs(t, o.err, boom, "without Again, a failure is shared")
		assert.True(t, o.shared)
	})
}

func TestManyKeysConcurrently(t *testing.T) {
	var (
		g    Group[int]
		wg   sync.WaitGroup
		runs atomic.Int32
	)
	for i := range 200 {
		wg.Go(func() {
			key := string(rune('a' + i%7))
			v, _, err := g.Do(context.Background(), key, func() (int, error) { runs.Add(1); return i % 7, nil })
			assert.NoError(t, err)
			assert.Equal(t, i%7, v)
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, runs.Load(), int32(200))
	g.mu.Lock()
	assert.Empty(t, g.m, "no run is left behind")
	g.mu.Unlock()
}
