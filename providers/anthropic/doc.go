// Package anthropic is deluge's provider for Anthropic's Messages API
// (POST /v1/messages): Claude on api.anthropic.com, on gateways that speak
// the same API, and — configured by providers/azurefoundry — Claude on Azure
// AI Foundry.
//
// Importing the package registers the provider "anthropic" and a catalog of
// Claude models with list prices (claude-opus-4-6, claude-sonnet-4-5,
// claude-haiku-4-5, …; see Models), as database/sql drivers register
// themselves:
//
//	import _ "github.com/deluge-go/deluge/providers/anthropic"
//
//	client, err := llm.NewClient("claude-sonnet-4-5")
//
// The registered provider reads ANTHROPIC_API_KEY (sent as x-api-key),
// ANTHROPIC_AUTH_TOKEN (sent as a bearer token instead) and
// ANTHROPIC_BASE_URL the first time it is used. To configure it in code,
// build one with New and pass it with llm.WithProviderInstance. A model
// with its own APIBase (and APIKeyEnvVar) is sent there.
//
// # What goes on the wire
//
// One request per call to {base}/v1/messages with anthropic-version
// 2023-06-01 (DefaultVersion):
//
//   - System messages become the top-level system prompt (text blocks, in
//     order); user and assistant messages become turns of content blocks:
//     text, images (base64 from inline bytes or data: URLs, or by URL),
//     documents (PDF inline or by URL, plain text), and the assistant's
//     tool calls as tool_use blocks (arguments must be a JSON object).
//   - Tool results (conversation's tool role) become tool_result blocks at
//     the head of a user turn: consecutive results are merged into one turn,
//     together with the user content that follows, as Anthropic requires.
//   - Tools go as {name, description, input_schema, strict}; tool_choice
//     auto, none, required (Anthropic's "any") or a tool name ("tool").
//   - max_tokens is required by Anthropic: MaxNewTokens, else
//     DefaultMaxTokens (4,096) capped by the model's MaxOutputTokens.
//     Anthropic (and Azure) charge max_tokens against the per-minute output
//     quota on admission, so the default stays modest: ask for more with
//     llm.WithMaxNewTokens.
//   - temperature (0–1: a value above 1 is rejected before sending, with an
//     error saying so), or top_p when no temperature is set — current Claude
//     models take one of the two, so with both set top_p is dropped;
//     stop_sequences; metadata.user_id from User. Seed, logprobs,
//     top_logprobs and reasoning_effort have no Messages API counterpart and
//     are not sent; extended thinking is not requested.
//   - JSON output: Anthropic has no JSON mode. A strict JSON schema
//     (llm.WithJSONSchema with strict) uses structured outputs
//     (output_config.format, constrained decoding, on the models that offer
//     it); JSON mode and non-strict schemas force a tool named
//     "json_response" whose input schema is the wanted shape — every Claude
//     model supports that — and its input is returned as the completion
//     (streamed as text deltas), with finish reason "stop". JSON mode
//     together with tools is refused with an error, nothing sent.
//
// # Responses
//
// Text blocks form Completion; tool_use blocks become tool calls.
// stop_reason maps to FinishReason: end_turn and stop_sequence → "stop",
// max_tokens and model_context_window_exceeded → "length", tool_use →
// "tool_calls", refusal → "content_filter" (with stop_details' explanation
// in Refusal), pause_turn and unknown reasons unchanged. Usage.InputTokens
// is the whole prompt (Anthropic's input_tokens plus cache reads plus cache
// writes), CachedInputTokens the cache reads (cache_read_input_tokens),
// CacheWriteInputTokens the cache writes (cache_creation_input_tokens,
// priced at registry.Model.CacheWriteCost, the 5-minute rate; deluge never
// asks for 1-hour writes), ReasoningTokens output_tokens_details'
// thinking_tokens when sent. ServedModel, RequestID (request-id, else
// apim-request-id), Header (anthropic-ratelimit-* included, which the
// llm.Client reads to slow down before a 429) are set.
//
// Thinking blocks are not returned: llm.Response has no place for reasoning
// text, and conversation.Message none for the signed thinking blocks a
// follow-up turn would have to carry back. Their tokens count in Usage.
//
// Streams follow the event sequence message_start, content_block_start,
// content_block_delta (text_delta → Chunk.Text; input_json_delta fragments
// assembled into whole tool calls, yielded together on the finish chunk;
// thinking and signature deltas skipped), content_block_stop, message_delta
// (stop_reason and cumulative usage → the finish chunk's FinishReason and
// Usage), message_stop; ping and unknown events are skipped. An error
// event, or a stream ending before message_stop, ends the sequence with an
// *llm.Error.
//
// # Errors
//
// Every error is an *llm.Error whose Err is an *APIError when the server
// answered. Anthropic's error types map to codes: authentication_error →
// CodeAuthentication, permission_error → CodePermissionDenied,
// not_found_error → CodeNotFound, request_too_large (413) →
// CodeContextLength, rate_limit_error (429) → CodeRateLimited with
// RetryAfter from retry-after (CodeQuotaExceeded when it asks for more than
// an hour), api_error (500) and overloaded_error (529) → CodeUnavailable,
// billing_error → CodeQuotaExceeded, invalid_request_error →
// CodeInvalidRequest, or CodeContextLength when the message says the prompt
// is too long. Azure's front-end bodies ({"error":{"code":"401",…}},
// {"statusCode":401,…}) map by status. The provider never retries (the
// llm.Client does). It shares its guards with the other providers of this
// module (internal/httpguard): it never follows a redirect (one could carry
// the key elsewhere: CodeConfiguration, ErrRedirect); it reads at most
// MaxResponseBytes (64 MiB by default) of a reply and of each stream line
// (CodeConfiguration, ErrResponseTooLarge); plain http carries a key only
// to localhost and literal loopback addresses; and the keys it was given
// and the credential each request carried are redacted from every string a
// server sends back (errors, request IDs, headers, text, tool calls).
//
// # Reuse by other providers
//
// NewEndpoint builds the same provider for another server speaking the
// Messages API: a base URL, an Authenticate function setting the
// credential header, the model → wire name mapping, the provider name and
// the secrets to redact. providers/azurefoundry serves Claude deployments
// this way, with {resource}/anthropic, x-api-key or an Entra ID bearer
// token, and its deployment names.
//
// # Why net/http and not anthropic-sdk-go
//
// The wire code (about 1,300 lines with comments) is net/http and
// encoding/json rather than github.com/anthropics/anthropic-sdk-go/v2, a
// choice measured against the project's overhead budget (at most about 10 µs per call over a raw
// client). One call, sequential, on a 2-core machine (bench/anthropic_test.go in the bench module; medians
// of 3 runs, docs/benchmarks.md):
//
//	                            in-memory transport      emulator over loopback
//	this package                 8.7 µs  4.6 KB  47 allocs    85 µs  12.3 KB  166 allocs
//	anthropic-sdk-go v2.17.0    63   µs 26.9 KB 219 allocs   135 µs  33.2 KB  344 allocs
//	net/http + encoding/json    ~8–22 µs 5.5 KB  44 allocs    78 µs  11.4 KB  161 allocs
//
// The SDK costs about 50 µs and 22 KB more per call than the hand-written
// baseline (its reflection-driven parameter encoding and union decoding),
// five times the budget; this package stays within it. It also has no
// retries to switch off (the SDK retries twice by default — message
// creation when the request cannot have reached the API — which would add
// attempts the engine does not see), and gives direct control of
// redirects, body limits and the error body.
package anthropic
