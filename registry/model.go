package registry

import "maps"

// Model describes one callable model. Prices are USD per million tokens.
type Model struct {
	// ID is the name users pass to llm.NewClient, unique in the registry
	// (e.g. "gpt-4o", "azure-gpt-4o").
	ID string `json:"id"`
	// Provider is the key of the provider that serves the model
	// ("openai", "azure-foundry").
	Provider string `json:"provider"`
	// Name is what goes on the wire: the API model name, or for Azure the
	// deployment name. Register defaults it to ID.
	Name string `json:"name"`
	// BaseModel is the provider-independent model name ("gpt-4o"); models of
	// different providers with the same BaseModel are interchangeable, which
	// is how llm.WithProvider switches provider.
	BaseModel string `json:"base_model,omitempty"`
	// APIBase overrides the provider's endpoint for this model (an
	// OpenAI-compatible server, an Azure resource).
	APIBase string `json:"api_base,omitempty"`
	// APIKeyEnvVar names the environment variable holding this model's key,
	// when it differs from the provider's default.
	APIKeyEnvVar string `json:"api_key_env_var,omitempty"`
	// APISpec is the API family: "chat" (chat completions, the default),
	// "responses" (a model served only by the Responses API, such as
	// gpt-5-codex or o3-pro; models served by both say "chat" and are
	// sent to the Responses API on request), "embeddings" (an embeddings
	// model: llm.Client.Embed), or "anthropic-messages" (Anthropic's
	// Messages API, which a provider serving several wire APIs, such as
	// azure-foundry for Claude, uses to pick its serializer).
	APISpec string `json:"api_spec,omitempty"`

	// Prices in USD per million tokens: InputCost of the prompt,
	// CachedInputCost of prompt tokens served from the provider's prompt
	// cache (0: no discount, InputCost), OutputCost of the completion
	// (reasoning tokens included).
	InputCost       float64 `json:"input_cost"`
	CachedInputCost float64 `json:"cached_input_cost,omitempty"`
	// CacheWriteCost is the price of prompt tokens written to the prompt
	// cache, for providers that bill writes apart (Anthropic: 1.25× the
	// input price for the default 5-minute cache). 0 means InputCost.
	CacheWriteCost float64 `json:"cache_write_cost,omitempty"`
	OutputCost     float64 `json:"output_cost"`

	// ContextWindow is the most tokens a call may hold, prompt and
	// completion; MaxOutputTokens the most it may generate (0: unknown).
	ContextWindow   int `json:"context_window,omitempty"`
	MaxOutputTokens int `json:"max_output_tokens,omitempty"`

	// Embeddings models: Dimensions is the native vector size;
	// SupportsDimensions says the model returns shorter vectors on request
	// (text-embedding-3: the dimensions parameter); MaxInputs is how many
	// inputs one request may carry (0: one). ContextWindow is the most
	// tokens one input may have.
	Dimensions         int  `json:"dimensions,omitempty"`
	SupportsDimensions bool `json:"supports_dimensions,omitempty"`
	MaxInputs          int  `json:"max_inputs,omitempty"`

	// Capabilities: JSON mode or schemas, image input, token
	// log-probabilities, tool calls, and the Responses API for a chat
	// model (a "responses" APISpec model has it anyway).
	SupportsJSON      bool `json:"supports_json,omitempty"`
	SupportsImages    bool `json:"supports_images,omitempty"`
	SupportsLogprobs  bool `json:"supports_logprobs,omitempty"`
	SupportsTools     bool `json:"supports_tools,omitempty"`
	SupportsResponses bool `json:"supports_responses,omitempty"`
	// Reasoning marks reasoning models (o-series, gpt-5): they take
	// max_completion_tokens and reject temperature, top_p and logprobs.
	Reasoning bool `json:"reasoning,omitempty"`
	// Router marks a model router (Azure's model-router deployments): each
	// reply comes from a model the router chose, which the reply names
	// (llm.Response.ServedModel). The router's prices are its own fee,
	// charged on top of the chosen model's: a call is priced at both (see
	// Routed).
	Router bool `json:"router,omitempty"`

	// Regions maps region names to routing weights, for providers that
	// spread one model over several regional deployments.
	Regions map[string]float64 `json:"regions,omitempty"`
}

// Clone returns a copy of m that shares nothing with it (Regions is
// copied).
func (m Model) Clone() Model {
	m.Regions = maps.Clone(m.Regions)
	return m
}

// API specs a Model can declare.
const (
	APISpecChat = "chat"
	// APISpecResponses is the Responses API (POST /responses), for models
	// served by it alone.
	APISpecResponses = "responses"
	// APISpecEmbeddings is the embeddings API (POST /embeddings).
	APISpecEmbeddings = "embeddings"
	// APISpecAnthropicMessages is Anthropic's Messages API
	// (POST /v1/messages).
	APISpecAnthropicMessages = "anthropic-messages"
)

// Cost returns the USD price of a call. input counts all prompt tokens,
// cached ones included (as OpenAI and Azure report them); cachedInput is
// the part of input served from the prompt cache, priced at CachedInputCost
// (or InputCost when the model has no cached price); output counts all
// completion tokens, reasoning tokens included.
func (m Model) Cost(input, cachedInput, output int) float64 {
	return m.CostWithCacheWrites(input, cachedInput, 0, output)
}

// CostWithCacheWrites is Cost for providers that report prompt tokens
// written to the prompt cache (Anthropic's cache_creation_input_tokens):
// cacheWrite counts the part of input written to the cache, priced at
// CacheWriteCost (or InputCost when the model has none). cachedInput and
// cacheWrite are disjoint parts of input.
func (m Model) CostWithCacheWrites(input, cachedInput, cacheWrite, output int) float64 {
	input = max(input, 0)
	cachedInput = min(max(cachedInput, 0), input)
	cacheWrite = min(max(cacheWrite, 0), input-cachedInput)
	cachedPrice := m.CachedInputCost
	if cachedPrice == 0 {
		cachedPrice = m.InputCost
	}
	writePrice := m.CacheWriteCost
	if writePrice == 0 {
		writePrice = m.InputCost
	}
	uncached := float64(input - cachedInput - cacheWrite)
	return (uncached*m.InputCost + float64(cachedInput)*cachedPrice + float64(cacheWrite)*writePrice +
		float64(max(output, 0))*m.OutputCost) / 1e6
}

// MaxCost returns the most a call of inputTokens prompt tokens and up to
// maxOutput completion tokens can cost (no cache discount).
func (m Model) MaxCost(inputTokens, maxOutput int) float64 {
	return m.Cost(inputTokens, 0, maxOutput)
}
