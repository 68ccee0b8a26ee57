package rediscache_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/cache/cachetest"
	"github.com/deluge-go/deluge/cache/rediscache"
	"github.com/deluge-go/deluge/internal/clocktest"
	"github.com/deluge-go/deluge/internal/redistest"
	"github.com/deluge-go/deluge/llm"
)

var nextPrefix atomic.Int64

// prefix returns a namespace of its own for each store of a test.
func prefix() string { return fmt.Sprintf("t%d:", nextPrefix.Add(1)) }

func TestConformance(t *testing.T) {
	srv := redistest.New(t)
	rdb := srv.Client()
	t.Cleanup(func() { rdb.Close() })
	cachetest.Run(t, func(t *testing.T) llm.Cache {
		s, err := rediscache.New(rdb, rediscache.WithPrefix(prefix()), rediscache.WithMaxEntries(100))
		require.NoError(t, err)
		t.Cleanup(func() {
			st, err := s.Stats(context.Background())
			require.NoError(t, err)
			assert.Zero(t, st.Corrupt)
			assert.Zero(t, st.WriteErrors)
			assert.LessOrEqual(t, st.Entries, int64(100))
			checkBytes(t, rdb, s)
		})
		return s
	})
}

// checkBytes checks the store's byte counter against its entries.
func checkBytes(t *testing.T, rdb *redis.Client, s *rediscache.Store) {
	t.Helper()
	ctx := context.Background()
	k := s.Keys()
	all, err := rdb.HGetAll(ctx, k[0]).Result()
	require.NoError(t, err)
	want := 0
	for f, v := range all {
		want += len(f) + len(v)
	}
	got, err := rdb.Get(ctx, k[2]).Int()
	if err == redis.Nil {
		got, err = 0, nil
	}
	require.NoError(t, err)
	assert.Equal(t, want, got, "the byte counter matches the entries")
	n, err := rdb.ZCard(ctx, k[1]).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(len(all)), n, "one time per entry")
}

func put(t *testing.T, s *rediscache.Store, key string, r *llm.Response) {
	t.Helper()
	require.NoError(t, s.Put(context.Background(), key, r))
}

func hit(t *testing.T, s *rediscache.Store, key string) bool {
	t.Helper()
	_, ok, err := s.Get(context.Background(), key)
	require.NoError(t, err)
	return ok
}

// Two stores on one Redis (two processes) share entries; a hit is marked
// as one and counts the cost it saved.
func TestSharedAndHitsAreHits(t *testing.T) {
	srv := redistest.New(t)
	rdb := srv.Client()
	defer rdb.Close()
	p := prefix()
	a, _ := rediscache.New(rdb, rediscache.WithPrefix(p))
	b, _ := rediscache.New(rdb, rediscache.WithPrefix(p))
	r := cachetest.FullResponse()
	put(t, a, cachetest.Key(1), r)
	got, ok, err := b.Get(context.Background(), cachetest.Key(1))
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, got.Cached)
	assert.Zero(t, got.Cost)
	assert.Nil(t, got.Header)
	st, err := b.Stats(context.Background())
	require.NoError(t, err)
	assert.InDelta(t, r.Cost, st.SavedCost, 1e-9)
	assert.Equal(t, int64(1), st.Entries)
	assert.Equal(t, int64(1), st.Hits)

	raw, err := rdb.HGet(context.Background(), a.Keys()[0], cachetest.Key(1)).Result()
	require.NoError(t, err)
	assert.NotContains(t, raw, "SECRET", "HTTP headers (and the keys in them) are never stored")
}

func TestMaxEntriesDropsTheOldest(t *testing.T) {
	srv := redistest.New(t)
	rdb := srv.Client()
	defer rdb.Close()
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, _ := rediscache.New(rdb, rediscache.WithPrefix(prefix()), rediscache.WithMaxEntries(3), rediscache.WithClock(clock.Now))
	for i := range 5 {
		put(t, s, cachetest.Key(i), cachetest.TextResponse(fmt.Sprint(i)))
		clock.Advance(time.Millisecond)
	}
	for i := range 5 {
		assert.Equal(t, i >= 2, hit(t, s, cachetest.Key(i)), "entry %d", i)
	}
	st, _ := s.Stats(context.Background())
	assert.Equal(t, int64(3), st.Entries)
	assert.Equal(t, int64(2), st.Evictions)
	checkBytes(t, rdb, s)
}

func TestMaxBytesBoundsTheSize(t *testing.T) {
	srv := redistest.New(t)
	rdb := srv.Client()
	defer rdb.Close()
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	const bound = 4000
	s, _ := rediscache.New(rdb, rediscache.WithPrefix(prefix()), rediscache.WithMaxBytes(bound), rediscache.WithClock(clock.Now))
	for i := range 40 {
		put(t, s, cachetest.Key(i), cachetest.TextResponse(strings.Repeat("x", 200)))
		clock.Advance(time.Millisecond)
		size, err := rdb.Get(context.Background(), s.Keys()[2]).Int()
		require.NoError(t, err)
		require.LessOrEqual(t, size, bound, "after Put %d", i)
	}
	assert.True(t, hit(t, s, cachetest.Key(39)), "the newest is kept")
	assert.False(t, hit(t, s, cachetest.Key(0)), "the oldest went")
	checkBytes(t, rdb, s)

	err := s.Put(context.Background(), cachetest.Key(99), cachetest.TextResponse(strings.Repeat("y", bound)))
	require.ErrorContains(t, err, "larger than the store's bound")
	assert.False(t, hit(t, s, cachetest.Key(99)))
	checkBytes(t, rdb, s)
}

func TestTTL(t *testing.T) {
	srv := redistest.New(t)
	rdb := srv.Client()
	defer rdb.Close()
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, _ := rediscache.New(rdb, rediscache.WithPrefix(prefix()), rediscache.WithTTL(time.Hour), rediscache.WithClock(clock.Now))
	put(t, s, cachetest.Key(1), cachetest.TextResponse("old"))
	clock.Advance(59 * time.Minute)
	assert.True(t, hit(t, s, cachetest.Key(1)))
	clock.Advance(2 * time.Minute)
	assert.False(t, hit(t, s, cachetest.Key(1)), "older than the TTL: a miss")
	put(t, s, cachetest.Key(2), cachetest.TextResponse("new")) // deletes the expired one
	n, err := rdb.HLen(context.Background(), s.Keys()[0]).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	st, _ := s.Stats(context.Background())
	assert.Equal(t, int64(2), st.Expired, "one lookup, one deletion")
	ttl, err := rdb.PTTL(context.Background(), s.Keys()[0]).Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, 59*time.Minute, "the keys expire a TTL after the last Put")
	checkBytes(t, rdb, s)
}

func TestCorruptEntryIsAMiss(t *testing.T) {
	srv := redistest.New(t)
	rdb := srv.Client()
	defer rdb.Close()
	s, _ := rediscache.New(rdb, rediscache.WithPrefix(prefix()))
	require.NoError(t, rdb.HSet(context.Background(), s.Keys()[0], "k1", "garbage", "k2", "d1:1:{not json").Err())
	assert.False(t, hit(t, s, "k1"))
	assert.False(t, hit(t, s, "k2"))
	st, _ := s.Stats(context.Background())
	assert.Equal(t, int64(2), st.Corrupt)
}

// Redis lost: Get and Put fail with ErrUnavailable, then at once without
// calling Redis for a second; once Redis is back, the store works again.
func TestLostRedis(t *testing.T) {
	srv := redistest.New(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	s, _ := rediscache.New(rdb, rediscache.WithPrefix(prefix()))
	put(t, s, "k", cachetest.TextResponse("x"))
	srv.Kill()
	ctx := context.Background()
	_, _, err := s.Get(ctx, "k")
	require.ErrorIs(t, err, rediscache.ErrUnavailable)
	require.ErrorIs(t, s.Put(ctx, "k2", cachetest.TextResponse("y")), rediscache.ErrUnavailable)
	require.NoError(t, srv.Restart())
	require.Eventually(t, func() bool {
		return s.Put(ctx, "k3", cachetest.TextResponse("z")) == nil
	}, 10*time.Second, 50*time.Millisecond)
	assert.True(t, hit(t, s, "k3"))
}
