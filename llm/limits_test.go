package llm_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
)

// timestamps is a fake reply that records when each call arrived.
type timestamps struct {
	mu    sync.Mutex
	times []time.Time
}

func (ts *timestamps) reply(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
	ts.mu.Lock()
	ts.times = append(ts.times, time.Now())
	ts.mu.Unlock()
	return llmtest.Echo(ctx, req, n)
}

// maxInWindow returns the most calls that arrived within any window w.
func (ts *timestamps) maxInWindow(w time.Duration) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	best, j := 0, 0
	for i := range ts.times {
		for ts.times[i].Sub(ts.times[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func TestRequestsPerMinutePaceEvenly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 2,400 RPM is one request every 25 ms, from the first, with no
		// burst: 60 prompts take 59 intervals, and no 250 ms holds more
		// than 10.
		var ts timestamps
		fake := llmtest.New(ts.reply)
		c := newClient(t, fake, llm.WithMaxRequestsPerMinute(2400))
		start := time.Now()
		for _, r := range c.Process(context.Background(), prompts(60)) {
			require.NoError(t, r.Err)
		}
		assert.Equal(t, 59*25*time.Millisecond, time.Since(start))
		assert.Equal(t, 10, ts.maxInWindow(250*time.Millisecond))
		assert.Positive(t, c.Stats().Waited["rpm"])
	})
}

func TestModelRequestsPerMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := llmtest.New()
		c := newClient(t, fake, llm.WithModelLimits("test-model", llm.Limits{RequestsPerMinute: 1200})) // one every 50 ms
		start := time.Now()
		for _, r := range c.Process(context.Background(), prompts(30)) {
			require.NoError(t, r.Err)
		}
		assert.Equal(t, 29*50*time.Millisecond, time.Since(start))
	})
}

func TestTokensPerMinuteReconcilesEstimates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Without max new tokens, each request is charged an assumed 1,000-token
		// completion but uses ~3 tokens. At 60,000 TPM (1,000 a second) the
		// estimates alone would take 20 s for 20 requests; replacing them with
		// the real usage as replies arrive lets them through in well under that.
		fake := llmtest.New()
		fake.Latency = 5 * time.Millisecond
		c := newClient(t, fake, llm.WithMaxTokensPerMinute(60_000), llm.WithOutputTokenEstimate(1000), llm.WithMaxConcurrency(4))
		start := time.Now()
		for _, r := range c.Process(context.Background(), prompts(20)) {
			require.NoError(t, r.Err)
		}
		assert.Less(t, time.Since(start), 10*time.Second)
		assert.Positive(t, c.Stats().Waited["tpm"], "the token limit did hold requests back")
	})
}

func TestMaxNewTokensStayCharged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// With max new tokens set, the server reserves them whatever the reply
		// uses, so the client keeps charging them. At 60,000 TPM (1,000 tokens
		// a second) three requests of ~1,008 tokens go about a second apart.
		var ts timestamps
		fake := llmtest.New(ts.reply)
		c := newClient(t, fake, llm.WithMaxTokensPerMinute(60_000), llm.WithMaxNewTokens(1000))
		for range 3 {
			_, err := c.Generate(context.Background(), user("hi"))
			require.NoError(t, err)
		}
		require.Len(t, ts.times, 3)
		assert.GreaterOrEqual(t, ts.times[2].Sub(ts.times[0]), 2*time.Second)
	})
}

func TestRequestThatCanNeverFitFailsAtOnce(t *testing.T) {
	fake := llmtest.New()
	c := newClient(t, fake, llm.WithMaxTokensPerMinute(1000))
	_, err := c.Generate(context.Background(), user(strings.Repeat("word ", 1000)))
	require.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.ErrorContains(t, err, "tokens-per-minute limit is 1000")
	_, err = c.Generate(context.Background(), user("short"), llm.WithMaxNewTokens(5000))
	require.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.Zero(t, fake.Calls())

	// The smaller of the client's and the model's limits counts.
	c = newClient(t, fake, llm.WithModelLimits("test-model", llm.Limits{TokensPerMinute: 500}))
	_, err = c.Generate(context.Background(), user("short"), llm.WithMaxNewTokens(600))
	require.ErrorContains(t, err, "limit is 500")
}

func TestUnlimitedDefaultsAreReplacedNotDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// WithMaxRequestsPerMinute(0) means the default, not "no limit": a
		// client left at defaults must pace.
		var ts timestamps
		c := newClient(t, llmtest.New(ts.reply), llm.WithMaxRequestsPerMinute(0))
		for _, r := range c.Process(context.Background(), prompts(20)) {
			require.NoError(t, r.Err)
		}
		// The default 1,000 RPM: one every 60 ms.
		assert.Equal(t, 1, ts.maxInWindow(50*time.Millisecond))
	})
}
