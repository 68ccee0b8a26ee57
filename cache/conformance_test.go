package cache

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/cache/cachetest"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// TestConformance runs the llm.Cache suite against both stores. After each
// case, each store's own invariants are checked too.
func TestConformance(t *testing.T) {
	t.Run("Memory", func(t *testing.T) {
		cachetest.Run(t, func(t *testing.T) llm.Cache {
			const size = 64
			m := NewMemory(size)
			t.Cleanup(func() {
				assert.LessOrEqual(t, m.Len(), size)
				assert.Len(t, keysInOrder(m), m.Len(), "LRU list and map must agree")
			})
			return m
		})
	})
	t.Run("SQLite", func(t *testing.T) {
		cachetest.Run(t, func(t *testing.T) llm.Cache {
			s, err := OpenSQLite(filepath.Join(t.TempDir(), "cache.db"), WithWriteBuffer(16))
			require.NoError(t, err)
			t.Cleanup(func() {
				require.NoError(t, s.Flush(context.Background()))
				st, err := s.Stats(context.Background())
				require.NoError(t, err)
				assert.Zero(t, st.Corrupt)
				assert.Zero(t, st.WriteErrors)
				s.pmu.Lock()
				assert.Empty(t, s.pending, "committed Puts must leave the pending set")
				s.pmu.Unlock()
				require.NoError(t, s.Close())
			})
			return s
		})
	})
}

// store is one of the package's stores, with its statistics and a way to
// make its writes visible to the file (a no-op in memory).
type store struct {
	llm.Cache
	stats func() Stats
	flush func()
}

func stores(t *testing.T) map[string]func() store {
	return map[string]func() store{
		"Memory": func() store {
			m := NewMemory(10)
			return store{m, m.Stats, func() {}}
		},
		"SQLite": func() store {
			s, _ := openTemp(t)
			return store{s, func() Stats {
				st, err := s.Stats(context.Background())
				require.NoError(t, err)
				return st
			}, func() { require.NoError(t, s.Flush(context.Background())) }}
		},
	}
}

// TestHitsDescribeACacheHit: beyond the llm.Cache contract, both stores
// mark a hit as one (Cached, the original Cost) and count the cost it saved.
func TestHitsDescribeACacheHit(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			resp := fullResponse()
			require.NoError(t, s.Put(context.Background(), "k", resp))
			s.flush()
			mustMiss(t, s, "absent")
			got := mustGet(t, s, "k")
			assert.Equal(t, asHit(resp), *got)

			st := s.stats()
			assert.Equal(t, int64(1), st.Hits)
			assert.Equal(t, int64(1), st.Misses)
			assert.Equal(t, int64(1), st.Entries)
			assert.InDelta(t, resp.Cost, st.SavedCost, 1e-12)
			assert.InDelta(t, 0.5, st.HitRate(), 1e-12)
		})
	}
}

// TestBadPutsAndRolelessMessages: both stores refuse an empty key and a nil
// response, and store a message without a role as the assistant's (a
// message without a role does not decode).
func TestBadPutsAndRolelessMessages(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open()
			assert.ErrorContains(t, s.Put(ctx, "", textResponse("x")), "empty key")
			assert.ErrorContains(t, s.Put(ctx, "k", nil), "nil response")
			assert.Zero(t, s.stats().Entries)

			r := textResponse("no role")
			r.Message.Role = ""
			require.NoError(t, s.Put(ctx, "norole", r))
			s.flush()
			assert.Equal(t, conversation.RoleAssistant, mustGet(t, s, "norole").Message.Role)
			assert.Empty(t, r.Message.Role, "Put does not change its argument")
		})
	}
}

func TestStoresKeepUsageOfManyKeys(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			for i := range 10 {
				require.NoError(t, s.Put(context.Background(), fmt.Sprint(i), textResponse(fmt.Sprint(i))))
			}
			s.flush()
			assert.Equal(t, int64(10), s.stats().Entries)
			assert.Equal(t, int64(10), s.stats().Puts)
		})
	}
}
