package anthropic

import (
	"github.com/deluge-go/deluge/registry"
)

// PricesAsOf is the date the catalog prices were checked.
const PricesAsOf = "2026-12"

// catalog lists the Claude models registered at init under their Anthropic
// API IDs. Prices are USD per million tokens: base input, cache hits and
// refreshes, 5-minute cache writes (1.25× input; 1-hour writes, 2× input,
// are never requested by deluge) and output, from Anthropic's pricing page
// (platform.claude.com/docs/en/about-claude/pricing, "Model pricing") and
// the model overview pages (platform.claude.com/docs/en/models/<model>/
// overview: context window and max output), checked 2026-12. Opus and
// Sonnet 5.5 cache hits are 0.05× input, not the usual 0.1×. Claude Haiku
// 5.5 is priced by prompt length (above 100K prompt tokens every token of
// the call costs 5×), which a flat price cannot express, so it is not in
// the catalog: register it with the price band you expect.
//
// All Claude models take images, tools and JSON output (through a forced
// tool, or structured outputs for strict schemas). None returns logprobs.
var catalog = []registry.Model{
	claude("claude-opus-5-5", 4, 0.20, 5, 20, 1_000_000, 128_000),
	claude("claude-sonnet-5-5", 2, 0.10, 2.50, 10, 1_000_000, 128_000),
	claude("claude-opus-4-7", 5, 0.50, 6.25, 25, 1_000_000, 128_000),
	claude("claude-opus-4-6", 5, 0.50, 6.25, 25, 1_000_000, 128_000),
	claude("claude-opus-4-5", 5, 0.50, 6.25, 25, 200_000, 64_000),
	claude("claude-opus-4-1", 15, 1.50, 18.75, 75, 200_000, 32_000),
	claude("claude-sonnet-4-6", 3, 0.30, 3.75, 15, 1_000_000, 128_000),
	claude("claude-sonnet-4-5", 3, 0.30, 3.75, 15, 200_000, 64_000),
	claude("claude-haiku-4-5", 1, 0.10, 1.25, 5, 200_000, 64_000),
}

func claude(id string, in, cacheRead, cacheWrite, out float64, window, maxOut int) registry.Model {
	return registry.Model{
		ID: id, Provider: ProviderName, Name: id, BaseModel: id,
		APISpec:   registry.APISpecAnthropicMessages,
		InputCost: in, CachedInputCost: cacheRead, CacheWriteCost: cacheWrite, OutputCost: out,
		ContextWindow: window, MaxOutputTokens: maxOut,
		SupportsJSON: true, SupportsImages: true, SupportsTools: true,
	}
}

// Models returns the catalog this package registers, in catalog order.
func Models() []registry.Model {
	out := make([]registry.Model, len(catalog))
	copy(out, catalog)
	return out
}
