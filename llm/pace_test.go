package llm_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/pacing"
)

// These tests pin the pacing rules on a testing/synctest bubble's fake
// clock: each admission happens at an exact instant, so the windows can be
// counted exactly.

// azureQuota is a fake server that enforces a requests-per-minute quota as
// Azure does: fixed windows of one second (⌈RPM/60⌉ requests) and ten
// seconds (RPM/6), aligned to the clock, a 429 with retry-after until the
// full window ends, and (with headers) x-ratelimit-remaining-requests for
// the current ten-second window. It answers after latency.
type azureQuota struct {
	rpm     int
	headers bool
	latency time.Duration

	mu           sync.Mutex
	sec, dec     int64
	inSec, inDec int
	accepted     []time.Time
	refused      int
}

func (q *azureQuota) setRPM(rpm int) {
	q.mu.Lock()
	q.rpm = rpm
	q.mu.Unlock()
}

func (q *azureQuota) reply(ctx context.Context, req *llm.Request, _ int) (*llm.Response, error) {
	now := time.Now()
	q.mu.Lock()
	ns := now.UnixNano()
	if s := ns / int64(time.Second); s != q.sec {
		q.sec, q.inSec = s, 0
	}
	if d := ns / int64(10*time.Second); d != q.dec {
		q.dec, q.inDec = d, 0
	}
	l1, l10 := (q.rpm+59)/60, (q.rpm+5)/6
	h := http.Header{}
	if q.inSec >= l1 || q.inDec >= l10 {
		var until int64
		if q.inSec >= l1 {
			until = (q.sec + 1) * int64(time.Second)
		}
		if q.inDec >= l10 {
			until = max(until, (q.dec+1)*int64(10*time.Second))
		}
		q.refused++
		if q.headers {
			h.Set("x-ratelimit-remaining-requests", strconv.Itoa(l10-q.inDec))
		}
		q.mu.Unlock()
		e := llmtest.Error(req, llm.CodeRateLimited, http.StatusTooManyRequests, time.Duration(until-ns))
		e.Message = "Requests to the ChatCompletions_Create Operation have exceeded call rate limit of your current pricing tier."
		e.Header = h
		return nil, e
	}
	q.inSec++
	q.inDec++
	q.accepted = append(q.accepted, now)
	if q.headers {
		h.Set("x-ratelimit-remaining-requests", strconv.Itoa(l10-q.inDec))
	}
	q.mu.Unlock()
	select {
	case <-time.After(q.latency):
	case <-ctx.Done():
		return nil, llmtest.ContextError(req, ctx.Err())
	}
	r := llmtest.TextResponse(req, "ok")
	r.Header = h
	return r, nil
}

func (q *azureQuota) stats() (accepted []time.Time, refused int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]time.Time(nil), q.accepted...), q.refused
}

// maxIn returns the most times within any half-open window [t, t+w).
func maxIn(times []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func TestPaceHasNoBurstStartUpIncluded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 600 RPM: at most 10 requests in any second and 100 in any ten,
		// from the first request on; 250 prompts take 249 intervals of
		// 100 ms. (The old one-second burst sent 10 at once, then 10 more
		// within the first second.)
		var ts timestamps
		c := newClient(t, llmtest.New(ts.reply), llm.WithMaxRequestsPerMinute(600), llm.WithMaxConcurrency(64))
		start := time.Now()
		for _, r := range c.Process(context.Background(), prompts(250)) {
			require.NoError(t, r.Err)
		}
		assert.Equal(t, 249*100*time.Millisecond, time.Since(start))
		assert.Equal(t, 10, ts.maxInWindow(time.Second))
		assert.Equal(t, 100, ts.maxInWindow(10*time.Second))
		assert.Equal(t, 1, ts.maxInWindow(100*time.Millisecond), "evenly spaced")
		assert.Positive(t, c.Stats().Waited["rpm"])
	})
}

func TestPaceOddRatesStayUnderTheirWindows(t *testing.T) {
	for _, rpm := range []int{90, 1000, 6001} {
		synctest.Test(t, func(t *testing.T) {
			var ts timestamps
			c := newClient(t, llmtest.New(ts.reply), llm.WithMaxRequestsPerMinute(rpm), llm.WithMaxConcurrency(64))
			n := rpm / 3 // 20 s of work
			for _, r := range c.Process(context.Background(), prompts(n)) {
				require.NoError(t, r.Err)
			}
			assert.LessOrEqual(t, ts.maxInWindow(time.Second), (rpm+59)/60, "RPM %d, 1 s", rpm)
			assert.LessOrEqual(t, ts.maxInWindow(10*time.Second), (rpm+5)/6, "RPM %d, 10 s", rpm)
		})
	}
}

func TestTokensPaceAgainstTheMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 6,000 TPM is 100 tokens a second; each request is charged its
		// prompt estimate plus its max new tokens, 100 tokens: one a
		// second, and no minute holds more than 6,000 plus one request.
		var ts timestamps
		probe := &llm.Request{Messages: user("p").Messages()}
		c := newClient(t, llmtest.New(ts.reply), llm.WithMaxTokensPerMinute(6000), llm.WithMaxNewTokens(100-probe.EstimateInputTokens()))
		start := time.Now()
		conv := user("p")
		for range 70 {
			_, err := c.Generate(context.Background(), conv)
			require.NoError(t, err)
		}
		assert.Equal(t, 69*time.Second, time.Since(start))
		assert.LessOrEqual(t, ts.maxInWindow(time.Minute)*100, 6000+100)
		assert.Positive(t, c.Stats().Waited["tpm"])
	})
}

func TestHeadersPauseOnlyWhenTheServerSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Replies say 5 requests left in the window: plenty for the next
		// one, so no pause, although 5 is under 5% of the configured 1,000
		// RPM (the old rule paused there). Then one says 0 left: the next
		// request would be refused, and the client waits (one request's
		// share of the window, whose end it does not know yet: 10 s / 6).
		var (
			ts   timestamps
			left = 5
		)
		fake := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
			ts.reply(ctx, req, n)
			r := llmtest.TextResponse(req, "ok")
			r.Header = http.Header{"X-Ratelimit-Remaining-Requests": {strconv.Itoa(left)}}
			return r, nil
		})
		c := newClient(t, fake, llm.WithMaxRequestsPerMinute(60_000))
		for range 3 {
			_, err := c.Generate(context.Background(), user("hi"))
			require.NoError(t, err)
		}
		assert.Zero(t, c.Stats().Throttled)
		left = 0
		_, err := c.Generate(context.Background(), user("hi"))
		require.NoError(t, err)
		left = 5
		before := time.Now()
		_, err = c.Generate(context.Background(), user("hi"))
		require.NoError(t, err)
		assert.Equal(t, 10*time.Second/6, time.Since(before))
		st := c.Stats()
		assert.EqualValues(t, 1, st.Throttled)
		assert.Equal(t, 36, st.Pace[0].Server.RequestsPerMinute, "6 per 10 s window, 36 a minute")
	})
}

func TestAfterA429ThePaceResumesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// One 429 (retry-after-ms 300) in the middle of a batch paced at
		// 600 RPM: the client waits the 300 ms, then goes on at 600 RPM,
		// not slower. (The old rule cut the rate to 0.7 and took 30 s to
		// recover.) The batch takes its paced time plus the wait, and the
		// pace is not lowered.
		var ts timestamps
		fake := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
			if n == 100 {
				return nil, llmtest.Error(req, llm.CodeRateLimited, http.StatusTooManyRequests, 300*time.Millisecond)
			}
			return ts.reply(ctx, req, n)
		})
		c := newClient(t, fake, llm.WithMaxRequestsPerMinute(600), llm.WithMaxConcurrency(16))
		start := time.Now()
		for _, r := range c.Process(context.Background(), prompts(300)) {
			require.NoError(t, r.Err)
		}
		// 301 admissions, 100 ms apart, and the rest: the admission due
		// 100 ms after the 429 waits until 300 ms after it.
		assert.Equal(t, 300*100*time.Millisecond+200*time.Millisecond, time.Since(start))
		st := c.Stats()
		assert.EqualValues(t, 1, st.RateLimited)
		assert.False(t, st.Pace[0].Lowered())
		assert.Equal(t, 10, ts.maxInWindow(time.Second))
	})
}

func TestOverConfiguredClientConverges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The server allows 600 RPM (10 a second, 100 per 10 s); the client
		// is told 780 (30% more). The 429s persist, so the client paces at
		// what the server's remaining-requests say its window holds (100,
		// so 600 RPM), and the rest of the batch goes at the true quota:
		// under 2% refused, and within 10% of the ideal time.
		q := &azureQuota{rpm: 600, headers: true, latency: 50 * time.Millisecond}
		time.Sleep(3700 * time.Millisecond) // start mid-window
		c := newClient(t, llmtest.New(q.reply), llm.WithMaxRequestsPerMinute(780), llm.WithMaxConcurrency(64))
		const n = 1200
		start := time.Now()
		for _, r := range c.Process(context.Background(), prompts(n)) {
			require.NoError(t, r.Err)
		}
		elapsed := time.Since(start)
		accepted, refused := q.stats()
		st := c.Stats()
		t.Logf("%v for %d prompts (ideal %v), %d refused; pace %+v", elapsed, n, time.Duration(n)*100*time.Millisecond, refused, st.Pace[0])
		assert.Len(t, accepted, n)
		assert.Less(t, float64(refused), 0.02*n)
		assert.LessOrEqual(t, elapsed.Seconds(), 1.10*n/10)
		assert.Equal(t, 600, st.Pace[0].Found.RequestsPerMinute, "the rate the server allows")
		assert.Equal(t, 780, st.Pace[0].Configured.RequestsPerMinute)
		assert.Equal(t, 600, st.Pace[0].Server.RequestsPerMinute)
		assert.EqualValues(t, refused, st.RateLimited)
	})
}

func TestOverConfiguredWithoutHeadersMeasuresTheRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The same server without rate-limit headers: the client measures
		// the rate the server accepts while it refuses the rest.
		q := &azureQuota{rpm: 600, latency: 50 * time.Millisecond}
		c := newClient(t, llmtest.New(q.reply), llm.WithMaxRequestsPerMinute(780), llm.WithMaxConcurrency(64))
		const n = 1200
		start := time.Now()
		for _, r := range c.Process(context.Background(), prompts(n)) {
			require.NoError(t, r.Err)
		}
		elapsed := time.Since(start)
		_, refused := q.stats()
		st := c.Stats()
		t.Logf("%v for %d prompts, %d refused; pace %+v", elapsed, n, refused, st.Pace[0])
		assert.Less(t, float64(refused), 0.02*n)
		assert.LessOrEqual(t, elapsed.Seconds(), 1.10*n/10)
		assert.True(t, st.Pace[0].Lowered())
		assert.InDelta(t, 600, st.Pace[0].Found.RequestsPerMinute, 30)
		assert.Zero(t, st.Pace[0].Server.RequestsPerMinute, "no headers: the server's limits are unknown")
	})
}

func TestLoweredPaceRisesWhenTheServerAllowsMore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The server's quota is halved for a while (another client shares
		// it), then restored: the client lowers its pace, then, 30 s after
		// the last 429, raises it back to the configured one.
		q := &azureQuota{rpm: 300, headers: true}
		c := newClient(t, llmtest.New(q.reply), llm.WithMaxRequestsPerMinute(600), llm.WithMaxConcurrency(16))
		for _, r := range c.Process(context.Background(), prompts(200)) {
			require.NoError(t, r.Err)
		}
		require.Equal(t, 300, c.Stats().Pace[0].Found.RequestsPerMinute)
		q.setRPM(600)
		for _, r := range c.Process(context.Background(), prompts(700)) {
			require.NoError(t, r.Err)
		}
		st := c.Stats()
		assert.False(t, st.Pace[0].Lowered(), "back to the configured pace: %+v", st.Pace[0])
	})
}

func TestClientsSharingALimiterPaceTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Two clients of the same model, each told the quota, share one
		// limiter: together they send at the quota, not twice it.
		var ts timestamps
		fake := llmtest.New(ts.reply)
		shared := pacing.NewLocal()
		a := newClient(t, fake, llm.WithMaxRequestsPerMinute(600), llm.WithLimiter(shared))
		b := newClient(t, fake, llm.WithMaxRequestsPerMinute(600), llm.WithLimiter(shared))
		var wg sync.WaitGroup
		for _, c := range []*llm.Client{a, b} {
			wg.Go(func() {
				for _, r := range c.Process(context.Background(), prompts(100)) {
					assert.NoError(t, r.Err)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, 10, ts.maxInWindow(time.Second))
		assert.Equal(t, "test-model", a.Stats().Pace[0].Key, "a model the registry does not know: its ID")

		_, err := llm.NewClient("test-model", llm.WithLimiter(nil))
		assert.ErrorContains(t, err, "WithLimiter(nil)")
	})
}

func TestProgressShowsThePace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &azureQuota{rpm: 600, headers: true, latency: 50 * time.Millisecond}
		var (
			mu   sync.Mutex
			last llm.ProgressInfo
		)
		c := newClient(t, llmtest.New(q.reply), llm.WithMaxRequestsPerMinute(780),
			llm.WithProgressFunc(func(p llm.ProgressInfo) { mu.Lock(); last = p; mu.Unlock() }))
		c.Process(context.Background(), prompts(300))
		mu.Lock()
		defer mu.Unlock()
		require.True(t, last.Final)
		require.Len(t, last.Pace, 1)
		assert.Equal(t, 600, last.Pace[0].Found.RequestsPerMinute)
		assert.Equal(t, 780, last.Pace[0].Configured.RequestsPerMinute)
	})
}
