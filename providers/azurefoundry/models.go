package azurefoundry

import (
	"strings"

	"github.com/deluge-go/deluge/registry"
)

// PricesAsOf is the date the catalog prices were checked.
const PricesAsOf = "2026-11"

// The catalog: Azure OpenAI models and Foundry models served through the v1
// chat completions route, the models served only by the Responses API, and
// the embeddings models, registered at init as "azure-<name>". Chat models
// of the OpenAI family also serve the Responses API
// (llm.WithAPI(llm.APIResponses)), and SupportsResponses says so.
//
// Prices are USD per million tokens for the Global Standard SKU (input,
// cached input, output), taken from the Azure Retail Prices API
// (prices.azure.com, service "Foundry Models", eastus, Consumption) as
// mirrored in LiteLLM's model_prices_and_context_window.json, cross-checked
// with the Azure OpenAI pricing page; Data Zone prices there are 1.10× and
// Batch 0.5× these. Context windows, output limits and capabilities come
// from Microsoft Learn ("Foundry Models sold directly by Azure"). Name is
// the default deployment name: the model name as the Azure portal proposes
// it, so a deployment created with defaults needs no configuration.
// BaseModel is the provider-independent name, OpenAI's spelling for OpenAI
// models (gpt-35-turbo is gpt-3.5-turbo), so llm.WithProvider can switch an
// OpenAI model to Azure.
var catalog = append([]registry.Model{
	// GPT-4o family.
	chat("gpt-4o", "gpt-4o", 2.50, 1.25, 10.00, 128_000, 16_384, vision|tools|jsonMode|logprobs|responsesAPI),
	chat("gpt-4o-mini", "gpt-4o-mini", 0.15, 0.075, 0.60, 128_000, 16_384, vision|tools|jsonMode|logprobs|responsesAPI),

	// GPT-4.1 family (1M-token context).
	chat("gpt-4.1", "gpt-4.1", 2.00, 0.50, 8.00, 1_047_576, 32_768, vision|tools|jsonMode|logprobs|responsesAPI),
	chat("gpt-4.1-mini", "gpt-4.1-mini", 0.40, 0.10, 1.60, 1_047_576, 32_768, vision|tools|jsonMode|logprobs|responsesAPI),
	chat("gpt-4.1-nano", "gpt-4.1-nano", 0.10, 0.025, 0.40, 1_047_576, 32_768, vision|tools|jsonMode|logprobs|responsesAPI),

	// GPT-5 family: reasoning models with 272k input + 128k output.
	chat("gpt-5", "gpt-5", 1.25, 0.125, 10.00, 400_000, 128_000, vision|tools|jsonMode|reasoning|responsesAPI),
	chat("gpt-5-mini", "gpt-5-mini", 0.25, 0.025, 2.00, 400_000, 128_000, vision|tools|jsonMode|reasoning|responsesAPI),
	chat("gpt-5-nano", "gpt-5-nano", 0.05, 0.005, 0.40, 400_000, 128_000, vision|tools|jsonMode|reasoning|responsesAPI),
	chat("gpt-5-chat", "gpt-5-chat", 1.25, 0.125, 10.00, 128_000, 16_384, vision|tools|jsonMode|responsesAPI),
	chat("gpt-5.1", "gpt-5.1", 1.25, 0.125, 10.00, 400_000, 128_000, vision|tools|jsonMode|reasoning|responsesAPI),

	// o-series reasoning models.
	chat("o1", "o1", 15.00, 7.50, 60.00, 200_000, 100_000, vision|tools|jsonMode|reasoning|responsesAPI),
	chat("o3", "o3", 2.00, 0.50, 8.00, 200_000, 100_000, vision|tools|jsonMode|reasoning|responsesAPI),
	chat("o3-mini", "o3-mini", 1.10, 0.55, 4.40, 200_000, 100_000, tools|jsonMode|reasoning|responsesAPI),
	chat("o4-mini", "o4-mini", 1.10, 0.275, 4.40, 200_000, 100_000, vision|tools|jsonMode|reasoning|responsesAPI),

	// Older models still deployed (Azure's spelling: gpt-35-turbo).
	chat("gpt-4-turbo", "gpt-4-turbo", 10.00, 0, 30.00, 128_000, 4_096, vision|tools|jsonMode|logprobs),
	chat("gpt-4", "gpt-4", 30.00, 0, 60.00, 8_192, 4_096, tools|logprobs),
	chat("gpt-35-turbo", "gpt-3.5-turbo", 0.50, 0, 1.50, 16_385, 4_096, tools|jsonMode|logprobs),

	// Foundry models sold directly by Azure, served by the same v1 route.
	// Where Microsoft Learn gives the output limit as the whole window
	// (input and output share it), so does the catalog.
	chat("gpt-oss-120b", "gpt-oss-120b", 0.15, 0, 0.60, 131_072, 131_072, tools|jsonMode|reasoning),
	chat("DeepSeek-R1", "DeepSeek-R1", 1.35, 0, 5.40, 163_840, 163_840, reasoning),
	chat("DeepSeek-V3.1", "DeepSeek-V3.1", 1.23, 0, 4.94, 131_072, 131_072, tools|jsonMode),
	chat("Llama-3.3-70B-Instruct", "Llama-3.3-70B-Instruct", 0.71, 0, 0.71, 128_000, 8_192, 0),
	chat("Llama-4-Maverick-17B-128E-Instruct-FP8", "Llama-4-Maverick-17B-128E-Instruct-FP8", 0.25, 0, 1.00, 1_000_000, 1_000_000, vision),
	chat("Mistral-Large-3", "Mistral-Large-3", 0.50, 0, 1.50, 256_000, 256_000, vision|tools|jsonMode),
	chat("grok-4", "grok-4", 3.00, 0, 15.00, 256_000, 8_192, tools),
	chat("Phi-4", "Phi-4", 0.125, 0, 0.50, 16_384, 16_384, 0),

	// The model router: a deployment that answers each prompt with a model
	// it chooses (Microsoft Learn, "Model router for Microsoft Foundry"),
	// named in the reply's "model" field (llm.Response.RoutedModel). Its
	// price is its own fee, $0.14 per million input tokens since November
	// 2025 (Learn, concepts/model-router, "Billing information"; the Azure
	// pricing page as mirrored in LiteLLM's Azure AI cost calculator),
	// charged on top of the chosen model's tokens at that model's prices:
	// a call is priced at both (registry.Routed finds the chosen model in
	// the catalog). Limits: Learn's models table for model-router
	// 2025-05-19 and 2025-08-07 (200,000-token context, 32,768 output for
	// the GPT-4.1 series; the smallest underlying model bounds a prompt).
	router("model-router", 0.14, 200_000, 32_768),

	// Reasoning models Azure serves through the Responses API only (their
	// "Chat Completions API" row is empty in Microsoft Learn's reasoning
	// models table, "API & feature support"): APISpec "responses", sent to
	// {endpoint}/openai/v1/responses (or the classic route,
	// responses.go). Limits: Learn's context-window row (272k input and
	// 128k output for the GPT-5 ones).
	responsesOnly("gpt-5-pro", "gpt-5-pro", 15.00, 0, 120.00, 400_000, 128_000),
	responsesOnly("gpt-5-codex", "gpt-5-codex", 1.25, 0.125, 10.00, 400_000, 128_000),
	responsesOnly("gpt-5.1-codex", "gpt-5.1-codex", 1.25, 0.125, 10.00, 400_000, 128_000),
	responsesOnly("gpt-5.1-codex-mini", "gpt-5.1-codex-mini", 0.25, 0.025, 2.00, 400_000, 128_000),
	responsesOnly("o3-pro", "o3-pro", 20.00, 0, 80.00, 200_000, 100_000),
	responsesOnly("codex-mini", "codex-mini-latest", 1.50, 0.375, 6.00, 200_000, 100_000),

	// Embeddings models (llm.Client.Embed), priced per input token.
	embedding("text-embedding-3-small", 0.02, 1_536, true),
	embedding("text-embedding-3-large", 0.13, 3_072, true),
	embedding("text-embedding-ada-002", 0.10, 1_536, false),
}, claudeCatalog...) // Claude deployments, on the Messages API route: claude_models.go

// capability flags for the catalog table.
type capability uint8

const (
	vision capability = 1 << iota
	tools
	jsonMode
	logprobs
	reasoning
	// responsesAPI: also served by the Responses API (Microsoft Learn,
	// "Azure OpenAI Responses API", Model support).
	responsesAPI
)

// chat builds a catalog entry for a chat model deployed under name.
func chat(name, base string, in, cachedIn, out float64, ctx, maxOut int, caps capability) registry.Model {
	return registry.Model{
		ID:               ModelID(name),
		Provider:         ProviderName,
		Name:             name,
		BaseModel:        base,
		APISpec:          registry.APISpecChat,
		InputCost:        in,
		CachedInputCost:  cachedIn,
		OutputCost:       out,
		ContextWindow:    ctx,
		MaxOutputTokens:  maxOut,
		SupportsImages:   caps&vision != 0,
		SupportsTools:    caps&tools != 0,
		SupportsJSON:     caps&jsonMode != 0,
		SupportsLogprobs: caps&logprobs != 0,
		Reasoning:        caps&reasoning != 0,

		SupportsResponses: caps&responsesAPI != 0,
	}
}

// router builds the catalog entry of a model-router deployment.
func router(name string, in float64, ctx, maxOut int) registry.Model {
	m := chat(name, name, in, 0, 0, ctx, maxOut, vision|tools|jsonMode)
	m.Router = true
	return m
}

// responsesOnly builds a catalog entry for a reasoning model served only
// by the Responses API.
func responsesOnly(name, base string, in, cachedIn, out float64, ctx, maxOut int) registry.Model {
	m := chat(name, base, in, cachedIn, out, ctx, maxOut, vision|tools|jsonMode|reasoning|responsesAPI)
	m.APISpec = registry.APISpecResponses
	return m
}

// Embeddings limits of Azure OpenAI (Microsoft Learn, embeddings how-to:
// "The maximum length of input text for our latest embedding models is
// 8,192 tokens … If sending an array of inputs in a single embedding
// request the max array size is 2048").
const (
	embeddingMaxInputs      = 2048
	embeddingMaxInputTokens = 8192
)

// embedding builds a catalog entry for an embeddings model; shorter says
// it takes the dimensions parameter (text-embedding-3).
func embedding(name string, in float64, dims int, shorter bool) registry.Model {
	return registry.Model{
		ID:                 ModelID(name),
		Provider:           ProviderName,
		Name:               name,
		BaseModel:          name,
		APISpec:            registry.APISpecEmbeddings,
		InputCost:          in,
		ContextWindow:      embeddingMaxInputTokens,
		Dimensions:         dims,
		SupportsDimensions: shorter,
		MaxInputs:          embeddingMaxInputs,
	}
}

// catalogByID indexes the catalog, for pricing: only catalog prices are
// scaled by the deployment type.
var catalogByID = func() map[string]registry.Model {
	ids := make(map[string]registry.Model, len(catalog))
	for _, m := range catalog {
		ids[m.ID] = m
	}
	return ids
}()

// Models returns the catalog this package registers, in catalog order.
func Models() []registry.Model {
	out := make([]registry.Model, len(catalog))
	copy(out, catalog)
	return out
}

// ModelID returns the catalog ID of the model Azure names name:
// "azure-" + name in lower case (ModelID("DeepSeek-R1") is
// "azure-deepseek-r1").
func ModelID(name string) string {
	return "azure-" + strings.ToLower(name)
}

// isCatalogModel reports whether m is a catalog entry with its catalog
// prices (not a same-named model a program registered with its own).
func isCatalogModel(m registry.Model) bool {
	c, ok := catalogByID[m.ID]
	return ok && m.Provider == ProviderName && c.InputCost == m.InputCost && c.OutputCost == m.OutputCost &&
		c.CachedInputCost == m.CachedInputCost
}
