package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/deluge-go/deluge/llm"
)

func TestSummaryRender(t *testing.T) {
	s := newSummary()
	s.addResult(&result{Usage: llm.Usage{InputTokens: 1200, OutputTokens: 30, CachedInputTokens: 1000}, Cost: 0.25})
	s.addResult(&result{Cached: true})
	s.addResult(&result{Error: &resultError{Code: "rate_limited"}})
	s.addResult(&result{Error: &resultError{Code: "rate_limited"}})
	s.addResult(&result{Error: &resultError{Code: "invalid_input"}})
	s.Duplicates = 1
	s.Skipped = 1234
	s.Retries, s.RateLimitHits = 7, 5
	s.Elapsed = 2 * time.Second
	s.Output = "out.jsonl"

	var b strings.Builder
	s.render(&b, &ui{})
	out := b.String()
	assert.Contains(t, out, "deluge: done in 2s (2.5 req/s)")
	assert.Contains(t, out, "succeeded       2\n")
	assert.Contains(t, out, "failed          4  (rate_limited 2, duplicate_id 1, invalid_input 1)\n")
	assert.Contains(t, out, "skipped         1,234 already done in out.jsonl\n")
	assert.Contains(t, out, "retries         7  (rate-limit hits 5)\n")
	assert.Contains(t, out, "cache hits      1\n")
	assert.Contains(t, out, "tokens          in 1,200 (cached 1,000), out 30\n")
	assert.Contains(t, out, "cost            $0.2500\n")
	assert.NotContains(t, out, "to finish")
	assert.Equal(t, exitFailures, s.exitCode())

	s.Interrupted = true
	b.Reset()
	s.render(&b, &ui{})
	assert.Contains(t, b.String(), "deluge: interrupted in")
	assert.Contains(t, b.String(), "rerun the same command")
	assert.Equal(t, exitInterrupted, s.exitCode())

	assert.Equal(t, exitOK, newSummary().exitCode())
}

func TestFormatting(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4500: "-4,500"} {
		assert.Equal(t, want, groupDigits(n))
	}
	for v, want := range map[float64]string{0: "$0.00", 0.000123: "$0.000123", 0.5: "$0.5000", 1234.567: "$1234.57"} {
		assert.Equal(t, want, formatUSD(v))
	}
	for n, want := range map[int]string{0: "-", 16384: "16,384", 128000: "128k", 1000000: "1M", 1047576: "1,047,576"} {
		assert.Equal(t, want, tokens(n))
	}
	assert.Equal(t, "0.075", price(0.075))
	assert.Equal(t, "2", price(2))
	assert.Equal(t, "-", price(0))
}

func TestSummaryRenderPaceAndRouted(t *testing.T) {
	s := newSummary()
	s.Paces = loweredPaces([]llm.Pace{
		{Model: "azure-gpt-4o", Configured: llm.Limits{RequestsPerMinute: 6000, TokensPerMinute: 1_000_000},
			Found: llm.Limits{RequestsPerMinute: 4200}, Server: llm.Limits{RequestsPerMinute: 4800}},
		{Model: "azure-gpt-4o-mini", Configured: llm.Limits{RequestsPerMinute: 600}}, // as configured: not shown
	})
	s.Routed = map[string]llm.RoutedStats{
		"o4-mini-2025-04-16":      {Calls: 2, Cost: 0.001},
		"gpt-4.1-mini-2025-04-14": {Calls: 1234, Cost: 0.5},
	}
	var b strings.Builder
	s.render(&b, &ui{})
	out := b.String()
	assert.Contains(t, out, "pace            azure-gpt-4o: the server allowed 4,200 RPM, not the 6,000 RPM configured (its headers say 4,800 RPM)")
	assert.NotContains(t, out, "azure-gpt-4o-mini")
	assert.Contains(t, out, "routed          gpt-4.1-mini-2025-04-14 1,234 ($0.5000), o4-mini-2025-04-16 2 ($0.001000)\n")

	b.Reset()
	newSummary().render(&b, &ui{})
	assert.NotContains(t, b.String(), "pace")
	assert.NotContains(t, b.String(), "routed")
}
