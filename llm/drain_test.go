package llm_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
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

// TestDrainStopsSendingKeepsInFlight: after the drain channel closes, a
// batch sends nothing new (jobs it had taken, waiting for rate capacity,
// end with ErrDrained), pulls no more input, and the requests in flight
// finish with their replies. Without it, the jobs already handed to
// workers went out at the paced rate for minutes (issue 16, item 7).
func TestDrainStopsSendingKeepsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := llmtest.New()
		p.Latency = 5 * time.Second
		c, err := llm.NewClient("test-model", llm.WithProviderInstance(p), llm.WithLogger(quietLogger()),
			llm.WithMaxRequestsPerMinute(60), llm.WithMaxTokensPerMinute(-1), llm.WithMaxConcurrency(20))
		require.NoError(t, err)

		const n = 1000
		var pulled atomic.Int64
		jobs := func(yield func(int, llm.Job) bool) {
			for i := range n {
				pulled.Add(1)
				if !yield(i, llm.Job{Conversation: conversation.New().User("prompt")}) {
					return
				}
			}
		}
		drain := make(chan struct{})
		var (
			mu      sync.Mutex
			ok      int
			drained int
			sentAt  int64 // provider calls when the drain closed
		)
		go func() {
			time.Sleep(10500 * time.Millisecond) // 1 a second: about 11 sent, the last 5 still in flight
			sentAt = int64(p.Calls())
			close(drain)
		}()
		for _, r := range c.ProcessJobs(context.Background(), jobs, llm.WithDrain(drain)) {
			mu.Lock()
			switch {
			case r.Err == nil:
				ok++
			case errors.Is(r.Err, llm.ErrDrained):
				require.ErrorIs(t, r.Err, llm.ErrCanceled)
				assert.Zero(t, r.Attempts, "nothing was sent for it")
				drained++
			default:
				t.Errorf("result %d: %v", r.Index, r.Err)
			}
			mu.Unlock()
		}
		t.Logf("sent %d, ok %d, drained %d, pulled %d", sentAt, ok, drained, pulled.Load())
		require.NotZero(t, sentAt)
		assert.EqualValues(t, sentAt, p.Calls(), "nothing was sent after the drain")
		assert.EqualValues(t, sentAt, ok, "every request in flight finished with its reply")
		assert.Positive(t, drained, "jobs taken but not sent say so")
		assert.Less(t, pulled.Load(), int64(n/2), "no more input was pulled")
		assert.EqualValues(t, pulled.Load(), ok+drained, "one result per job pulled")
	})
}

// TestDrainDoesNotRetry: an attempt that fails after the drain is not
// retried; the call says it was drained, with the last error.
func TestDrainDoesNotRetry(t *testing.T) {
	drain := make(chan struct{})
	p := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
		close(drain) // the drain arrives while the attempt is in flight
		return nil, llmtest.Error(req, llm.CodeUnavailable, 503, 0)
	})
	c := newClient(t, p)
	_, err := c.Generate(context.Background(), user("x"), llm.WithDrain(drain))
	require.ErrorIs(t, err, llm.ErrDrained)
	assert.ErrorIs(t, err, llm.ErrUnavailable, "the last error is kept")
	assert.Contains(t, err.Error(), "HTTP 503")
	assert.Equal(t, 1, p.Calls(), "not retried")

	// A call started after the drain sends nothing.
	_, err = c.Generate(context.Background(), user("y"), llm.WithDrain(drain))
	require.ErrorIs(t, err, llm.ErrDrained)
	assert.Equal(t, 1, p.Calls())
	for _, err := range c.Stream(context.Background(), user("z"), llm.WithDrain(drain)) {
		assert.ErrorIs(t, err, llm.ErrDrained)
	}
	assert.Equal(t, 1, p.Calls())
}

// TestDrainEndsBackoff: a call backing off between attempts when the
// drain closes ends at once instead of sleeping out its backoff.
func TestDrainEndsBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The server asks to wait an hour: every retry waits at least that
		// (full jitter alone could draw a wait shorter than the drain's
		// minute).
		p := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
			return nil, llmtest.Error(req, llm.CodeUnavailable, 503, time.Hour)
		})
		c, err := llm.NewClient("test-model", llm.WithProviderInstance(p), llm.WithLogger(quietLogger()),
			llm.WithRetryBackoff(time.Hour, time.Hour))
		require.NoError(t, err)
		drain := make(chan struct{})
		time.AfterFunc(time.Minute, func() { close(drain) })
		start := time.Now()
		results := c.Process(context.Background(), prompts(3), llm.WithDrain(drain))
		assert.Less(t, time.Since(start), 2*time.Minute, "the backoff ended with the drain")
		for _, r := range results {
			assert.ErrorIs(t, r.Err, llm.ErrDrained)
			assert.ErrorIs(t, r.Err, llm.ErrUnavailable)
		}
		assert.Equal(t, 3, p.Calls())
	})
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
