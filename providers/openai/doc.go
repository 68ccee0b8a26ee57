// Package openai is deluge's provider for the OpenAI chat completions API
// and every server that speaks it (vLLM, Ollama, LiteLLM, Azure OpenAI…),
// built on github.com/sashabaranov/go-openai, and for OpenAI's (and Azure
// OpenAI's) Responses API and embeddings.
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
// # The Responses API
//
// A request goes to the Responses API (POST {base}/responses; on
// go-openai's Azure API types {base}/openai/responses?api-version=…) when
// req.UsesResponses(): its model's APISpec is "responses" (gpt-5-pro,
// gpt-5-codex, o3-pro, codex-mini-latest, … are served by it alone), or
// the call asked for it (llm.WithAPI(llm.APIResponses),
// llm.WithPreviousResponse, llm.WithBackground). The conversation becomes
// "instructions" (its leading system messages, which a continued response
// does not inherit) and input items: messages (user text, images as
// input_image, files as input_file with their data), the assistant's tool
// calls as function_call items, tool results as function_call_output
// items. Tools are sent flat with an explicit "strict" (the server's
// default is true), tool_choice, text.format for JSON mode and schemas,
// max_output_tokens (at least 16, reasoning included), reasoning.effort
// and reasoning.summary for reasoning models, top_logprobs with
// include ["message.output_text.logprobs"] for the others, user,
// previous_response_id, background, and always "store": false unless the
// call says otherwise (llm.WithStore) or runs in the background, which
// needs it: the server's default keeps every response for 30 days. A stop
// sequence cannot be expressed there and is refused, nothing sent; a seed
// is dropped.
//
// The output items map to the same llm.Response as a chat completion: the
// message's output_text as Completion (log-probabilities too), refusal
// parts as Refusal, function_call items as tool calls (FinishReason
// "tool_calls"), reasoning items' summary_text as ReasoningSummary (parts
// separated by a blank line), status "incomplete" as FinishReason "length"
// or "content_filter", usage with cached and reasoning tokens, the
// response's id (ResponseID), status and service_tier, and Azure's
// content_filters as PromptFilter and ContentFilter (a blocked completion
// is FinishReason "content_filter"). A response that failed on the server
// is an *llm.Error classified by its error code (server_error is
// retryable), a cancelled one CodeCanceled. Streams map the semantic
// events (response.output_text.delta, response.refusal.delta,
// response.reasoning_summary_text.delta, the function call events,
// response.completed / incomplete / failed, error) to chunks, usage and
// the tool calls on the last. The provider is an llm.Poller: Poll and
// Cancel read and cancel a background response (GET responses/{id}, POST
// responses/{id}/cancel), which the llm.Client drives.
//
// The wire types are hand-written (encoding/json, the fields deluge maps,
// following OpenAI's API reference and Azure's v1 spec), chosen by
// measurement: go-openai v1.43.0 has no Responses API; openai-go has one,
// but may not enter deluge's go.mod (llm/imports_test.go), and its
// Responses.New cost about 3.8 times this serializer's whole path in the
// bench program (163–185 µs against 43–48 µs per call, 326 allocations
// against 82, in-memory transport, see docs/benchmarks.md), where deluge's
// whole Responses call costs what go-openai's chat completion of the same
// prompt does (1.00× and 1.03× in two full runs) and 2 to 10 µs more than
// a hand-written net/http call that decodes only the text and usage; the
// serializer alone matches that call (BenchmarkResponsesGenerate against
// BenchmarkResponsesHandWritten). Requests go through the
// same doer chain as go-openai's (capture doer, size limits, redirects
// refused, redaction); Options.APIKey supplies the credential go-openai
// keeps unexported.
//
// # Embeddings
//
// The provider is an llm.Embedder: Embed sends one request (POST
// {base}/embeddings; on go-openai's Azure types
// {base}/openai/deployments/{deployment}/embeddings?api-version=…) through
// go-openai's CreateEmbeddings and the same doer chain, asking for base64
// vectors, as OpenAI's own SDKs do by default (a quarter of the bytes,
// exact, no float parsing), and returns them in input order with the usage.
// A request without inputs, with an empty input or more inputs than the
// model's MaxInputs, or dimensions the model does not take is refused
// before sending. The catalog has text-embedding-3-small and -large (which
// shorten their vectors: llm.WithDimensions) and text-embedding-ada-002.
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
// and does not escape the name itself. Options.APIKey gives the key for
// the Responses API's requests (unless the doer authenticates), and
// Options.ResponsesAPIVersion the api-version of its classic Azure route.
// ErrorFromHTTP maps an error response received outside go-openai the same
// way, and MarshalChatRequest and MarshalResponsesRequest give the exact
// request bodies (for batch input files). The Provider implements
// batch.Provider for OpenAI's Batch API, and NewBatchService is the files
// and batches wire other providers configure (the Azure one does).
package openai
