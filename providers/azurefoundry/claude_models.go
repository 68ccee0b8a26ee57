package azurefoundry

import (
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/registry"
)

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
// Anthropic's standard API pricing"), so the entries take prices, context
// window and output limit from providers/anthropic's catalog (see
// anthropic.Models for their sources); the deployment type scales them as
// for Azure OpenAI models (Data Zone ×1.10). Claude Haiku 5.5, priced by
// prompt length, is in neither catalog.
var claudeCatalog = claudeModels(
	"claude-opus-5-5", "claude-sonnet-5-5",
	"claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1",
	"claude-sonnet-4-6", "claude-sonnet-4-5", "claude-haiku-4-5",
)

// claudeModels builds the catalog entries of the Claude models ids, each
// deployed under its model ID: providers/anthropic's entry under this
// provider. BaseModel stays the Anthropic model ID, so
// llm.WithProvider("azure-foundry") moves a providers/anthropic model to
// its Azure deployment.
func claudeModels(ids ...string) []registry.Model {
	byID := make(map[string]registry.Model)
	for _, m := range anthropic.Models() {
		byID[m.ID] = m
	}
	out := make([]registry.Model, 0, len(ids))
	for _, id := range ids {
		m, ok := byID[id]
		if !ok {
			panic("azurefoundry: " + id + " is not in providers/anthropic's catalog")
		}
		m.ID, m.Provider, m.Name = ModelID(id), ProviderName, id
		out = append(out, m)
	}
	return out
}
