// Package azuretest emulates the Azure OpenAI service — chat completions,
// the Responses API, embeddings, files and batch jobs — closely enough to
// test clients against it without an Azure subscription: the same URLs,
// headers, status codes, JSON bodies and SSE layout as the recordings in
// fixtures/azure, plus server-side quotas, content filtering and fault
// injection. It is deterministic: the reply and the token usage are
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
//   - POST /openai/v1/responses and POST /openai/responses?api-version=V
//     (V from 2025-03-01-preview), GET and DELETE …/responses/{id}, POST
//     …/responses/{id}/cancel — the Responses API (see below).
//   - POST /openai/v1/embeddings and POST
//     /openai/deployments/{d}/embeddings?api-version=V — embeddings.
//   - …/files (POST multipart upload, GET list), …/files/{id} (GET,
//     DELETE), …/files/{id}/content and …/batches (POST, GET list),
//     …/batches/{id}, …/batches/{id}/cancel, under /openai/v1/ and, with
//     api-version, /openai/ (batches from 2024-07-01-preview).
//   - POST /anthropic/v1/messages — Claude deployments (a model starting
//     with "claude") in Anthropic's Messages API format: x-api-key or bearer
//     auth, Anthropic's error envelope ({"type":"error","error":{…}}),
//     anthropic-ratelimit-* headers, 429 with retry-after, injected 503s
//     as 529 overloaded_error, and the documented SSE event sequence
//     (message_start … message_stop). See AnthropicPath and docs/emulator.md.
//   - POST /chat/completions — only with WithServerless: a serverless
//     endpoint serving one model, in the layout of its recordings.
//
// Anything else is 404 "Resource not found".
//
// # Authentication
//
// With neither WithAPIKeys nor WithBearerTokens every request is accepted.
// Otherwise an api-key header must hold a configured key (else 401 with
// Azure's code "401" body, JSON even for stream requests); without api-key,
// "Authorization: Bearer T" must hold a configured token — or, on every v1
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
// injected faults, latency, prompt filter (400), an injected stall, then the
// reply. LastRequest records every request from the body syntax check on.
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
// SetDefaultRateLimit at run time) give a deployment RPM and TPM limits,
// enforced as Azure enforces them:
//
//   - Requests are counted in fixed windows aligned to the handler clock:
//     at most ⌈RPM/60⌉ in a second, ⌈RPM/6⌉ in ten seconds and RPM in a
//     minute. Azure "evaluates the rate of incoming requests over a small
//     period of time, typically 1 or 10 seconds", and requests over the
//     rate "receive a 429 response code until the next evaluation period"
//     (Microsoft Learn, "Manage Azure OpenAI quota"): a 300-RPM deployment
//     refuses the 6th request of an instant burst. A client paced evenly
//     at RPM/60 a second, from any phase, is never refused; a burst is,
//     start-up included.
//   - Tokens: a bucket of one minute's capacity (TPM) refilling
//     continuously, charged EstimateRequestTokens(body) = prompt_tokens +
//     (max_completion_tokens, else max_tokens, else DefaultQuotaMaxTokens =
//     4096) × max(n, 1). A request is admitted while the bucket is not
//     empty, whatever its cost (like Azure's per-minute counter, which
//     admits the request that crosses the limit).
//
// A refused request is charged nothing and gets Azure's 429 ("... have
// exceeded call rate limit ..." or "token rate limit ...") with retry-after-ms
// = the exact time until it would be admitted (the end of the full window,
// rounded up to a millisecond) and retry-after = that in whole seconds,
// rounded up. Replies carry x-ratelimit-remaining-requests (what is left of
// the current 10-second window: 19 after one request to a 120-RPM
// deployment) and x-ratelimit-remaining-tokens (the minute's tokens not yet
// refilled), and no limits, as Azure sends them; WithRateLimitHeaders adds
// x-ratelimit-limit-requests (the 10-second window's ⌈RPM/6⌉) and
// x-ratelimit-limit-tokens, as some deployments do. The Claude route sends
// Anthropic's anthropic-ratelimit-* per minute, limits included.
// SetDailyQuotaExhausted makes a deployment answer the daily-quota 429
// (retry-after 86400) until cleared. Batch lines skip the per-minute quota
// (see Files and batches): they are governed by the enqueued-token quota.
//
// # Faults and latency
//
// WithFaults / SetFaults inject 429, daily-quota 429, 500, 503, connection
// resets (no response, TCP RST), slow responses and stalls at given rates,
// drawn from a generator seeded by WithSeed. WithLatency delays responses
// that reach the model; delays end early when the client goes away or Close
// is called.
//
// A stalled request (Faults.RateStall) never completes: a non-stream request
// gets no response at all; a stream gets its 200 headers, the
// prompt-annotation event, the role chunk and Faults.StallAfter content
// chunks (tool-argument chunks for a tool call), each flushed, then nothing.
// It waits until the client goes away (recorded as StatusClientClosed) or
// Close is called (the connection is then reset, StatusReset), so a test can
// check that a client which stops reading early releases its connection:
// watch InFlight drop to 0.
//
// # Observing requests
//
// Stats returns the number of requests, counts by deployment and status, the
// number of 429s sent and the arrival time, deployment, status and announced
// retry-after of the newest requests in arrival order (WithArrivalLog), so
// tests can check a client's pacing and its compliance with retry-after-ms.
// WithClock lets a test drive the quota with a fake clock. Stats counts a
// request when its handling ends; three cheap accessors complete it:
//
//   - Requests: requests arrived (any route, any outcome), counted on
//     arrival, so exact as soon as a client has its response; one atomic load.
//   - InFlight: requests whose handler has not returned yet, open and stalled
//     streams included; it drops when the handler sees the client leave.
//   - LastRequest: the newest chat request whose body was read — deployment,
//     api-version, stream flag, the raw body and its Messages (role, text,
//     content parts, tool calls, tool_call_id). The handler only keeps the
//     body buffer it already has; the copy and the parsing happen in
//     LastRequest. LastMessages is a shortcut.
//
// # Files and batches
//
// Uploads are streamed to disk (a temporary directory, or WithStorageDir;
// Close deletes the files) and a batch file is scanned once, line by line,
// so memory stays flat whatever its size. Batch deployments
// (WithBatchDeployment, WithDataZoneBatchDeployment) serve batch jobs only.
// A batch is validated with Azure's rules and error codes (empty_file,
// invalid_json_line, too_many_tasks, duplicate_custom_id, model_mismatch,
// url_mismatch, model_not_found, invalid_request, token_limit_exceeded
// against the enqueued-token quota of WithEnqueuedTokenLimit), then each
// line runs through the same handler as a synchronous v1 request —
// validation, content filters, injected faults, reply generator — and its
// answer is written to the output or error file in Azure's line format.
// BatchTiming paces the phases; HoldAsync freezes them, WithBeforeBatchLine
// acts at a given line, ExpireBatch and FailBatch end a batch, WaitBatch
// waits for one; Batch, Batches, Files and FileContent observe them.
//
// # Responses API
//
// A responses request is translated to the chat request the reply
// generator reads (input items, instructions, function tools, tool_choice,
// text.format, max_output_tokens, reasoning.effort), so replies and tokens
// follow the conventions above; reasoning deployments add a reasoning item
// whose summary, when asked for, is ExpectedReasoningSummary. Stored
// responses can be read, deleted and continued with previous_response_id;
// background responses go queued → in_progress → done
// (WithBackgroundTiming) and can be cancelled; streams send the semantic
// events (response.created … response.completed) with sequence numbers. A
// done response carries Azure's content_filters: the prompt's and the
// completion's annotations, the completion blocked by the completion
// filter word.
//
// # Embeddings
//
// Deployments of text-embedding-* models serve embeddings only. Vectors
// are deterministic unit vectors (Embedding) of the model's size
// (EmbeddingDimensions), truncated and renormalised for "dimensions";
// float or base64; up to MaxEmbeddingInputs inputs of at most
// MaxEmbeddingInputTokens tokens; the quota charges the input tokens.
//
// docs/emulator.md lists every route, rule and error body with its source.
//
// # Running a conformance suite
//
// The emulator can serve every condition of a provider conformance kit such
// as providertest without importing it (azuretest depends on the standard
// library only). A harness for a provider that speaks Azure OpenAI maps
//
//   - Healthy, CallsTool → NewServer(WithAPIKeys(key)): replies are
//     deterministic (ExpectedReply, ExpectedToolResultReply) and
//     tool_choice "required" calls the first tool;
//   - BadKey → the same server, the provider configured with another key (401);
//   - UnknownModel → a deployment name the server does not serve (404
//     DeploymentNotFound);
//   - RateLimited → WithFaults(Faults{Rate429: 1, RetryAfter: 2 * time.Second})
//     (429 with retry-after-ms and retry-after);
//   - Stalled → WithFaults(Faults{RateStall: 1, StallAfter: 1}): a stream
//     yields its first content chunk, then stalls; a non-stream request
//     gets no answer;
//
// and its backend adapter maps Calls to Requests, InFlight to InFlight,
// LastMessages to LastMessages converted to the suite's message type, and
// ExpectedReply to ExpectedReply / ExpectedToolResultReply of the request's
// last message:
//
//	type backend struct{ srv *azuretest.Server }
//
//	func (b backend) Calls() int    { return b.srv.Requests() }
//	func (b backend) InFlight() int { return b.srv.InFlight() }
//	func (b backend) LastMessages() []conversation.Message {
//		var out []conversation.Message
//		for _, m := range b.srv.LastMessages() {
//			msg := conversation.Message{Role: conversation.Role(m.Role), Name: m.Name}
//			switch {
//			case m.Role == "tool":
//				msg.Parts = append(msg.Parts, conversation.Result(m.ToolCallID, m.Content))
//			case m.Parts != nil:
//				for _, p := range m.Parts {
//					switch p.Type {
//					case "text":
//						msg.Parts = append(msg.Parts, conversation.Text(p.Text))
//					case "image_url":
//						msg.Parts = append(msg.Parts, conversation.ImageURL(p.ImageURL))
//					}
//				}
//			case m.Content != "":
//				msg.Parts = append(msg.Parts, conversation.Text(m.Content))
//			}
//			for _, c := range m.ToolCalls {
//				msg.Parts = append(msg.Parts, conversation.Call(c.ID, c.Name, c.Arguments))
//			}
//			out = append(out, msg)
//		}
//		return out
//	}
//
// docs/emulator.md has the whole harness.
package azuretest
