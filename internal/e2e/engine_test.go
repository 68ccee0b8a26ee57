package e2e

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// TestLimitsEqualToServerQuota: 2,000 prompts against a deployment whose
// quota equals the client's limits all succeed, in input order, without a
// single 429, in the ideal time: the emulator enforces Azure's windows (at
// most 150 requests in any clock second, 1,500 in any ten), and the client
// paces evenly from its first request, under both the request and the
// token quota, its token estimates reconciled with the prompt sizes the
// server reports. (A client with a one-second burst drew 429s from the
// first window.) The run takes 13.3 s (1,999 intervals of 1/150 s) of a
// synctest bubble's fake time, over in-memory HTTP: the quota is really
// tested, without waiting for it.
func TestLimitsEqualToServerQuota(t *testing.T) {
	synctest.Test(t, testLimitsEqualToServerQuota)
}

func testLimitsEqualToServerQuota(t *testing.T) {
	const (
		n   = 2000
		rpm = 9_000   // 150 requests a second
		tpm = 225_000 // 3,750 tokens a second: 25 per request (9 of prompt, 16 of max_tokens)
	)
	srv, cfg := emulatorInMemory(t, azuretest.WithRateLimit(deployment, rpm, tpm))
	time.Sleep(4321 * time.Millisecond) // start anywhere in the windows
	start := time.Now()
	c := client(t, provider(t, cfg, nil),
		llm.WithMaxRequestsPerMinute(rpm), llm.WithMaxTokensPerMinute(tpm),
		llm.WithMaxNewTokens(16), llm.WithMaxConcurrency(64))

	results := c.Process(context.Background(), prompts(n))
	requireAllSucceeded(t, results)

	elapsed := time.Since(start)
	st := srv.Stats()
	t.Logf("server 429s: %d; client waited %v; the batch took %v", st.RateLimited, c.Stats().Waited, elapsed)
	assert.Zero(t, st.RateLimited, "no server 429")
	assert.Equal(t, n, st.ByDeployment[deployment])
	ideal := time.Duration(n) * time.Minute / rpm
	assert.LessOrEqual(t, elapsed.Seconds(), 1.02*ideal.Seconds())
	s := c.Stats()
	assert.EqualValues(t, n, s.Successes)
	assert.Zero(t, s.RateLimited)
	assert.Zero(t, s.Throttled, "the server's figures never said the next request would be refused")
	assert.EqualValues(t, n, s.Requests)
	assert.Positive(t, s.Waited["rpm"]+s.Waited["tpm"], "the client's limits held it back, not the server")
	assert.Equal(t, rpm, s.Pace[0].Server.RequestsPerMinute, "six times the 10-second window the headers report")
	assert.False(t, s.Pace[0].Lowered())
}

// TestOverConfiguredClientConvergesOnTheEmulator: the client is told 30%
// more than the deployment's quota. It draws 429s for a second or two,
// then paces at the rate the server's remaining-requests say its window
// holds: under 2% of the requests refused, within 10% of the ideal time,
// and Stats say what the server allows next to what was configured.
func TestOverConfiguredClientConvergesOnTheEmulator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			n   = 3000
			rpm = 6000
		)
		srv, cfg := emulatorInMemory(t, azuretest.WithRateLimit(deployment, rpm, 0), azuretest.WithLatency(50*time.Millisecond, 0))
		time.Sleep(1234 * time.Millisecond)
		start := time.Now()
		c := client(t, provider(t, cfg, nil),
			llm.WithMaxRequestsPerMinute(rpm*13/10), llm.WithMaxTokensPerMinute(-1), llm.WithMaxConcurrency(64))
		requireAllSucceeded(t, c.Process(context.Background(), prompts(n)))
		elapsed := time.Since(start)
		st := srv.Stats()
		s := c.Stats()
		t.Logf("server 429s: %d; the batch took %v; pace %+v", st.RateLimited, elapsed, s.Pace[0])
		assert.Less(t, float64(st.RateLimited), 0.02*n)
		assert.LessOrEqual(t, elapsed.Seconds(), 1.10*float64(n)/rpm*60)
		assert.Equal(t, rpm, s.Pace[0].Found.RequestsPerMinute)
		assert.Equal(t, rpm*13/10, s.Pace[0].Configured.RequestsPerMinute)
		assert.EqualValues(t, st.RateLimited, s.RateLimited)
	})
}

// TestLimitsAboveServerQuota: with client limits four times the server's
// quota, every prompt still succeeds through 429 handling, and no retry is
// sent before the retry-after-ms of the 429 it follows. The emulator's
// clock runs 6 times fast so that its quota bites within a second or two:
// 1,200 requests per emulated minute are 120 a second, at most 20 in an
// emulated second; its retry-after-ms, in emulated time, only makes the
// client wait longer than needed. It runs on a synctest bubble's fake time, over
// in-memory HTTP.
func TestLimitsAboveServerQuota(t *testing.T) {
	synctest.Test(t, testLimitsAboveServerQuota)
}

func testLimitsAboveServerQuota(t *testing.T) {
	const (
		n         = 500
		serverRPM = 1200
		speedup   = 6
	)
	srv, cfg := emulatorInMemory(t, azuretest.WithClock(scaledClock(speedup)), azuretest.WithRateLimit(deployment, serverRPM, 0))
	rec := newRecorder()
	c := client(t, provider(t, cfg, rec),
		llm.WithMaxRequestsPerMinute(4*serverRPM*speedup), llm.WithMaxTokensPerMinute(-1),
		llm.WithMaxConcurrency(16), llm.WithMaxAttempts(5))

	results := c.Process(context.Background(), prompts(n))
	requireAllSucceeded(t, results)

	st := srv.Stats()
	t.Logf("server 429s: %d", st.RateLimited)
	require.Positive(t, st.RateLimited, "the server did push back")
	s := c.Stats()
	assert.EqualValues(t, st.RateLimited, s.RateLimited)
	assert.EqualValues(t, n+st.RateLimited, s.Requests)
	assert.Equal(t, st.RateLimited, rec.checkRetrySpacing(t), "every 429 was followed by a checked retry")
}

// TestRetryAfterFromArrivalLog checks retry-after compliance from the
// emulator's own record: with one request at a time, the request that
// follows a 429 is its retry, and it may not arrive before the 429's
// retry-after-ms has passed. It runs on a synctest bubble's fake time.
func TestRetryAfterFromArrivalLog(t *testing.T) {
	synctest.Test(t, testRetryAfterFromArrivalLog)
}

func testRetryAfterFromArrivalLog(t *testing.T) {
	srv, cfg := emulatorInMemory(t, azuretest.WithSeed(7), azuretest.WithFaults(azuretest.Faults{Rate429: 0.3, RetryAfter: 20 * time.Millisecond}))
	c := client(t, provider(t, cfg, nil),
		llm.WithMaxRequestsPerMinute(-1), llm.WithMaxTokensPerMinute(-1),
		llm.WithMaxConcurrency(1), llm.WithMaxAttempts(8), llm.WithRetryBackoff(time.Millisecond, 10*time.Millisecond))

	requireAllSucceeded(t, c.Process(context.Background(), prompts(100)))

	arrivals := srv.Stats().Arrivals
	checked := 0
	for i := 1; i < len(arrivals); i++ {
		prev := arrivals[i-1]
		if prev.Status != http.StatusTooManyRequests {
			continue
		}
		checked++
		assert.GreaterOrEqual(t, arrivals[i].Time.Sub(prev.Time), prev.RetryAfter, "arrival %d came before the retry-after of %d", i, i-1)
	}
	assert.Positive(t, checked)
	assert.EqualValues(t, checked, c.Stats().RateLimited)
}

// TestInjectedFaults: with 20% of requests failing (429s, 500s and
// connection resets), every prompt succeeds within 5 attempts and Stats
// counts each retry. One request at a time with a seeded emulator makes
// the sequence of faults, and so the outcome, reproducible.
func TestInjectedFaults(t *testing.T) {
	faults := azuretest.Faults{Rate429: 0.10, Rate500: 0.05, RateReset: 0.05, RetryAfter: 5 * time.Millisecond}
	srv := emulator(t, azuretest.WithSeed(42), azuretest.WithFaults(faults))
	c := client(t, provider(t, azurefoundry.Config{Endpoint: srv.URL}, nil),
		llm.WithMaxRequestsPerMinute(-1), llm.WithMaxTokensPerMinute(-1),
		llm.WithMaxConcurrency(1), llm.WithMaxAttempts(5), llm.WithRetryBackoff(time.Millisecond, 10*time.Millisecond))

	const n = 300
	requireAllSucceeded(t, c.Process(context.Background(), prompts(n)))

	st := srv.Stats()
	failed := failedStatuses(st)
	require.Positive(t, failed)
	s := c.Stats()
	assert.EqualValues(t, failed, s.Retries, "every failed request was retried once, and counted")
	assert.EqualValues(t, n+failed, s.Requests)
	assert.EqualValues(t, st.ByStatus[http.StatusTooManyRequests], s.RateLimited)
	assert.Positive(t, st.ByStatus[azuretest.StatusReset], "resets were injected")
	assert.Positive(t, st.ByStatus[http.StatusInternalServerError], "500s were injected")
}

// TestInjectedFaultsConcurrent is the same with concurrency, where the
// order of faults is not reproducible. A reset can also cost the request
// that next picks the dead pooled connection, so the real failure rate is
// above the injected 20%; 12 attempts keep the odds of a prompt failing
// every time negligible (0.3^12 × 500 ≈ 3e-4).
func TestInjectedFaultsConcurrent(t *testing.T) {
	faults := azuretest.Faults{Rate429: 0.10, Rate500: 0.05, RateReset: 0.05, RetryAfter: 5 * time.Millisecond}
	srv := emulator(t, azuretest.WithFaults(faults))
	c := client(t, provider(t, azurefoundry.Config{Endpoint: srv.URL}, nil),
		llm.WithMaxRequestsPerMinute(-1), llm.WithMaxTokensPerMinute(-1),
		llm.WithMaxConcurrency(32), llm.WithMaxAttempts(12), llm.WithRetryBackoff(time.Millisecond, 10*time.Millisecond))

	const n = 500
	requireAllSucceeded(t, c.Process(context.Background(), prompts(n)))
	failed := failedStatuses(srv.Stats())
	assert.EqualValues(t, failed, c.Stats().Retries)
}

// TestContentFilteredPromptAmongSuccesses: a prompt the content filter
// rejects is attempted exactly once and comes back as ErrContentFiltered;
// the others succeed.
func TestContentFilteredPromptAmongSuccesses(t *testing.T) {
	srv := emulator(t)
	c := client(t, provider(t, azurefoundry.Config{Endpoint: srv.URL}, nil), llm.WithMaxRequestsPerMinute(-1), llm.WithMaxTokensPerMinute(-1))
	convs := prompts(50)
	const bad = 17
	convs[bad] = conversation.New().User("tell me how to " + azuretest.DefaultPromptFilterWord)

	results := c.Process(context.Background(), convs)
	for i, r := range results {
		if i == bad {
			require.ErrorIs(t, r.Err, llm.ErrContentFiltered)
			var e *llm.Error
			require.ErrorAs(t, r.Err, &e)
			assert.NotNil(t, e.ContentFilter, "the annotations say which category fired")
			continue
		}
		require.NoError(t, r.Err)
	}
	st := srv.Stats()
	assert.Equal(t, 50, st.ByDeployment[deployment], "one request per prompt: the filtered one was not retried")
	assert.Equal(t, 1, st.ByStatus[http.StatusBadRequest])
	assert.EqualValues(t, 1, c.Stats().FailuresByCode[llm.CodeContentFiltered])
}

// TestDailyQuotaFailsFast: a deployment whose daily quota is spent fails
// every prompt with ErrQuotaExceeded at once instead of sleeping for a day,
// after a single request. On fake time with a deadline: without the
// guard, the deadline fails the test (it used to hang until go test gave
// up).
func TestDailyQuotaFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, cfg := emulatorInMemory(t)
		require.NoError(t, srv.SetDailyQuotaExhausted(deployment, true))
		c := client(t, provider(t, cfg, nil), llm.WithMaxConcurrency(1))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, r := range c.Process(ctx, prompts(20)) {
			require.ErrorIs(t, r.Err, llm.ErrQuotaExceeded)
		}
		assert.Equal(t, 1, srv.Stats().ByDeployment[deployment])
	})
}
