package cache

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

func TestMemoryRoundTrip(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(10)
	resp := fullResponse()
	require.NoError(t, m.Put(ctx, "k", resp))

	got, ok, err := m.Get(ctx, "k")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, asHit(resp), *got)
	assert.Nil(t, got.Header, "headers must never be cached")
	assert.True(t, got.Cached)
	assert.Zero(t, got.Cost, "a hit costs nothing")

	st := m.Stats()
	assert.Equal(t, int64(1), st.Hits)
	assert.Equal(t, int64(1), st.Puts)
	assert.Equal(t, int64(1), st.Entries)
	assert.InDelta(t, resp.Cost, st.SavedCost, 1e-12)
}

func TestMemoryMiss(t *testing.T) {
	m := NewMemory(10)
	got, ok, err := m.Get(context.Background(), "absent")
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Nil(t, got)
	assert.Equal(t, int64(1), m.Stats().Misses)
	assert.Zero(t, m.Stats().HitRate())
}

func keysInOrder(m *Memory) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for e := m.root.next; e != &m.root; e = e.next {
		keys = append(keys, e.key)
	}
	return keys
}

func TestMemoryLRUEviction(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(3)
	for _, k := range []string{"a", "b", "c"} {
		require.NoError(t, m.Put(ctx, k, textResponse(k)))
	}
	assert.Equal(t, []string{"c", "b", "a"}, keysInOrder(m))

	// A Get makes "a" the most recently used, so "b" is the next victim.
	_, ok, _ := m.Get(ctx, "a")
	require.True(t, ok)
	assert.Equal(t, []string{"a", "c", "b"}, keysInOrder(m))

	require.NoError(t, m.Put(ctx, "d", textResponse("d")))
	assert.Equal(t, []string{"d", "a", "c"}, keysInOrder(m))
	_, ok, _ = m.Get(ctx, "b")
	assert.False(t, ok, "b was least recently used and must be evicted")

	// Re-putting an existing key refreshes it without evicting.
	require.NoError(t, m.Put(ctx, "c", textResponse("c2")))
	assert.Equal(t, []string{"c", "d", "a"}, keysInOrder(m))
	got, ok, _ := m.Get(ctx, "c")
	require.True(t, ok)
	assert.Equal(t, "c2", got.Completion)

	require.NoError(t, m.Put(ctx, "e", textResponse("e")))
	assert.Equal(t, []string{"e", "c", "d"}, keysInOrder(m))
	for _, k := range []string{"a", "b"} {
		_, ok, _ := m.Get(ctx, k)
		assert.False(t, ok, k)
	}
	assert.Equal(t, 3, m.Len())
	assert.Equal(t, int64(2), m.Stats().Evictions)
}

func TestMemoryIsolation(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(10)
	resp := fullResponse()
	want := asHit(fullResponse())
	require.NoError(t, m.Put(ctx, "k", resp))

	// Changing the original after Put must not reach the store, down to
	// the values behind pointers.
	resp.Completion = "changed"
	resp.Message.Parts[0].Text = "changed"
	resp.Message.Parts[1].ToolCall.Arguments = "changed"
	resp.ContentFilter.Violence.Severity = "high"
	resp.ContentFilter.ProtectedMaterialCode.Citation.URL = "changed"
	resp.PromptFilter[0].Error.Code = "changed"
	resp.Logprobs[0].Bytes[0] = 'X'
	resp.Logprobs[0].TopLogprobs[1].Token = "changed"

	got, ok, err := m.Get(ctx, "k")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, want, *got)

	// Changing a hit's struct and slices must not reach the store either.
	got.Completion = "mine"
	got.Message.Parts[0] = conversation.Text("mine")
	got.Message.Parts = append(got.Message.Parts, conversation.Text("more"))
	got.PromptFilter[0] = llm.ContentFilterResults{}
	got.Logprobs[1].Token = "mine"

	again, ok, err := m.Get(ctx, "k")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, want, *again)
}

func TestMemoryBadInput(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(0)
	assert.Equal(t, DefaultMaxEntries, m.max)
	assert.Equal(t, DefaultMaxEntries, NewMemory(-3).max)

	assert.ErrorContains(t, m.Put(ctx, "", textResponse("x")), "empty key")
	assert.ErrorContains(t, m.Put(ctx, "k", nil), "nil response")
	assert.Zero(t, m.Len())

	// A message without a role is stored as the assistant's.
	r := textResponse("x")
	r.Message.Role = ""
	require.NoError(t, m.Put(ctx, "k", r))
	got, ok, _ := m.Get(ctx, "k")
	require.True(t, ok)
	assert.Equal(t, conversation.RoleAssistant, got.Message.Role)
}

func TestMemoryClear(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(5)
	for i := range 5 {
		require.NoError(t, m.Put(ctx, fmt.Sprint(i), textResponse("x")))
	}
	require.Equal(t, 5, m.Len())
	m.Clear()
	assert.Zero(t, m.Len())
	_, ok, _ := m.Get(ctx, "1")
	assert.False(t, ok)
	// Still usable, and the bound still holds.
	for i := range 7 {
		require.NoError(t, m.Put(ctx, fmt.Sprint(i), textResponse("x")))
	}
	assert.Equal(t, 5, m.Len())
	assert.Equal(t, []string{"6", "5", "4", "3", "2"}, keysInOrder(m))
}

func TestMemoryConcurrent(t *testing.T) {
	ctx := context.Background()
	const size, workers, ops, keys = 64, 8, 2000, 200
	m := NewMemory(size)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range ops {
				k := fmt.Sprint((i*7 + w) % keys)
				if i%3 == 0 {
					assert.NoError(t, m.Put(ctx, k, textResponse(k)))
					continue
				}
				got, ok, err := m.Get(ctx, k)
				assert.NoError(t, err)
				if ok {
					// A hit must be the response stored under its key.
					assert.Equal(t, k, got.Completion)
					got.Message.Parts[0].Text = "scribble" // must not race with others
				}
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, m.Len(), size)
	st := m.Stats()
	assert.Equal(t, int64(workers*ops), st.Hits+st.Misses+st.Puts)
	assert.Len(t, keysInOrder(m), m.Len(), "list and map must agree")
}

func BenchmarkMemoryGet(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(10_000)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("%064x", i)
		if err := m.Put(ctx, keys[i], fullResponse()); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok, _ := m.Get(ctx, keys[i%len(keys)]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, ok, _ := m.Get(ctx, keys[i%len(keys)]); !ok {
					b.Fatal("miss")
				}
				i++
			}
		})
	})
}

func BenchmarkMemoryPut(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(1000)
	resp := fullResponse()
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprintf("%064x", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := m.Put(ctx, keys[i%len(keys)], resp); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkMemoryGetTypical(b *testing.B) {
	ctx := context.Background()
	m := NewMemory(10_000)
	resp := textResponse("The capital of France is Paris.")
	resp.PromptFilter = []llm.ContentFilterResults{{Hate: &llm.SeverityResult{Severity: "safe"}}}
	resp.ContentFilter = &llm.ContentFilterResults{Hate: &llm.SeverityResult{Severity: "safe"}}
	if err := m.Put(ctx, "k", resp); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := m.Get(ctx, "k"); !ok {
			b.Fatal("miss")
		}
	}
}
