package azuretest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultRates(t *testing.T) {
	// A fresh client per request: a reset kills its connection.
	s := NewServer(WithSeed(42), WithFaults(Faults{Rate429: 0.10, Rate500: 0.05, Rate503: 0.05, RateReset: 0.05}))
	defer s.Close()
	const n = 1000
	counts := map[int]int{}
	resets := 0
	for range n {
		resp, err := s.Client().Post(classicURL(s, "gpt-4o", "2024-10-21"), "application/json", strings.NewReader(userBody("x", "")))
		if err != nil {
			resets++
			continue
		}
		resp.Body.Close()
		counts[resp.StatusCode]++
	}
	// Binomial(1000, p): ±5 standard deviations, so this cannot flake.
	assert.InDelta(t, 100, counts[429], 48)
	assert.InDelta(t, 50, counts[500], 35)
	assert.InDelta(t, 50, counts[503], 35)
	assert.InDelta(t, 50, resets, 35)
	assert.Equal(t, n, counts[200]+counts[429]+counts[500]+counts[503]+resets)
	s.Close() // a reset request is recorded when its handler returns, maybe after the client saw the reset
	st := s.Stats()
	assert.Equal(t, resets, st.ByStatus[StatusReset])
	assert.Equal(t, counts[429], st.RateLimited)
}

func TestFaultsAreReproducibleWithSeed(t *testing.T) {
	run := func() []int {
		s := NewServer(WithSeed(7), WithFaults(FaultsForFailRate(0.5)))
		defer s.Close()
		var statuses []int
		for range 50 {
			resp, _ := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), userBody("x", ""), nil)
			statuses = append(statuses, resp.StatusCode)
		}
		return statuses
	}
	first := run()
	assert.Equal(t, first, run())
	assert.Contains(t, first, 200)
	assert.Contains(t, first, 429)
}

func TestFaultBodies(t *testing.T) {
	s := NewServer(WithFaults(Faults{Rate500: 1}))
	defer s.Close()
	url := classicURL(s, "gpt-4o", "2024-10-21")
	resp, got := do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	id := resp.Header.Get("apim-request-id")
	assert.JSONEq(t, `{"error":{"message":"The server had an error while processing your request. Sorry about that! You can retry your request, or contact us through an Azure support request at: https://go.microsoft.com/fwlink/?linkid=2213926 if the error persists. (Please include the request ID `+id+` in your message.)","type":"server_error","param":null,"code":null}}`, string(got))

	s.SetFaults(Faults{Rate503: 1})
	resp, got = do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Contains(t, string(got), `"message":"That model is currently overloaded with other requests.`)

	s.SetFaults(Faults{Rate429: 1, RetryAfter: 1500 * time.Millisecond})
	resp, got = do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "1500", resp.Header.Get("retry-after-ms"))
	assert.Equal(t, "2", resp.Header.Get("retry-after"))
	assert.Contains(t, string(got), "Please retry after 2 seconds.")

	s.SetFaults(Faults{RateDailyQuota: 1})
	resp, _ = do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
	assert.Equal(t, "86400", resp.Header.Get("retry-after"))

	s.SetFaults(Faults{RateReset: 1})
	_, err := s.Client().Post(url, "application/json", strings.NewReader(userBody("x", `"stream":true`)))
	require.Error(t, err, "the connection is dropped without a response")

	s.SetFaults(Faults{})
	resp, _ = do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestSlowFault(t *testing.T) {
	s := NewServer(WithFaults(Faults{RateSlow: 1, SlowDelay: 30 * time.Millisecond}))
	defer s.Close()
	start := time.Now()
	resp, _ := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), userBody("x", ""), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond, "a lower bound only: no flaky upper bound")
}

func TestFaultsForFailRate(t *testing.T) {
	f := FaultsForFailRate(0.2)
	assert.InDelta(t, 0.2, f.Rate429+f.Rate500+f.Rate503, 1e-9)
	assert.False(t, Faults{}.any())
}
