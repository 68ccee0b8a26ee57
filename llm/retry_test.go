package llm_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
)

func TestRetriesRetryableErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   llm.Code
		status int
	}{
		{"500", llm.CodeUnavailable, 500},
		{"503", llm.CodeUnavailable, 503},
		{"408", llm.CodeTimeout, 408},
		{"429", llm.CodeRateLimited, 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := llmtest.New(llmtest.FailFirst(2, func(req *llm.Request) error {
				return llmtest.Error(req, tc.code, tc.status, 0)
			}))
			c := newClient(t, fake)
			resp, err := c.Generate(context.Background(), user("hi"))
			require.NoError(t, err)
			assert.Equal(t, 3, resp.Attempts)
			assert.Equal(t, 3, fake.Calls())
			s := c.Stats()
			assert.EqualValues(t, 2, s.Retries)
			assert.EqualValues(t, 3, s.Requests)
			assert.EqualValues(t, 1, s.Successes)
			assert.Zero(t, s.Failures)
		})
	}
}

func TestRetriesConnectionErrors(t *testing.T) {
	for _, cause := range []error{
		io.ErrUnexpectedEOF,
		&net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET},
		// A provider that classified nothing but wrapped a reset.
		&llm.Error{Code: llm.CodeUnknown, Err: syscall.ECONNRESET},
	} {
		fake := llmtest.New(llmtest.FailFirst(1, func(*llm.Request) error { return cause }))
		c := newClient(t, fake)
		resp, err := c.Generate(context.Background(), user("hi"))
		require.NoError(t, err, "cause %v", cause)
		assert.Equal(t, 2, resp.Attempts)
	}
}

func TestNeverRetries(t *testing.T) {
	for _, tc := range []struct {
		code     llm.Code
		status   int
		sentinel error
	}{
		{llm.CodeContentFiltered, 400, llm.ErrContentFiltered},
		{llm.CodeAuthentication, 401, llm.ErrAuthentication},
		{llm.CodePermissionDenied, 403, llm.ErrPermissionDenied},
		{llm.CodeNotFound, 404, llm.ErrNotFound},
		{llm.CodeInvalidRequest, 400, llm.ErrInvalidRequest},
		{llm.CodeContextLength, 400, llm.ErrContextLength},
		{llm.CodeUnknown, 0, llm.ErrUnknown},
	} {
		t.Run(string(tc.code), func(t *testing.T) {
			fake := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
				return nil, llmtest.Error(req, tc.code, tc.status, 0)
			})
			c := newClient(t, fake)
			_, err := c.Generate(context.Background(), user("hi"))
			require.ErrorIs(t, err, tc.sentinel)
			assert.Equal(t, 1, fake.Calls(), "attempted exactly once")
			assert.EqualValues(t, 1, c.Stats().FailuresByCode[tc.code])
			assert.Zero(t, c.Stats().Retries)
		})
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	fake := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
		return nil, llmtest.Error(req, llm.CodeUnavailable, 503, 0)
	})
	logs := &logRecorder{}
	c := newClient(t, fake, llm.WithMaxAttempts(3), llm.WithLogger(slog.New(logs)))
	_, err := c.Generate(context.Background(), user("hi"))
	require.ErrorIs(t, err, llm.ErrUnavailable)
	assert.ErrorContains(t, err, "giving up after 3 attempts")
	assert.Equal(t, llm.CodeUnavailable, llm.CodeOf(err))
	assert.Equal(t, 3, fake.Calls())
	assert.Equal(t, 1, logs.count(slog.LevelInfo, "llm: giving up"))
	assert.Equal(t, 2, logs.count(slog.LevelDebug, "llm: retry"))
}

func TestMaxAttemptsOneDisablesRetries(t *testing.T) {
	fake := llmtest.New(llmtest.FailFirst(1, func(req *llm.Request) error {
		return llmtest.Error(req, llm.CodeUnavailable, 500, 0)
	}))
	c := newClient(t, fake, llm.WithMaxAttempts(1))
	_, err := c.Generate(context.Background(), user("hi"))
	require.ErrorIs(t, err, llm.ErrUnavailable)
	assert.Equal(t, 1, fake.Calls())
}

// arrivals records when each call reaches the fake and when each failure
// was returned, to check retry spacing from the provider's side.
type arrivals struct {
	mu     sync.Mutex
	times  []time.Time
	failed []time.Time
}

func (a *arrivals) reply(fail int, mk func(*llm.Request) error) llmtest.ReplyFunc {
	return func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.times = append(a.times, time.Now())
		if n <= fail {
			a.failed = append(a.failed, time.Now())
			return nil, mk(req)
		}
		return llmtest.Echo(ctx, req, n)
	}
}

func TestRetryAfterIsAFloor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const retryAfter = 120 * time.Millisecond
		var a arrivals
		fake := llmtest.New(a.reply(2, func(req *llm.Request) error {
			return llmtest.Error(req, llm.CodeRateLimited, 429, retryAfter)
		}))
		c := newClient(t, fake)
		resp, err := c.Generate(context.Background(), user("hi"))
		require.NoError(t, err)
		assert.Equal(t, 3, resp.Attempts)
		require.Len(t, a.times, 3)
		for i := 1; i < 3; i++ {
			// The client measures from when it received the 429, which is after
			// the fake returned it: the gap can only be longer.
			assert.GreaterOrEqual(t, a.times[i].Sub(a.failed[i-1]), retryAfter, "retry %d came early", i)
		}
		assert.EqualValues(t, 2, c.Stats().RateLimited)
	})
}

func TestRetryAfterFloorOn503(t *testing.T) {
	const retryAfter = 80 * time.Millisecond
	var a arrivals
	fake := llmtest.New(a.reply(1, func(req *llm.Request) error {
		return llmtest.Error(req, llm.CodeUnavailable, 503, retryAfter)
	}))
	c := newClient(t, fake)
	_, err := c.Generate(context.Background(), user("hi"))
	require.NoError(t, err)
	require.Len(t, a.times, 2)
	assert.GreaterOrEqual(t, a.times[1].Sub(a.failed[0]), retryAfter)
}

func TestRateLimitCoolsTheTargetForEveryone(t *testing.T) {
	// One 429 with retry-after holds back every request to that model, not
	// only the one that got it.
	const retryAfter = 150 * time.Millisecond
	var a arrivals
	fake := llmtest.New(a.reply(1, func(req *llm.Request) error {
		return llmtest.Error(req, llm.CodeRateLimited, 429, retryAfter)
	}))
	logs := &logRecorder{}
	c := newClient(t, fake, llm.WithLogger(slog.New(logs)))
	_, err := c.Generate(context.Background(), user("first"))
	require.NoError(t, err)
	_, err = c.Generate(context.Background(), user("second"))
	require.NoError(t, err)
	require.Len(t, a.times, 3)
	for _, at := range a.times[1:] {
		assert.GreaterOrEqual(t, at.Sub(a.failed[0]), retryAfter)
	}
	assert.Equal(t, 1, logs.count(slog.LevelInfo, "llm: cooldown"))
}

func TestRequestTimeoutIsRetried(t *testing.T) {
	fake := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		if n == 1 {
			<-ctx.Done() // hang until the attempt times out
			return nil, llmtest.ContextError(req, ctx.Err())
		}
		return llmtest.Echo(ctx, req, n)
	})
	c := newClient(t, fake, llm.WithRequestTimeout(30*time.Millisecond))
	resp, err := c.Generate(context.Background(), user("hi"))
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)
}

func TestRequestTimeoutOfUnclassifiedError(t *testing.T) {
	// A provider that returns the bare context error: the client still
	// knows it was its own per-attempt timeout and retries.
	fake := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		if n == 1 {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return llmtest.Echo(ctx, req, n)
	})
	c := newClient(t, fake, llm.WithRequestTimeout(30*time.Millisecond))
	_, err := c.Generate(context.Background(), user("hi"))
	require.NoError(t, err)
	assert.Equal(t, 2, fake.Calls())
}

func TestCancelStopsRetrying(t *testing.T) {
	fake := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
		return nil, llmtest.Error(req, llm.CodeRateLimited, 429, time.Hour/2) // a long cooldown
	})
	c := newClient(t, fake, llm.WithMaxCooldown(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Generate(ctx, user("hi"))
		done <- err
	}()
	require.Eventually(t, func() bool { return fake.Calls() == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, err, llm.ErrCanceled)
		assert.ErrorContains(t, err, "last error", "the cancellation says what it interrupted")
	case <-time.After(5 * time.Second):
		t.Fatal("Generate did not return after cancel")
	}
	assert.EqualValues(t, 1, c.Stats().FailuresByCode[llm.CodeCanceled])
}

func TestCallerDeadlineIsNotRetried(t *testing.T) {
	fake := llmtest.New()
	fake.Latency = time.Second
	c := newClient(t, fake)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.Generate(ctx, user("hi"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, llm.CodeTimeout, llm.CodeOf(err))
	assert.Equal(t, 1, fake.Calls())
}

// TestDailyQuotaFailsFast runs on a synctest bubble's fake time with a
// deadline: without the guard, the client sleeps through cooldowns and
// retries, and the deadline turns that into a failure (it used to hang
// until go test gave up).
func TestDailyQuotaFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
			return nil, llmtest.Error(req, llm.CodeRateLimited, 429, 24*time.Hour)
		})
		c := newClient(t, fake)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		_, err := c.Generate(ctx, user("hi"))
		require.ErrorIs(t, err, llm.ErrQuotaExceeded)
		assert.ErrorContains(t, err, "longer than the cooldown cap")
		assert.Zero(t, time.Since(start), "a daily quota is not slept through (fake time)")
		_, err = c.Generate(ctx, user("again"))
		require.ErrorIs(t, err, llm.ErrQuotaExceeded)
		assert.Equal(t, 1, fake.Calls(), "the exhausted model is out of rotation")
	})
}

func TestAuthErrorTakesModelOutOfRotationAndIsLoggedOnce(t *testing.T) {
	fake := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
		return nil, llmtest.Error(req, llm.CodeAuthentication, 401, 0)
	})
	logs := &logRecorder{}
	c := newClient(t, fake, llm.WithLogger(slog.New(logs)), llm.WithMaxConcurrency(1))
	results := c.Process(context.Background(), prompts(50))
	for _, r := range results {
		require.ErrorIs(t, r.Err, llm.ErrAuthentication)
	}
	assert.Equal(t, 1, fake.Calls(), "later prompts fail fast without a request")
	assert.Equal(t, 1, logs.count(slog.LevelWarn, "llm: model taken out of rotation"))
}

func TestNilResponseIsAnError(t *testing.T) {
	c := newClient(t, llm.ProviderFunc(func(context.Context, *llm.Request) (*llm.Response, error) { return nil, nil }))
	_, err := c.Generate(context.Background(), user("hi"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, llm.ErrUnknown))
}
