package openai

import (
	"slices"
	"strings"

	"github.com/deluge-go/deluge/registry"
)

// catalog lists the OpenAI models registered at init. Prices are OpenAI's
// standard-tier list prices in USD per million tokens (input, cached input,
// output); limits are tokens. Checked for this release against OpenAI's model
// pages (developers.openai.com/api/docs/models/<id>: gpt-5, gpt-5-mini,
// gpt-5-nano, gpt-5.1, gpt-4-turbo, gpt-4, gpt-3.5-turbo) and, for the
// others, OpenAI's pricing page as listed by gateways that route to OpenAI.
// A zero cached price means the model has no cache discount. BaseModel is
// the ID, so llm.WithProvider finds the same model at another provider.
//
// Capability flags: SupportsJSON is JSON mode (response_format), Images is
// image input, Logprobs is token log-probabilities (not offered by
// reasoning models), Responses is availability on the Responses API (every
// chat model: send one there with llm.WithAPI(llm.APIResponses)). The
// Responses-only models (gpt-5-pro, gpt-5-codex, o3-pro, …) and the
// embeddings models were checked on their model pages as well.
var catalog = []registry.Model{
	// GPT-5 family: reasoning models (max_completion_tokens, no sampling knobs).
	reasoning("gpt-5.1", 1.25, 0.125, 10, 400_000, 128_000, true),
	reasoning("gpt-5", 1.25, 0.125, 10, 400_000, 128_000, true),
	reasoning("gpt-5-mini", 0.25, 0.025, 2, 400_000, 128_000, true),
	reasoning("gpt-5-nano", 0.05, 0.005, 0.40, 400_000, 128_000, true),

	// o-series reasoning models.
	reasoning("o1", 15, 7.50, 60, 200_000, 100_000, true),
	reasoning("o3", 2, 0.50, 8, 200_000, 100_000, true),
	reasoning("o3-mini", 1.10, 0.55, 4.40, 200_000, 100_000, false),
	reasoning("o4-mini", 1.10, 0.275, 4.40, 200_000, 100_000, true),

	// GPT-4.1 and GPT-4o: non-reasoning, full sampling control.
	chat("gpt-4.1", 2, 0.50, 8, 1_047_576, 32_768, true, true),
	chat("gpt-4.1-mini", 0.40, 0.10, 1.60, 1_047_576, 32_768, true, true),
	chat("gpt-4.1-nano", 0.10, 0.025, 0.40, 1_047_576, 32_768, true, true),
	chat("gpt-4o", 2.50, 1.25, 10, 128_000, 16_384, true, true),
	chat("gpt-4o-mini", 0.15, 0.075, 0.60, 128_000, 16_384, true, true),

	// Older models, still served.
	chat("gpt-4-turbo", 10, 0, 30, 128_000, 4_096, true, true),
	chat("gpt-4", 30, 0, 60, 8_192, 8_192, false, false),
	chat("gpt-3.5-turbo", 0.50, 0, 1.50, 16_385, 4_096, true, false),

	// Reasoning models served only by the Responses API (their model
	// pages: "available in the Responses API only"): APISpec "responses".
	responsesOnly("gpt-5-pro", 15, 0, 120, 400_000, 272_000),
	responsesOnly("gpt-5-codex", 1.25, 0.125, 10, 400_000, 128_000),
	responsesOnly("gpt-5.1-codex", 1.25, 0.125, 10, 400_000, 128_000),
	responsesOnly("gpt-5.1-codex-mini", 0.25, 0.025, 2, 400_000, 128_000),
	responsesOnly("o3-pro", 20, 0, 80, 200_000, 100_000),
	responsesOnly("codex-mini-latest", 1.50, 0.375, 6, 200_000, 100_000),

	// Embeddings models: one price, per input token. Up to 2,048 inputs of
	// 8,192 tokens per request; text-embedding-3 models return shorter
	// vectors on request (dimensions).
	embedding("text-embedding-3-small", 0.02, 1_536, true),
	embedding("text-embedding-3-large", 0.13, 3_072, true),
	embedding("text-embedding-ada-002", 0.10, 1_536, false),
}

// EmbeddingMaxInputs and EmbeddingMaxInputTokens are OpenAI's (and Azure
// OpenAI's) limits of one embeddings request: inputs per request, and
// tokens per input (the API reference: "The input must not exceed the max
// input tokens for the model (8192 tokens for all embedding models) … any
// array must be 2048 dimensions or less").
const (
	EmbeddingMaxInputs      = 2048
	EmbeddingMaxInputTokens = 8192
)

func responsesOnly(id string, in, cached, out float64, window, maxOut int) registry.Model {
	m := reasoning(id, in, cached, out, window, maxOut, true)
	m.APISpec = registry.APISpecResponses
	return m
}

func embedding(id string, in float64, dims int, shorter bool) registry.Model {
	return registry.Model{
		ID: id, Provider: ProviderName, Name: id, BaseModel: id, APISpec: registry.APISpecEmbeddings,
		InputCost: in, ContextWindow: EmbeddingMaxInputTokens,
		Dimensions: dims, SupportsDimensions: shorter, MaxInputs: EmbeddingMaxInputs,
	}
}

func chat(id string, in, cached, out float64, window, maxOut int, json, images bool) registry.Model {
	return registry.Model{
		ID: id, Provider: ProviderName, Name: id, BaseModel: id,
		InputCost: in, CachedInputCost: cached, OutputCost: out,
		ContextWindow: window, MaxOutputTokens: maxOut,
		SupportsJSON: json, SupportsImages: images, SupportsLogprobs: true,
		SupportsTools: true, SupportsResponses: true,
	}
}

func reasoning(id string, in, cached, out float64, window, maxOut int, images bool) registry.Model {
	return registry.Model{
		ID: id, Provider: ProviderName, Name: id, BaseModel: id,
		InputCost: in, CachedInputCost: cached, OutputCost: out,
		ContextWindow: window, MaxOutputTokens: maxOut,
		SupportsJSON: true, SupportsImages: images, SupportsTools: true, SupportsResponses: true,
		Reasoning: true,
	}
}

// Catalog returns a copy of the models this package registers, sorted by
// ID. Providers serving the same models (Azure) derive their twins from it.
func Catalog() []registry.Model {
	out := slices.Clone(catalog)
	slices.SortFunc(out, func(a, b registry.Model) int { return strings.Compare(a.ID, b.ID) })
	return out
}
