package llm

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/deluge-go/deluge/registry"
)

func TestReadAnthropicFigures(t *testing.T) {
	// Anthropic reports a per-minute token bucket as anthropic-ratelimit-*.
	h := http.Header{}
	h.Set("anthropic-ratelimit-requests-limit", "1000")
	h.Set("anthropic-ratelimit-requests-remaining", "20")
	h.Set("anthropic-ratelimit-tokens-limit", "1000000")
	h.Set("anthropic-ratelimit-tokens-remaining", "900000")
	f, ok := readFigures(h)
	assert.True(t, ok)
	assert.Equal(t, figures{remReq: 20, remTok: 900_000, limReq: 1000, limTok: 1_000_000, perMinute: true}, f)
}

func TestUsageCostWithCacheWrites(t *testing.T) {
	m := registry.Model{InputCost: 3, CachedInputCost: 0.30, CacheWriteCost: 3.75, OutputCost: 15}
	u := Usage{InputTokens: 1_000_000, CachedInputTokens: 200_000, CacheWriteInputTokens: 300_000, OutputTokens: 100_000}
	// 500k fresh at 3, 200k read at 0.30, 300k written at 3.75, 100k out at 15.
	assert.InDelta(t, 1.5+0.06+1.125+1.5, u.Cost(m), 1e-9)
	sum := u.Add(u)
	assert.Equal(t, 600_000, sum.CacheWriteInputTokens)
}
