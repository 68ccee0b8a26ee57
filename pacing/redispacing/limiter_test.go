package redispacing_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/internal/clocktest"
	"github.com/deluge-go/deluge/internal/redistest"
	"github.com/deluge-go/deluge/pacing"
	"github.com/deluge-go/deluge/pacing/redispacing"
)

var rpm600 = pacing.Limits{RequestsPerMinute: 600} // one every 100 ms

// logBuffer collects log records, safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newLimiter(t *testing.T, rdb redispacing.Client, opts ...redispacing.Option) *redispacing.Limiter {
	t.Helper()
	l, err := redispacing.New(context.Background(), rdb, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

func admit(t *testing.T, p pacing.Pacer, l pacing.Limits, cost int) pacing.Decision {
	t.Helper()
	d, err := p.Admit(context.Background(), l, cost, 0)
	require.NoError(t, err)
	return d
}

// Two limiters (two processes) on one Redis pace one quota together: what
// one is charged, the other waits for; a cooldown, found limits and
// refunds set through one reach the other.
func TestLimitersShareAQuota(t *testing.T) {
	srv := redistest.New(t)
	rdb := srv.Client()
	defer rdb.Close()
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	a := newLimiter(t, rdb, redispacing.WithClock(clock.Now))
	b := newLimiter(t, rdb, redispacing.WithClock(clock.Now))
	const key = "https://r.openai.azure.com#gpt-4o"
	pa, pb := a.Pacer(key), b.Pacer(key)
	ctx := context.Background()

	require.True(t, admit(t, pa, rpm600, 1).Admitted)
	d := admit(t, pb, rpm600, 1)
	assert.False(t, d.Admitted)
	assert.Equal(t, 100*time.Millisecond, d.Wait)
	assert.Equal(t, pacing.Requests, d.Reason)

	// A refund through a, once sent, shortens b's wait.
	require.NoError(t, pa.Adjust(ctx, rpm600, -1, 0))
	require.NoError(t, a.Flush(ctx))
	assert.True(t, admit(t, pb, rpm600, 1).Admitted, "a's refund reached b")

	// A 429 seen by a pauses b.
	require.NoError(t, pa.Cool(ctx, 3*time.Second))
	d = admit(t, pb, rpm600, 1)
	assert.Equal(t, pacing.Cooldown, d.Reason)
	assert.Equal(t, 3*time.Second, d.Wait)

	// Limits a found are b's too.
	found := pacing.Limits{RequestsPerMinute: 300, TokensPerMinute: 1000}
	require.NoError(t, pa.SetFound(ctx, found))
	clock.Advance(3 * time.Second)
	d = admit(t, pb, rpm600, 1)
	assert.True(t, d.Admitted)
	assert.Equal(t, found, d.Found)
	d = admit(t, pa, rpm600, 1)
	assert.Equal(t, 200*time.Millisecond, d.Wait, "paced at the found 300 RPM")
}

// Without WithClock, every process reads Redis's clock (TIME inside the
// script), so hosts whose clocks disagree still agree on the pace. The
// second of two admissions at once waits for the pace, no longer.
func TestServerTime(t *testing.T) {
	srv := redistest.New(t)
	rdb := srv.Client()
	defer rdb.Close()
	a, b := newLimiter(t, rdb), newLimiter(t, rdb)
	const key = "server-time"
	require.True(t, admit(t, a.Pacer(key), rpm600, 1).Admitted)
	d := admit(t, b.Pacer(key), rpm600, 1)
	if d.Admitted {
		// Only if 100 ms passed between the two calls on a loaded machine.
		t.Skip("the machine paused for 100 ms between two calls")
	}
	assert.Equal(t, pacing.Requests, d.Reason)
	assert.Positive(t, d.Wait)
	assert.LessOrEqual(t, d.Wait, 100*time.Millisecond)
}

// State is namespaced and expires: a quota key's hash outlives its last
// reservation by the idle TTL, the worker set a few heartbeats.
func TestKeysAreNamespacedAndExpire(t *testing.T) {
	srv := redistest.New(t)
	rdb := srv.Client()
	defer rdb.Close()
	ctx := context.Background()
	l := newLimiter(t, rdb, redispacing.WithPrefix("job7:"), redispacing.WithIdleTTL(time.Minute))
	require.True(t, admit(t, l.Pacer("k"), pacing.Limits{TokensPerMinute: 600}, 100).Admitted) // 10 s of debt

	keys, err := rdb.Keys(ctx, "*").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"job7:pace:k", "job7:workers"}, keys)
	ttl, err := rdb.PTTL(ctx, "job7:pace:k").Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, time.Minute, "kept while the debt lasts")
	assert.LessOrEqual(t, ttl, time.Minute+10*time.Second)
	ttl, err = rdb.PTTL(ctx, "job7:workers").Result()
	require.NoError(t, err)
	assert.Positive(t, ttl)

	// An unlimited key leaves no state.
	require.True(t, admit(t, l.Pacer("free"), pacing.Limits{}, 100).Admitted)
	n, err := rdb.Exists(ctx, "job7:pace:free").Result()
	require.NoError(t, err)
	assert.Zero(t, n)
}

// Redis unreachable at start is an error wrapping ErrUnreachable, unless
// WithOptional: then the limiter paces locally.
func TestUnreachableAtStart(t *testing.T) {
	addr := closedAddr(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	defer rdb.Close()
	_, err := redispacing.New(context.Background(), rdb)
	require.ErrorIs(t, err, redispacing.ErrUnreachable)
	assert.Contains(t, err.Error(), "connection refused")

	var logs logBuffer
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newLimiter(t, rdb, redispacing.WithOptional(), redispacing.WithWorkers(2),
		redispacing.WithClock(clock.Now), redispacing.WithLogger(logs.logger()))
	assert.False(t, l.Attached())
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "unreachable at start")
	p := l.Pacer("k")
	d := admit(t, p, rpm600, 1)
	assert.Equal(t, 200*time.Millisecond, d.Wait, "half of 600 RPM: the share of one of two expected workers")
	clock.Advance(d.Wait)
	require.True(t, admit(t, p, rpm600, 1).Admitted)
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Redis lost mid-run: admissions go on locally at this worker's share of
// the live workers (learned from the heartbeat set), with one warning;
// when Redis is back (restarted empty on the same port) the limiter
// attaches again and paces through it.
func TestLostAndBack(t *testing.T) {
	srv := redistest.New(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	var logs logBuffer
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	hb := 20 * time.Millisecond
	a := newLimiter(t, rdb, redispacing.WithClock(clock.Now), redispacing.WithLogger(logs.logger()), redispacing.WithHeartbeat(hb))
	b := newLimiter(t, rdb, redispacing.WithClock(clock.Now), redispacing.WithHeartbeat(hb))
	require.Eventually(t, func() bool { return a.Workers() == 2 }, 10*time.Second, hb, "a counts both workers")
	b.Close() // b leaves the set; a still counts it until its next beat

	p := a.Pacer("k")
	require.True(t, admit(t, p, rpm600, 1).Admitted)
	require.Eventually(t, func() bool { return a.Workers() == 1 }, 10*time.Second, hb)

	srv.Kill()
	clock.Advance(100 * time.Millisecond)
	d := admit(t, p, rpm600, 1)
	assert.False(t, a.Attached())
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "%s", logs.String())
	// Locally, from one interval after the loss (requests Redis admitted
	// ahead may still be waiting to go), at the whole quota (one worker).
	assert.False(t, d.Admitted)
	assert.Equal(t, 100*time.Millisecond, d.Wait)
	clock.Advance(d.Wait)
	assert.True(t, admit(t, p, rpm600, 1).Admitted, "paced locally when Redis is lost: no error")
	d = admit(t, p, rpm600, 1)
	assert.Equal(t, 100*time.Millisecond, d.Wait, "one worker: the whole quota")

	require.NoError(t, srv.Restart())
	require.Eventually(t, a.Attached, 10*time.Second, hb, "attached again")
	assert.Contains(t, logs.String(), "answers again")
	clock.Advance(time.Second) // past the local reservation and the transition
	require.True(t, admit(t, p, rpm600, 1).Admitted)
	n, err := rdb.Exists(context.Background(), "deluge:pace:k").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "paced through Redis again")

	// A second loss is logged at info: the warning came once.
	srv.Kill()
	admit(t, p, rpm600, 1)
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"))
	st := a.Stats()
	assert.Equal(t, int64(2), st.Detached)
	assert.Equal(t, int64(1), st.Reattached)
}

// The fair share: two live workers lose Redis and each paces at half the
// quota.
func TestFairShareWhenLost(t *testing.T) {
	srv := redistest.New(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	hb := 20 * time.Millisecond
	a := newLimiter(t, rdb, redispacing.WithClock(clock.Now), redispacing.WithHeartbeat(hb), redispacing.WithLogger(slog.New(slog.DiscardHandler)))
	newLimiter(t, rdb, redispacing.WithClock(clock.Now), redispacing.WithHeartbeat(hb))
	require.Eventually(t, func() bool { return a.Workers() == 2 }, 10*time.Second, hb)
	srv.Kill()
	p := a.Pacer("k")
	l := pacing.Limits{RequestsPerMinute: 600, TokensPerMinute: 60_000}
	d := admit(t, p, l, 150)
	assert.Equal(t, 200*time.Millisecond, d.Wait, "one interval at half of 600 RPM")
	clock.Advance(d.Wait)
	require.True(t, admit(t, p, l, 150).Admitted)
	d = admit(t, p, l, 150)
	assert.Equal(t, pacing.Tokens, d.Reason)
	assert.Equal(t, 300*time.Millisecond, d.Wait, "150 tokens at half of 1,000 a second")
}

// Right after Redis is back, another worker may still pace locally: for
// three heartbeats, a worker takes no more than its share even when Redis
// would admit more; then the whole quota is shared through Redis again.
func TestReattachHoldsTheShareBriefly(t *testing.T) {
	srv := redistest.New(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	clock := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	hb := 20 * time.Millisecond
	quiet := redispacing.WithLogger(slog.New(slog.DiscardHandler))
	a := newLimiter(t, rdb, redispacing.WithClock(clock.Now), redispacing.WithHeartbeat(hb), quiet)
	newLimiter(t, rdb, redispacing.WithClock(clock.Now), redispacing.WithHeartbeat(hb), quiet)
	require.Eventually(t, func() bool { return a.Workers() == 2 }, 10*time.Second, hb)
	rpm := pacing.Limits{RequestsPerMinute: 6000} // 10 ms; 20 ms for each of two workers
	p := a.Pacer("k")
	srv.Kill()
	d := admit(t, p, rpm, 1)
	require.False(t, a.Attached())
	clock.Advance(d.Wait)
	require.True(t, admit(t, p, rpm, 1).Admitted) // locally

	require.NoError(t, srv.Restart())
	require.Eventually(t, a.Attached, 10*time.Second, hb)
	clock.Advance(20 * time.Millisecond) // the local reservation is over
	require.True(t, admit(t, p, rpm, 1).Admitted, "through Redis (and the share)")
	d = admit(t, p, rpm, 1)
	assert.Equal(t, 10*time.Millisecond, d.Wait, "Redis's pace")
	clock.Advance(10 * time.Millisecond)
	d = admit(t, p, rpm, 1)
	assert.False(t, d.Admitted, "Redis admits, the share does not yet")
	assert.Equal(t, 10*time.Millisecond, d.Wait)
	clock.Advance(60 * time.Millisecond) // three heartbeats: the transition is over
	require.True(t, admit(t, p, rpm, 1).Admitted)
	clock.Advance(10 * time.Millisecond)
	require.True(t, admit(t, p, rpm, 1).Admitted, "the whole quota through Redis, and the refund of the refused one reached it")
}

// An Admit whose context has ended answers a wait, not an error, and does
// not count as Redis lost.
func TestCanceledAdmit(t *testing.T) {
	srv := redistest.New(t)
	rdb := srv.Client()
	defer rdb.Close()
	l := newLimiter(t, rdb)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := l.Pacer("k").Admit(ctx, rpm600, 1, 0)
	require.NoError(t, err)
	assert.False(t, d.Admitted)
	assert.Positive(t, d.Wait)
	assert.True(t, l.Attached())
}
