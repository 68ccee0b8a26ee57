package e2e

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// TestStreamStalledAfterFirstChunk: the emulator sends a stream's first
// chunks, then nothing, forever. The stream used to hang until the server
// gave up (WithRequestTimeout bounds only the first chunk); now the
// silence is bounded by WithStreamIdleTimeout and the loop ends with a
// CodeTimeout error (issue 16, item 6). On a synctest bubble's fake time:
// without the bound, the bubble deadlocks and the test fails.
func TestStreamStalledAfterFirstChunk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, cfg := emulatorInMemory(t, azuretest.WithFaults(azuretest.Faults{RateStall: 1, StallAfter: 2}))
		const idle = 7 * time.Second
		c := client(t, provider(t, cfg, nil), llm.WithStreamIdleTimeout(idle), llm.WithRequestTimeout(time.Minute))
		start := time.Now()
		var (
			text    string
			lastErr error
			n       int
			last    time.Time
		)
		for ch, err := range c.Stream(context.Background(), conversation.New().User("tell me a long story")) {
			n++
			if err != nil {
				lastErr = err
				break
			}
			text += ch.Text
			last = time.Now()
		}
		require.Error(t, lastErr)
		assert.Equal(t, llm.CodeTimeout, llm.CodeOf(lastErr), "%v", lastErr)
		assert.ErrorIs(t, lastErr, llm.ErrTimeout)
		assert.Contains(t, lastErr.Error(), "WithStreamIdleTimeout")
		assert.NotEmpty(t, text, "the chunks before the stall reached the caller")
		assert.Equal(t, idle, time.Since(last), "cut exactly one idle timeout after the last chunk (fake time)")
		assert.Less(t, time.Since(start), time.Minute)
		synctest.Wait()
		assert.Zero(t, srv.InFlight(), "the stalled request was abandoned, its connection released")
		assert.Equal(t, 1, srv.Requests(), "a stream that delivered chunks is not retried")
	})
}

// TestStreamSlowReaderIsNotIdle: the time the caller spends on a chunk
// is not the server's silence.
func TestStreamSlowReaderIsNotIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, cfg := emulatorInMemory(t)
		const idle = time.Second
		c := client(t, provider(t, cfg, nil), llm.WithStreamIdleTimeout(idle))
		chunks := 0
		for _, err := range c.Stream(context.Background(), conversation.New().User("tell me a story")) {
			require.NoError(t, err)
			chunks++
			time.Sleep(3 * idle)
		}
		assert.Greater(t, chunks, 1)
	})
}
