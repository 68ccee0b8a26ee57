// Package azuretest emulates the Azure OpenAI chat completions service
// closely enough to test clients against it without an Azure subscription:
// the same URLs, headers, status codes, JSON bodies and SSE layout as the
// recordings in fixtures/azure, plus server-side quotas, content filtering
// and fault injection. It is deterministic: the reply and the token usage are
// pure functions of the request, so tests can assert exact values.
//
// Use NewServer in tests (an httptest server; its URL is the resource
// endpoint) or NewHandler to serve it stand-alone:
//
//	srv := azuretest.NewServer(azuretest.WithAPIKeys("k"), azuretest.WithDeployment("gpt-4o", ""))
//	defer srv.Close()
//	// POST srv.URL + "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
//
// # Routes
//
//   - POST /openai/deployments/{deployment}/chat/completions?api-version=V — the
//     classic route. The deployment name is path-unescaped. No api-version:
//     404 {"error":{"code":"404","message": "Resource not found"}}; a version
//     not in WithAPIVersions (DefaultAPIVersions): 400 {"error":{"code":
//     "BadRequest","message":"API version not supported"}}; unknown
//     deployment: 404 DeploymentNotFound.
//   - POST /openai/v1/chat/completions — the v1 route; "model" in the body
//     is the deployment name. api-version may be absent, "v1" or "preview"
//     ("latest" is tolerated); other values get the 400 above. An unknown
//     model gets the same 404 DeploymentNotFound body. Responses add
//     x-ms-deployment-name.
//   - GET /openai/v1/models — OpenAI list shape ({id, object, created,
//     owned_by}) of the deployments' underlying models.
//   - GET /openai/models?api-version=V — Azure's model list shape
//     (capabilities, lifecycle_status, deprecation) of the same models.
//   - GET /openai/deployments?api-version=V — Azure's data-plane deployment
//     list (id = deployment name, model = underlying model).
//
// Anything else is 404 "Resource not found".
//
// # Authentication
//
// With neither WithAPIKeys nor WithBearerTokens every request is accepted.
// Otherwise an api-key header must hold a configured key (else 401 with
// Azure's code "401" body, JSON even for stream requests); without api-key,
// "Authorization: Bearer T" must hold a configured token — or, on the v1
// route, a configured key, as OpenAI clients send it (else Azure's Entra ID
// 401 {"statusCode":401,"message":"Unauthorized. Access token is missing,
// ..."}). A request with neither gets the api-key 401.
//
// # Order of checks on a chat request
//
// Route and api-version presence, authentication, api-version value,
// deployment, body syntax (400), validation (400: missing or empty messages,
// wrong types, max_tokens or max_completion_tokens below 1, reasoning-model
// parameters), daily quota (429), per-minute quota (429),
// injected faults, latency, prompt filter (400), then the reply.
//
// # Reply generator
//
// The reply text is ReplyPrefix + P ("Echo: " + P), where P is the text of
// the last user message (text parts joined by "\n"); see ExpectedReply. If
// the last message is a tool result R, the reply is "Tool result: " + R
// (ExpectedToolResultReply). With response_format json_object the content is
// {"reply":"Echo: P"} (ExpectedJSONReply); with json_schema it is a value
// generated from the schema (see below).
//
// Tokens are counted as CountTokens(s) = ceil(len(s)/4), len in bytes of UTF-8.
// prompt_tokens is 3 + Σ over messages (3 + CountTokens(text) + 85 per image
// part + CountTokens of assistant tool-call names and arguments), plus
// CountTokens of the raw "tools" JSON when tools are sent (PromptTokens for
// the plain-text case). completion_tokens is CountTokens(content) (or of the
// tool name plus arguments) plus reasoning tokens. cached_tokens is always 0.
//
// A limit of max_completion_tokens (else max_tokens) truncates the content to
// limit*4 bytes (on a rune boundary) with finish_reason "length".
//
// Deployments whose model is a reasoning model (IsReasoningModel: o1, o3,
// o4-mini, gpt-5*, DeepSeek-R1) spend reasoning tokens before the content:
// 0/64/128/256 for reasoning_effort minimal/low/medium/high (medium when
// absent), taken first from max_completion_tokens. They reject max_tokens,
// temperature, top_p, presence_penalty, frequency_penalty, logprobs,
// top_logprobs and logit_bias with Azure's 400 unsupported_parameter body,
// and on the classic route reject dated api-versions before 2024-12-01 with
// Azure's "Model {modelName} is enabled only for api versions
// 2024-12-01-preview and later".
//
// n > 1 is accepted and charged to the quota but only one choice is returned.
//
// # Tool calls
//
// When the request has tools, the emulator calls a tool when tool_choice
// names one ({"type":"function","function":{"name":N}}), or when the last
// message is a user message containing "call <name>" (name ending at a word
// boundary) or ToolCallTrigger ("CALL_TOOL", first tool), or when
// tool_choice is "required" (first tool). tool_choice "none" disables calls.
// The reply is an assistant message with one tool call, finish_reason
// "tool_calls", a deterministic id, and arguments generated from the tool's
// parameters schema: const or the first enum value; else by type — object:
// every property, sorted by name; string: "example"; integer and number: the
// minimum or 1; boolean: true; array: one item; null: null; anyOf/oneOf: the
// first branch. Streams send the name and id first, then the arguments in
// 8-byte pieces, as OpenAI tool_call deltas.
//
// # Content filter
//
// A request any of whose messages contains the prompt word (default
// DefaultPromptFilterWord, "FILTER_PROMPT") fails with the recorded 400
// content_filter body (innererror ResponsibleAIPolicyViolation, violence
// filtered, severity medium), also for stream requests. A reply containing
// the completion word (default DefaultCompletionFilterWord,
// "FILTER_COMPLETION"; since the reply echoes the prompt, put the word in the
// prompt) is a 200 with finish_reason "content_filter", a message without
// content, and a custom_blocklists hit (BlocklistID). A stream sends the
// content pieces before the word, then a finish chunk with finish_reason
// "content_filter" and the blocklist annotation.
//
// # Streaming
//
// stream: true yields the recorded Azure layout: an event with empty
// choices, id, model and object and created 0 carrying prompt_filter_results;
// a role chunk with empty content_filter_results; one chunk per SplitReply
// piece with full annotations; a finish chunk; with
// stream_options.include_usage a final chunk with empty choices and usage
// (and "usage":null on the others); then "data: [DONE]". Every event is
// flushed; the stream stops when the client goes away.
//
// # Quota
//
// WithRateLimit / WithDefaultRateLimit (and SetRateLimit /
// SetDefaultRateLimit at run time) give a deployment RPM and TPM limits. Each
// is a GCRA token bucket refilling continuously at limit/60 per second:
//
//   - Requests: capacity RPM/6 (at least 1), i.e. a 10 s burst tolerance —
//     Azure evaluates RPM over 10 s windows. A request is admitted if the
//     bucket has room for it. A client that never sends more than RPM/6
//     requests in any 10 s window is never refused; so is one paced evenly at
//     RPM/60 per second, whatever its jitter, with bursts up to RPM/6. A client
//     that keeps sending faster than RPM is refused once the burst is used.
//   - Tokens: capacity TPM (one minute's worth), charged
//     EstimateRequestTokens(body) = prompt_tokens + (max_completion_tokens,
//     else max_tokens, else DefaultQuotaMaxTokens = 4096) × max(n, 1). A
//     request is admitted while the bucket is not full, whatever its cost
//     (like Azure's per-minute counter, which admits the request that crosses
//     the limit).
//
// A refused request is charged nothing and gets Azure's 429 ("... have
// exceeded call rate limit ..." or "token rate limit ...") with retry-after-ms
// = the exact time until it would be admitted (rounded up to a millisecond)
// and retry-after = that in whole seconds, rounded up. Responses carry
// x-ratelimit-limit-requests/-tokens and x-ratelimit-remaining-requests/
// -tokens (the per-minute budget not yet refilled) when a limit is set.
// SetDailyQuotaExhausted makes a deployment answer the daily-quota 429
// (retry-after 86400) until cleared.
//
// # Faults and latency
//
// WithFaults / SetFaults inject 429, daily-quota 429, 500, 503, connection
// resets (no response, TCP RST) and slow responses at given rates, drawn from
// a generator seeded by WithSeed. WithLatency delays responses that reach
// the model; delays end early when the client goes away or Close is called.
//
// # Stats
//
// Stats returns the number of requests, counts by deployment and status, the
// number of 429s sent and the arrival time, deployment, status and announced
// retry-after of the newest requests in arrival order (WithArrivalLog), so
// tests can check a client's pacing and its compliance with retry-after-ms.
// WithClock lets a test drive the quota with a fake clock.
package azuretest
