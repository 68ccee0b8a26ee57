package llm_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
)

func TestProcessReturnsResultsInInputOrder(t *testing.T) {
	fake := llmtest.New()
	// Random-ish latency so completion order differs from input order.
	fake.Reply = func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		time.Sleep(time.Duration(n%7) * 100 * time.Microsecond)
		return llmtest.Echo(ctx, req, n)
	}
	c := newClient(t, fake, llm.WithMaxConcurrency(16))
	const n = 500
	results := c.Process(context.Background(), prompts(n))
	require.Len(t, results, n)
	for i, r := range results {
		require.NoError(t, r.Err)
		assert.Equal(t, i, r.Index)
		assert.Equal(t, fmt.Sprintf("echo: prompt %d", i), r.Response.Completion)
	}
	s := c.Stats()
	assert.EqualValues(t, n, s.Successes)
	assert.EqualValues(t, n, s.Requests)
	assert.Zero(t, s.InFlight)
}

func TestProcessEmpty(t *testing.T) {
	c := newClient(t, llmtest.New())
	assert.Empty(t, c.Process(context.Background(), nil))
}

func TestProcessRespectsConcurrency(t *testing.T) {
	fake := llmtest.New()
	fake.Latency = 5 * time.Millisecond
	c := newClient(t, fake, llm.WithMaxConcurrency(4))
	for _, r := range c.Process(context.Background(), prompts(60)) {
		require.NoError(t, r.Err)
	}
	assert.LessOrEqual(t, fake.MaxInFlight(), 4)
	assert.GreaterOrEqual(t, fake.MaxInFlight(), 2, "the slots are used")
}

func TestProcessRespectsModelConcurrency(t *testing.T) {
	fake := llmtest.New()
	fake.Latency = 5 * time.Millisecond
	c := newClient(t, fake, llm.WithMaxConcurrency(10), llm.WithModelLimits("test-model", llm.Limits{MaxConcurrency: 2}))
	for _, r := range c.Process(context.Background(), prompts(30)) {
		require.NoError(t, r.Err)
	}
	assert.LessOrEqual(t, fake.MaxInFlight(), 2)
}

func TestProcessOneResultPerInputUnderFailures(t *testing.T) {
	// Every third prompt fails for good, the rest after one retry.
	fake := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		var i int
		fmt.Sscanf(llmtest.LastUserText(req), "prompt %d", &i)
		if i%3 == 0 {
			return nil, llmtest.Error(req, llm.CodeInvalidRequest, 400, 0)
		}
		if n%2 == 0 {
			return nil, llmtest.Error(req, llm.CodeUnavailable, 503, 0)
		}
		return llmtest.Echo(ctx, req, n)
	})
	c := newClient(t, fake, llm.WithMaxConcurrency(8), llm.WithMaxAttempts(10))
	results := c.Process(context.Background(), prompts(300))
	failed := 0
	for i, r := range results {
		assert.Equal(t, i, r.Index)
		assert.True(t, (r.Err == nil) != (r.Response == nil), "exactly one of Response and Err")
		if i%3 == 0 {
			assert.ErrorIs(t, r.Err, llm.ErrInvalidRequest)
			failed++
		} else {
			assert.NoError(t, r.Err)
		}
	}
	s := c.Stats()
	assert.EqualValues(t, failed, s.FailuresByCode[llm.CodeInvalidRequest])
	assert.EqualValues(t, 300-failed, s.Successes)
	assert.Positive(t, s.Retries)
}

func TestProcessCancel(t *testing.T) {
	fake := llmtest.New()
	fake.Latency = 2 * time.Millisecond
	c := newClient(t, fake, llm.WithMaxConcurrency(2))
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	fake.Reply = func(ctx2 context.Context, req *llm.Request, n int) (*llm.Response, error) {
		if n == 20 {
			once.Do(cancel)
		}
		return llmtest.Echo(ctx2, req, n)
	}
	const n = 1000
	results := c.Process(ctx, prompts(n))
	require.Len(t, results, n)
	ok, canceled := 0, 0
	for i, r := range results {
		assert.Equal(t, i, r.Index)
		switch {
		case r.Err == nil:
			ok++
		case assert.ErrorIs(t, r.Err, context.Canceled) && assert.ErrorIs(t, r.Err, llm.ErrCanceled):
			canceled++
		}
	}
	assert.Equal(t, n, ok+canceled, "one result per input, always")
	assert.GreaterOrEqual(t, ok, 19)
	assert.Less(t, fake.Calls(), 40, "dispatching stopped at once")
}

func TestProcessSeqPullsLazily(t *testing.T) {
	fake := llmtest.New()
	fake.Latency = time.Millisecond
	const conc = 3
	c := newClient(t, fake, llm.WithMaxConcurrency(conc))
	var pulled, yielded, maxAhead atomic.Int64
	seq := func(yield func(int, *conversation.Conversation) bool) {
		for i := range 300 {
			if ahead := pulled.Add(1) - yielded.Load(); ahead > maxAhead.Load() {
				maxAhead.Store(ahead)
			}
			if !yield(i, user(fmt.Sprint(i))) {
				return
			}
		}
	}
	seen := map[int]bool{}
	for i, r := range c.ProcessSeq(context.Background(), seq) {
		yielded.Add(1)
		require.NoError(t, r.Err)
		assert.Equal(t, "echo: "+fmt.Sprint(i), r.Response.Completion)
		seen[i] = true
	}
	assert.Len(t, seen, 300)
	// Prompts held at once: the workers (at most concurrency plus a quarter), as
	// many buffered results, and one in the feeder's hands.
	pool := int64(conc + conc/4)
	assert.LessOrEqual(t, maxAhead.Load(), 2*pool+2, "memory grows with concurrency, not with the input")
}

func TestProcessSeqBreakStopsEverything(t *testing.T) {
	fake := llmtest.New()
	fake.Latency = time.Millisecond
	c := newClient(t, fake, llm.WithMaxConcurrency(4))
	var pulled atomic.Int64
	seq := func(yield func(int, *conversation.Conversation) bool) {
		for i := 0; ; i++ { // endless input
			pulled.Add(1)
			if !yield(i, user("x")) {
				return
			}
		}
	}
	got := 0
	for range c.ProcessSeq(context.Background(), seq) {
		if got++; got == 10 {
			break
		}
	}
	assert.Less(t, pulled.Load(), int64(100))
	assert.Eventually(t, func() bool { return clientGoroutines() == 0 }, 5*time.Second, 5*time.Millisecond, "no goroutine left behind")
	assert.Zero(t, c.Stats().InFlight)
}

func TestProcessSeqKeepsCallerIndices(t *testing.T) {
	c := newClient(t, llmtest.New())
	seq := func(yield func(int, *conversation.Conversation) bool) {
		_ = yield(100, user("a")) && yield(-5, user("b"))
	}
	got := map[int]string{}
	for i, r := range c.ProcessSeq(context.Background(), seq) {
		require.NoError(t, r.Err)
		assert.Equal(t, i, r.Index)
		got[i] = r.Response.Completion
	}
	assert.Equal(t, map[int]string{100: "echo: a", -5: "echo: b"}, got)
}

func TestProcessCallOptionErrorFailsEveryPrompt(t *testing.T) {
	fake := llmtest.New()
	c := newClient(t, fake)
	results := c.Process(context.Background(), prompts(3), llm.WithTemperature(7))
	require.Len(t, results, 3)
	for i, r := range results {
		assert.Equal(t, i, r.Index)
		assert.ErrorContains(t, r.Err, "WithTemperature(7)")
	}
	assert.Zero(t, fake.Calls())
}

func TestProcessCallSamplingOptions(t *testing.T) {
	fake := llmtest.New()
	c := newClient(t, fake)
	for _, r := range c.Process(context.Background(), prompts(5), llm.WithMaxNewTokens(7)) {
		require.NoError(t, r.Err)
	}
	for _, req := range fake.Requests() {
		assert.Equal(t, 7, req.MaxNewTokens)
	}
}

func TestProcessProgressFunc(t *testing.T) {
	fake := llmtest.New()
	var (
		mu    sync.Mutex
		infos []llm.ProgressInfo
	)
	c := newClient(t, fake, llm.WithProgressFunc(func(p llm.ProgressInfo) {
		mu.Lock()
		infos = append(infos, p)
		mu.Unlock()
	}))
	for _, r := range c.Process(context.Background(), prompts(20)) {
		require.NoError(t, r.Err)
	}
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, infos, "called at least once, at the end")
	last := infos[len(infos)-1]
	assert.Equal(t, 20, last.Total)
	assert.Equal(t, 20, last.Done)
	assert.Equal(t, 20, last.Succeeded)
	assert.Positive(t, last.Usage.InputTokens)
}

// clientGoroutines counts the goroutines running the Client's code.
func clientGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "deluge/llm.(*Client)") {
			n++
		}
	}
	return n
}

// TestProcessResultAttemptsAndLatency: every result says how many attempts
// it took and how long, failed or not; for a response the figures are the
// response's.
func TestProcessResultAttemptsAndLatency(t *testing.T) {
	var flaky atomic.Int32
	fake := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		switch llmtest.LastUserText(req) {
		case "down":
			return nil, llmtest.Error(req, llm.CodeUnavailable, 500, 0)
		case "flaky":
			if flaky.Add(1) == 1 {
				return nil, llmtest.Error(req, llm.CodeUnavailable, 503, 0)
			}
		case "bad":
			return nil, llmtest.Error(req, llm.CodeInvalidRequest, 400, 0)
		}
		return llmtest.Echo(ctx, req, n)
	})
	fake.Latency = time.Millisecond
	const maxAttempts = 3
	c := newClient(t, fake, llm.WithMaxAttempts(maxAttempts))
	results := c.Process(context.Background(), []*conversation.Conversation{
		user("ok"), user("flaky"), user("down"), user("bad"), conversation.New(),
	})
	require.Len(t, results, 5)

	ok, flakyRes, down, bad, empty := results[0], results[1], results[2], results[3], results[4]
	require.NoError(t, ok.Err)
	assert.Equal(t, 1, ok.Attempts)
	assert.Equal(t, ok.Response.Attempts, ok.Attempts)
	assert.Equal(t, ok.Response.Latency, ok.Latency)

	require.NoError(t, flakyRes.Err)
	assert.Equal(t, 2, flakyRes.Attempts, "one retry")
	assert.Equal(t, flakyRes.Response.Attempts, flakyRes.Attempts)
	assert.Equal(t, flakyRes.Response.Latency, flakyRes.Latency)

	require.ErrorIs(t, down.Err, llm.ErrUnavailable)
	assert.Nil(t, down.Response)
	assert.Equal(t, maxAttempts, down.Attempts, "a failure after the last attempt reports them all")
	assert.GreaterOrEqual(t, down.Latency, maxAttempts*fake.Latency, "from the first dispatch to the final error")

	require.ErrorIs(t, bad.Err, llm.ErrInvalidRequest)
	assert.Equal(t, 1, bad.Attempts, "not retried")
	assert.GreaterOrEqual(t, bad.Latency, fake.Latency)

	require.ErrorIs(t, empty.Err, llm.ErrInvalidRequest)
	assert.Zero(t, empty.Attempts, "nothing sent")
	assert.Zero(t, empty.Latency)

	assert.EqualValues(t, 1+2+maxAttempts+1, fake.Calls())
}

// TestProcessJobsResultAttempts: ProcessSeq/ProcessJobs results carry the
// same figures, and a cache hit took no attempt.
func TestProcessJobsResultAttempts(t *testing.T) {
	fake := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		if llmtest.LastUserText(req) == "down" {
			return nil, llmtest.Error(req, llm.CodeTimeout, 504, 0)
		}
		return llmtest.Echo(ctx, req, n)
	})
	c := newClient(t, fake, llm.WithMaxAttempts(4), llm.WithCache(newMapCache()))
	_, err := c.Generate(context.Background(), user("cached"))
	require.NoError(t, err)
	seq := func(yield func(int, *conversation.Conversation) bool) {
		_ = yield(0, user("down")) && yield(1, user("cached"))
	}
	got := map[int]llm.Result{}
	for i, r := range c.ProcessSeq(context.Background(), seq) {
		got[i] = r
	}
	require.ErrorIs(t, got[0].Err, llm.ErrTimeout)
	assert.Equal(t, 4, got[0].Attempts)
	assert.Positive(t, got[0].Latency)
	require.NoError(t, got[1].Err)
	assert.True(t, got[1].Response.Cached)
	assert.Zero(t, got[1].Attempts, "served from the cache")
}

// TestProcessRequestTimeoutBoundsEveryAttempt: a batch's attempts share
// their deadlines (one timer per window, not per request); an attempt that
// hangs is still cancelled at about WithRequestTimeout and counts as a
// timeout, retried like any other.
func TestProcessRequestTimeoutBoundsEveryAttempt(t *testing.T) {
	hang := func(ctx context.Context, _ *llm.Request, _ int) (*llm.Response, error) {
		<-ctx.Done() // never answers: only the timeout ends the attempt
		return nil, ctx.Err()
	}
	t.Run("final", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newClient(t, llmtest.New(hang), llm.WithRequestTimeout(20*time.Millisecond), llm.WithMaxAttempts(1), llm.WithMaxConcurrency(8))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a safety net, far beyond the timeout
			defer cancel()
			for _, r := range c.Process(ctx, prompts(40)) {
				require.Error(t, r.Err)
				assert.Equal(t, llm.CodeTimeout, llm.CodeOf(r.Err), "%v", r.Err)
				assert.Equal(t, 1, r.Attempts)
			}
			require.NoError(t, ctx.Err(), "the attempts ended on their own timeout, not the test's")
			s := c.Stats()
			assert.EqualValues(t, 40, s.Requests)
			assert.EqualValues(t, 40, s.FailuresByCode[llm.CodeTimeout])
			assert.Zero(t, s.InFlight)
		})
	})
	t.Run("retried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string]bool{}
			fake := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
				p := llmtest.LastUserText(req)
				mu.Lock()
				first := !seen[p]
				seen[p] = true
				mu.Unlock()
				if first {
					return hang(ctx, req, n)
				}
				return llmtest.Echo(ctx, req, n)
			})
			c := newClient(t, fake, llm.WithRequestTimeout(20*time.Millisecond), llm.WithMaxConcurrency(8))
			for i, r := range c.Process(context.Background(), prompts(40)) {
				require.NoError(t, r.Err)
				assert.Equal(t, fmt.Sprintf("echo: prompt %d", i), r.Response.Completion)
				assert.Equal(t, 2, r.Attempts)
			}
			s := c.Stats()
			assert.EqualValues(t, 80, s.Requests)
			assert.EqualValues(t, 40, s.Retries)
			assert.EqualValues(t, 40, s.Successes)
		})
	})
}

// TestProcessAttemptContexts: the provider sees the caller's context
// (values, cancellation) under the attempt's deadline, and every context a
// batch handed out is released when the batch returns.
func TestProcessAttemptContexts(t *testing.T) {
	type key struct{}
	var (
		mu   sync.Mutex
		ctxs []context.Context
	)
	fake := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		mu.Lock()
		ctxs = append(ctxs, ctx)
		mu.Unlock()
		if ctx.Value(key{}) != "caller" {
			return nil, llmtest.Error(req, llm.CodeInvalidRequest, 400, 0)
		}
		if _, ok := ctx.Deadline(); !ok {
			return nil, llmtest.Error(req, llm.CodeInvalidRequest, 400, 0)
		}
		return llmtest.Echo(ctx, req, n)
	})
	c := newClient(t, fake, llm.WithMaxConcurrency(4))
	ctx := context.WithValue(context.Background(), key{}, "caller")
	for _, r := range c.Process(ctx, prompts(50)) {
		require.NoError(t, r.Err, "the attempt's context carries the caller's values and a deadline")
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, ctxs, 50)
	for _, actx := range ctxs {
		assert.Error(t, actx.Err(), "released when the batch is over")
	}
}

// TestProcessLendsWorkersWhileWaiting: a batch runs no more workers than
// the concurrency limit while they all have work to send, but a job waiting
// without a slot (here for an identical prompt's reply) lets another job
// start. The leader's reply is held until two distinct prompts queued
// behind seven followers have been sent: with only one worker per slot the
// batch would deadlock.
func TestProcessLendsWorkersWhileWaiting(t *testing.T) {
	const conc = 8
	var others atomic.Int64
	release := make(chan struct{})
	fake := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		if llmtest.LastUserText(req) == "same" {
			select {
			case <-release:
			case <-ctx.Done():
				return nil, llmtest.ContextError(req, ctx.Err())
			}
		} else if others.Add(1) == 2 {
			close(release)
		}
		return llmtest.Echo(ctx, req, n)
	})
	c := newClient(t, fake, llm.WithMaxConcurrency(conc), llm.WithCache(newMapCache()))
	convs := make([]*conversation.Conversation, 0, conc+2)
	for range conc {
		convs = append(convs, user("same"))
	}
	convs = append(convs, user("a"), user("b"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // fails the test instead of hanging it
	defer cancel()
	for _, r := range c.Process(ctx, convs) {
		require.NoError(t, r.Err)
	}
	assert.Equal(t, 3, fake.Calls(), "one call for the identical prompts, one each for the others")
	s := c.Stats()
	// A follower slow to reach the flight may find the reply cached instead.
	assert.EqualValues(t, conc-1, s.Deduplicated+s.CacheHits)
}
