// Package openai is deluge's provider for the OpenAI chat completions API
// and every server that speaks it (vLLM, Ollama, LiteLLM, Azure OpenAI…),
// built on github.com/sashabaranov/go-openai.
//
// Importing the package registers the provider under the name "openai" and
// the catalog of OpenAI models (gpt-4o, gpt-4.1, gpt-5, o3, … with list
// prices), as database/sql drivers register themselves:
//
//	import _ "github.com/deluge-go/deluge/providers/openai"
//
//	client, err := llm.NewClient("gpt-4.1-mini")
//
// The registered provider reads OPENAI_API_KEY, OPENAI_BASE_URL and
// OPENAI_ORG_ID the first time it is used, never at init. Without a key,
// calls to api.openai.com fail with an error saying to set OPENAI_API_KEY,
// while models on other servers still work. To configure it in code, build
// one with New and pass it with llm.WithProviderInstance.
//
// # Custom models
//
// Any registry.Model with Provider "openai" is callable. A model whose
// APIBase differs from the provider's base URL is sent there, through a
// client built once per distinct APIBase and kept; its key comes from the
// environment variable named by APIKeyEnvVar, else the provider's own key
// (so set APIKeyEnvVar for third-party servers that must not see your
// OpenAI key), and a keyless local server works:
//
//	registry.MustRegister(registry.Model{
//		ID: "local-llama", Provider: "openai", Name: "llama3.1:8b",
//		APIBase: "http://localhost:11434/v1",
//	})
//
// # What goes on the wire
//
// Requests are chat completions: system, user (text, images as image_url
// parts with data: URLs for inline bytes), assistant (text and tool calls)
// and tool messages (linked by tool_call_id); tools with JSON-schema
// parameters and strict mode; tool_choice; response_format json_object or
// json_schema; temperature, top_p, stop, seed, logprobs, top_logprobs,
// reasoning_effort, user. File parts are rejected with CodeInvalidRequest:
// go-openai v1.43.0 cannot send them.
//
// Non-reasoning models get max_tokens. Reasoning models (Model.Reasoning,
// or wire names starting with o1, o3, o4 or gpt-5) get max_completion_tokens
// and never temperature, top_p, logprobs or top_logprobs, which OpenAI and
// Azure reject for them with 400 unsupported_parameter; those settings are
// dropped silently, so one option set serves a mix of models.
// reasoning_effort is sent only to reasoning models.
//
// An explicit temperature or top_p of 0 is sent as 0. (go-openai omits zero
// values, which would make the server use its default of 1; the provider's
// HTTP doer adds the field back.)
//
// # Responses and errors
//
// A Response carries the first choice as Completion and Message (tool calls
// as conversation parts), the finish reason, usage (cached prompt tokens
// and reasoning tokens included), log-probabilities, the served model, the
// request ID (apim-request-id, else x-request-id), the Azure region
// (x-ms-region), the headers, and Azure's content-filter annotations in
// full. Cost, Attempts and Latency are left to the llm.Client.
//
// Every error is an *llm.Error whose Err is go-openai's *APIError or
// *RequestError when the server answered, so both errors.Is(err,
// llm.ErrRateLimited) and errors.As(err, &apiErr) work. The code comes from
// the status, refined by the body: content_filter → CodeContentFiltered
// (with the filter results), context length → CodeContextLength, a 429
// that asks to wait more than an hour or mentions a spent or daily quota →
// CodeQuotaExceeded. RetryAfter comes from retry-after-ms, then
// retry-after (seconds or HTTP date), then the message ("retry after N
// seconds", "try again in 1.5s"), at most a week. Mapping is two steps:
// the wire error is parsed into what it says, then classified.
// Configuration that cannot work (a bad base URL, a key over plain http)
// is llm.CodeConfiguration. The provider never retries; the llm.Client
// does.
//
// # Security and limits
//
// No redirect is followed: inference routes do not redirect, and net/http
// would re-send the credentials to wherever a 3xx points. The provider's
// HTTP client refuses them, a Config.HTTPClient is used through a copy
// that does (see RefuseRedirects), and a 3xx is an error with
// llm.CodeConfiguration matching ErrRedirect.
//
// Every string a server sent that reaches an error or a result (request
// IDs, headers, messages, completions, tool calls, annotations) has the
// call's secrets replaced by "[REDACTED]": the configured keys and the
// credentials the request carried. Request IDs and messages are also
// stripped of control characters and bounded.
//
// A reply body, and each line of a stream, holds at most
// Config.MaxResponseBytes (DefaultMaxResponseBytes, 64 MiB, when 0);
// past it the call fails with ErrResponseTooLarge without reading the
// rest. Large replies are decoded without extra copies of the body.
//
// # Reuse by other providers
//
// NewFromClientConfig builds a provider over any go-openai ClientConfig:
// the azure-foundry provider uses it with its own base URL, API type and
// api-version, and an HTTP doer chain for authentication and regions,
// keeping this package's serializer, parsing and error mapping. A sketch:
//
//	cc := goopenai.DefaultConfig("")                       // auth added by the doer
//	cc.BaseURL = "https://my-resource.openai.azure.com/openai/v1"
//	cc.HTTPClient = azureDoer{key: key, next: httpClient}  // sets api-key
//	p, err := openai.NewFromClientConfig(cc, openai.Options{
//		Name:     "azure-foundry",
//		WireName: func(m registry.Model) string { return deploymentOf(m) },
//		Redact:   []string{key},
//	})
//
// For classic deployment URLs set cc.APIType = goopenai.APITypeAzure (or
// APITypeAzureAD), cc.APIVersion to a dated version, and
// cc.AzureModelMapperFunc = url.PathEscape: go-openai builds
// {base}/openai/deployments/{mapper(wire name)}/chat/completions?api-version=…
// and does not escape the name itself. ErrorFromHTTP maps an error response
// received outside go-openai the same way, and MarshalChatRequest gives the
// exact request body (for batch input files). The Provider implements
// batch.Provider for OpenAI's Batch API, and NewBatchService is the files
// and batches wire other providers configure (the Azure one does).
package openai
