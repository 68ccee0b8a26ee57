package cache

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
)

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

func TestMemoryDefaultSize(t *testing.T) {
	assert.Equal(t, DefaultMaxEntries, NewMemory(0).max)
	assert.Equal(t, DefaultMaxEntries, NewMemory(-3).max)
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
	resp.PromptFilter = []llm.ContentFilterResults{{Hate: llm.SeverityResult{Severity: "safe"}}}
	resp.ContentFilter = &llm.ContentFilterResults{Hate: llm.SeverityResult{Severity: "safe"}}
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
