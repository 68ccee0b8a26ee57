package telemetry

import (
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// Attribute keys of the OpenTelemetry GenAI semantic conventions
// (semantic-conventions docs/gen-ai: gen-ai-spans.md, gen-ai-metrics.md),
// which otel-go's semconv packages no longer carry.
const (
	keyOperation      = attribute.Key("gen_ai.operation.name")
	keyProvider       = attribute.Key("gen_ai.provider.name")
	keySystem         = attribute.Key("gen_ai.system") // before gen_ai.provider.name (semconv ≤ 1.36)
	keyRequestModel   = attribute.Key("gen_ai.request.model")
	keyResponseModel  = attribute.Key("gen_ai.response.model")
	keyResponseID     = attribute.Key("gen_ai.response.id")
	keyFinishReasons  = attribute.Key("gen_ai.response.finish_reasons")
	keyInputTokens    = attribute.Key("gen_ai.usage.input_tokens")
	keyOutputTokens   = attribute.Key("gen_ai.usage.output_tokens")
	keyTokenType      = attribute.Key("gen_ai.token.type")
	keyMaxTokens      = attribute.Key("gen_ai.request.max_tokens")
	keyTemperature    = attribute.Key("gen_ai.request.temperature")
	keyTopP           = attribute.Key("gen_ai.request.top_p")
	keySeed           = attribute.Key("gen_ai.request.seed")
	keyStopSequences  = attribute.Key("gen_ai.request.stop_sequences")
	keyOutputType     = attribute.Key("gen_ai.output.type")
	keyDimensions     = attribute.Key("gen_ai.embeddings.dimension.count")
	keyInputMessages  = attribute.Key("gen_ai.input.messages")
	keyOutputMessages = attribute.Key("gen_ai.output.messages")
	keyErrorType      = attribute.Key("error.type")
	keyServerAddress  = attribute.Key("server.address")
	keyServerPort     = attribute.Key("server.port")
	keyHTTPStatus     = attribute.Key("http.response.status_code")
	keyServiceTier    = attribute.Key("openai.response.service_tier")

	// deluge's own, for what the conventions do not cover.
	keyModelID     = attribute.Key("deluge.model.id")     // the registry ID ("azure-gpt-4o")
	keyAttempts    = attribute.Key("deluge.attempts")     // requests a call sent
	keyAttempt     = attribute.Key("deluge.attempt")      // an attempt's number, from 1
	keyCost        = attribute.Key("deluge.cost.usd")     // a call's price
	keyCached      = attribute.Key("deluge.cached")       // served from the cache
	keyShared      = attribute.Key("deluge.deduplicated") // shared with an identical call in flight
	keyRouted      = attribute.Key("deluge.routed_model") // a model router's choice
	keyRegion      = attribute.Key("deluge.region")       // the Azure region that served it
	keyRequestID   = attribute.Key("deluge.request_id")   // the server's request ID
	keyRetryAfter  = attribute.Key("deluge.retry_after_ms")
	keyStream      = attribute.Key("deluge.stream")
	keyOutcome     = attribute.Key("deluge.outcome")     // success, error, cached
	keyWaitReason  = attribute.Key("deluge.wait.reason") // rpm, tpm, cooldown, concurrency
	keyInputsCount = attribute.Key("deluge.embeddings.inputs")
)

// ProviderName returns the gen_ai.provider.name of m: the conventions'
// well-known value for its provider and wire format. Azure OpenAI
// deployments are "azure.ai.openai"; Claude deployments on Foundry speak
// Anthropic's Messages API, "anthropic"; serverless endpoints
// (*.models.ai.azure.com) "azure.ai.inference"; OpenAI "openai". Other
// providers keep their registry name.
func ProviderName(m registry.Model) string {
	switch m.Provider {
	case "azure-foundry":
		switch {
		case m.APISpec == registry.APISpecAnthropicMessages:
			return "anthropic"
		case isServerless(m.APIBase):
			return "azure.ai.inference"
		}
		return "azure.ai.openai"
	case "openai", "anthropic":
		return m.Provider
	}
	return m.Provider
}

// legacySystem is the gen_ai.system value the conventions used before
// gen_ai.provider.name (semantic conventions 1.36 and older), for backends
// that still read it.
func legacySystem(provider string) string {
	switch provider {
	case "azure.ai.openai":
		return "az.ai.openai"
	case "azure.ai.inference":
		return "az.ai.inference"
	}
	return provider
}

func isServerless(base string) bool {
	if base == "" {
		return false
	}
	u, err := url.Parse(base)
	return err == nil && strings.HasSuffix(strings.ToLower(u.Hostname()), ".models.ai.azure.com")
}

// errorType is the error.type of err: the [llm.Code] of a deluge error
// ("rate_limited", "timeout", …), a low-cardinality value as the
// conventions ask; "_OTHER" otherwise.
func errorType(err error) string {
	if c := llm.CodeOf(err); c != "" {
		return string(c)
	}
	return "_OTHER"
}

// server returns the host and port of m's own endpoint, when it has one
// (APIBase); a provider's default endpoint is not known to the engine.
func server(m registry.Model) (string, int) {
	if m.APIBase == "" {
		return "", 0
	}
	u, err := url.Parse(m.APIBase)
	if err != nil || u.Hostname() == "" {
		return "", 0
	}
	port := 443
	if u.Scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		port = 0
		for _, c := range p {
			port = port*10 + int(c-'0')
		}
	}
	return u.Hostname(), port
}
