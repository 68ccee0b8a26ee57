package azuretest

import (
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The limiter is tested directly with exact clocks, and through HTTP with a
// fake clock; one test uses the real clock to show a paced client is safe.

func TestLimiterPacedClientNeverRefused(t *testing.T) {
	// RPM 60, one request per second with up to ±400 ms of jitter on each
	// send time, and a burst of RPM/6 = 10 at the start: never a 429.
	var l limiter
	l.set(rateLimit{rpm: 60}, true)
	r := rand.New(rand.NewPCG(1, 2))
	base := int64(time.Hour)
	for i := range 10 {
		q := l.admit(base+int64(i), 1, rateLimit{})
		require.True(t, q.ok, "burst request %d", i)
	}
	base += int64(10 * time.Second) // the burst refills
	for i := range 1000 {
		jitter := r.Int64N(int64(800*time.Millisecond)) - int64(400*time.Millisecond)
		now := base + int64(i)*int64(time.Second) + jitter
		q := l.admit(now, 1, rateLimit{})
		require.True(t, q.ok, "paced request %d refused, wait %v", i, q.wait)
	}
}

func TestLimiterShortWindowIsNotStricterThanRPMOver6(t *testing.T) {
	// Any arrival pattern with at most RPM/6 requests in every 10 s window
	// is admitted: here bursts of 10 at the start of each 10 s window, for
	// RPM 60, aligned to the window edge (worst case).
	var l limiter
	l.set(rateLimit{rpm: 60}, true)
	for w := range 30 {
		for i := range 10 {
			q := l.admit(int64(w)*int64(10*time.Second)+int64(i), 1, rateLimit{})
			require.True(t, q.ok, "window %d request %d", w, i)
		}
	}
}

func TestLimiterRefusesAndWaitIsExact(t *testing.T) {
	var l limiter
	l.set(rateLimit{rpm: 60}, true)
	now := int64(time.Hour)
	for range 10 {
		require.True(t, l.admit(now, 1, rateLimit{}).ok)
	}
	q := l.admit(now, 1, rateLimit{})
	require.False(t, q.ok)
	assert.Equal(t, "call", q.kind)
	assert.Equal(t, time.Second, q.wait)
	// One nanosecond early is still too early; on time is admitted.
	assert.False(t, l.admit(now+int64(q.wait)-1, 1, rateLimit{}).ok)
	assert.True(t, l.admit(now+int64(q.wait), 1, rateLimit{}).ok)
}

func TestLimiterSustainedOverloadIsRefused(t *testing.T) {
	// 2 req/s against RPM 60: the 10 s burst allowance lasts ~10 s.
	var l limiter
	l.set(rateLimit{rpm: 60}, true)
	refused := 0
	for i := range 120 { // 60 s
		if !l.admit(int64(i)*int64(500*time.Millisecond), 1, rateLimit{}).ok {
			refused++
		}
	}
	assert.InDelta(t, 120-70, refused, 2, "admitted: 60 refilled + 10 burst")
}

func TestLimiterTokens(t *testing.T) {
	var l limiter
	l.set(rateLimit{tpm: 6000}, true) // 100 tokens/s, capacity 6000
	now := int64(time.Hour)
	require.True(t, l.admit(now, 5000, rateLimit{}).ok)
	q := l.admit(now, 5000, rateLimit{})
	require.True(t, q.ok, "overdraft: the bucket was not full yet")
	assert.Zero(t, q.remainTok)
	q = l.admit(now, 1, rateLimit{})
	require.False(t, q.ok)
	assert.Equal(t, "token", q.kind)
	// 10000 owed, capacity 6000: 4000 tokens at 100/s = 40 s.
	assert.InDelta(t, 40*time.Second, q.wait, float64(time.Millisecond))
	assert.True(t, l.admit(now+int64(q.wait), 1, rateLimit{}).ok)

	// A single request larger than the whole TPM passes on an idle deployment.
	var big limiter
	big.set(rateLimit{tpm: 1000}, true)
	assert.True(t, big.admit(now, 50000, rateLimit{}).ok)
}

func TestLimiterDefaultsAndUnlimited(t *testing.T) {
	var l limiter
	assert.True(t, l.admit(0, 1<<40, rateLimit{}).ok, "no limits")
	assert.True(t, l.admit(0, 1, rateLimit{rpm: 1}).ok)
	assert.False(t, l.admit(0, 1, rateLimit{rpm: 1}).ok, "the default applies when not explicit")
	l.set(rateLimit{}, true)
	assert.True(t, l.admit(0, 1, rateLimit{rpm: 1}).ok, "explicit unlimited wins over the default")
}

func TestQuotaHTTP(t *testing.T) {
	clock := newFakeClock()
	s := NewServer(WithClock(clock.Now), WithDefaultRateLimit(60, 0))
	defer s.Close()
	url := classicURL(s, "gpt-4o", "2024-10-21")

	// Paced at 1 req/s for two minutes: never a 429.
	for i := range 120 {
		resp, body := do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "request %d: %s", i, body)
		assert.Equal(t, "60", resp.Header.Get("x-ratelimit-limit-requests"))
		clock.Advance(time.Second)
	}
	// A burst: the first RPM/6 pass (one is refilled per second), then 429s.
	var ok, limited int
	for range 20 {
		resp, _ := do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
		switch resp.StatusCode {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
			ms, err := strconv.Atoi(resp.Header.Get("retry-after-ms"))
			require.NoError(t, err)
			assert.Equal(t, 1000, ms)
			assert.Equal(t, "1", resp.Header.Get("retry-after"))
			assert.NotEmpty(t, resp.Header.Get("x-ratelimit-remaining-requests"))
		}
	}
	assert.Equal(t, 10, ok)
	assert.Equal(t, 10, limited)
	assert.Equal(t, 10, s.Stats().RateLimited)

	// Honouring retry-after-ms gets the next request in.
	clock.Advance(time.Second)
	resp, _ := do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestQuotaTokensHTTP(t *testing.T) {
	clock := newFakeClock()
	s := NewServer(WithClock(clock.Now), WithDeployment("d", ""), WithRateLimit("d", 0, 1000))
	defer s.Close()
	url := classicURL(s, "d", "2024-10-21")
	body := userBody("x", `"max_tokens":600`)
	cost, err := EstimateRequestTokens([]byte(body))
	require.NoError(t, err)

	resp, _ := do(t, s.Client(), http.MethodPost, url, body, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, strconv.Itoa(1000-cost), resp.Header.Get("x-ratelimit-remaining-tokens"))
	resp, _ = do(t, s.Client(), http.MethodPost, url, body, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "overdraft")
	resp, got := do(t, s.Client(), http.MethodPost, url, body, nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Contains(t, string(got), "have exceeded token rate limit")
	assert.Empty(t, resp.Header.Get("x-ratelimit-limit-requests"), "no RPM limit set")
}

func TestSetRateLimitAtRuntime(t *testing.T) {
	clock := newFakeClock()
	s := NewServer(WithClock(clock.Now))
	defer s.Close()
	url := classicURL(s, "gpt-4o", "2024-10-21")
	require.NoError(t, s.SetRateLimit("gpt-4o", 1, 0))
	require.Error(t, s.SetRateLimit("nope", 1, 0))
	resp, _ := do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "60", resp.Header.Get("retry-after"))
	require.NoError(t, s.SetRateLimit("gpt-4o", 0, 0))
	resp, _ = do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	s.SetDefaultRateLimit(1, 0)
	resp, _ = do(t, s.Client(), http.MethodPost, classicURL(s, "o3-mini", "2025-01-01-preview"), userBody("x", ""), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = do(t, s.Client(), http.MethodPost, classicURL(s, "o3-mini", "2025-01-01-preview"), userBody("x", ""), nil)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)

	require.NoError(t, s.SetDailyQuotaExhausted("gpt-4o", true))
	resp, _ = do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
	assert.Equal(t, "86400", resp.Header.Get("retry-after"))
	require.NoError(t, s.SetDailyQuotaExhausted("gpt-4o", false))
	resp, _ = do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestQuotaRealClockConcurrentPacedClients: in real time, 4 clients
// sharing RPM 1200 (20/s), each sending every 250 ms (16/s together), get
// no 429 even with the quota's burst already spent, while the same 24
// requests sent at once do get 429s. (It used to send 24 requests against
// a burst of 200, and passed with the pacing removed.) The burst is spent
// by sending until the first 429 and waiting out its retry-after plus half
// a second, so the test does not depend on how large the burst is.
func TestQuotaRealClockConcurrentPacedClients(t *testing.T) {
	s := NewServer(WithDefaultRateLimit(1200, 0))
	defer s.Close()
	url := classicURL(s, "gpt-4o", "2024-10-21")
	post := func() {
		resp, err := s.Client().Post(url, "application/json", strings.NewReader(userBody("x", "")))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	// spend sends until the quota refuses, then waits until it has room
	// for about 10 requests (half a second at 20/s) and resets the counts.
	spend := func() {
		for range 10_000 {
			resp, err := s.Client().Post(url, "application/json", strings.NewReader(userBody("x", "")))
			require.NoError(t, err)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				ms, err := strconv.Atoi(resp.Header.Get("retry-after-ms"))
				require.NoError(t, err)
				time.Sleep(time.Duration(ms)*time.Millisecond + 500*time.Millisecond)
				s.ResetStats()
				return
			}
		}
		t.Fatal("the quota never refused a request")
	}

	spend()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 62500 * time.Microsecond) // spread evenly: one every 62.5 ms
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for range 6 {
				post()
				<-tick.C
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	assert.Equal(t, 24, st.ByStatus[http.StatusOK], "paced")
	assert.Zero(t, st.RateLimited, "paced")

	// The control: the same requests without pacing are refused.
	spend()
	for range 24 {
		wg.Go(post)
	}
	wg.Wait()
	assert.Positive(t, s.Stats().RateLimited, "unpaced: the test can fail")
}
