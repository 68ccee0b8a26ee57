package azurefoundry

import "github.com/deluge-go/deluge/registry"

// claudeCatalog lists the Claude models offered on Microsoft Foundry,
// registered as "azure-" + the model ID and served by the Messages API
// route (APISpec anthropic-messages). Name is the default deployment name,
// which the Foundry portal proposes equal to the model ID.
//
// Which models: Microsoft Learn, "Deploy and use Claude models in
// Microsoft Foundry" (articles/ai-foundry/foundry-models/how-to/
// use-foundry-models-claude.md, 2026 versions: claude-opus-4-7, -4-6,
// -4-5, -4-1, claude-sonnet-4-6, -4-5, claude-haiku-4-5; Global Standard
// deployments in East US 2 and Sweden Central resources; default quota
// 2,000 RPM / 2,000,000 TPM for Opus, 4,000 RPM / 2,000,000 TPM for Sonnet
// and 4,000 RPM / 4,000,000 TPM for Haiku on Enterprise and MCA-E
// subscriptions, the only ones eligible), and Anthropic's "Claude in
// Microsoft Foundry" page (platform.claude.com, checked 2026-12), which
// adds Claude Opus 5.5 and Sonnet 5.5 (Global Standard and US Data Zone
// Standard).
//
// Prices: Foundry bills Claude at Anthropic's API list prices (Anthropic's
// Foundry page, "Pricing for Claude in the Microsoft Marketplace uses
// Anthropic's standard API pricing"), so these are the prices of
// providers/anthropic's catalog: USD per million tokens of input, cache
// hits, 5-minute cache writes and output, from
// platform.claude.com/docs/en/about-claude/pricing, checked 2026-12. The
// deployment type scales them as for Azure OpenAI models (Data Zone ×1.10).
// Claude Haiku 5.5, priced by prompt length, is left out (see
// providers/anthropic).
var claudeCatalog = []registry.Model{
	claudeModel("claude-opus-5-5", 4, 0.20, 5, 20, 1_000_000, 128_000),
	claudeModel("claude-sonnet-5-5", 2, 0.10, 2.50, 10, 1_000_000, 128_000),
	claudeModel("claude-opus-4-7", 5, 0.50, 6.25, 25, 1_000_000, 128_000),
	claudeModel("claude-opus-4-6", 5, 0.50, 6.25, 25, 1_000_000, 128_000),
	claudeModel("claude-opus-4-5", 5, 0.50, 6.25, 25, 200_000, 64_000),
	claudeModel("claude-opus-4-1", 15, 1.50, 18.75, 75, 200_000, 32_000),
	claudeModel("claude-sonnet-4-6", 3, 0.30, 3.75, 15, 1_000_000, 128_000),
	claudeModel("claude-sonnet-4-5", 3, 0.30, 3.75, 15, 200_000, 64_000),
	claudeModel("claude-haiku-4-5", 1, 0.10, 1.25, 5, 200_000, 64_000),
}

// claudeModel builds a catalog entry for a Claude model deployed under its
// model ID. BaseModel is the Anthropic model ID, so
// llm.WithProvider("azure-foundry") moves a providers/anthropic model to
// its Azure deployment.
func claudeModel(id string, in, cacheRead, cacheWrite, out float64, window, maxOut int) registry.Model {
	return registry.Model{
		ID:              ModelID(id),
		Provider:        ProviderName,
		Name:            id,
		BaseModel:       id,
		APISpec:         registry.APISpecAnthropicMessages,
		InputCost:       in,
		CachedInputCost: cacheRead,
		CacheWriteCost:  cacheWrite,
		OutputCost:      out,
		ContextWindow:   window,
		MaxOutputTokens: maxOut,
		SupportsImages:  true,
		SupportsTools:   true,
		SupportsJSON:    true,
	}
}
