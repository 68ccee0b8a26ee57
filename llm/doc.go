// Package llm is deluge's portable API for calling large language models:
// the [Provider] contract that provider packages implement, the [Request],
// [Response] and [Error] types they exchange, and the [Client], the engine
// that sends conversations at scale.
//
// Providers register themselves when imported ([RegisterProvider]), as
// [database/sql] drivers do:
//
//	import _ "github.com/deluge-go/deluge/providers/azurefoundry"
//
//	client, err := llm.NewClient("azure-gpt-4o", llm.WithMaxRequestsPerMinute(5_000))
//	resp, err := client.Generate(ctx, conversation.New().User("Hello!"))
//
// A Client paces requests under requests-per-minute, tokens-per-minute and
// concurrency limits (client-wide and per model) the way Azure enforces
// quotas — evenly, with no burst, reading the server's rate-limit headers
// as the server means them and finding the rate it really allows when
// 429s persist ([Stats.Pace]); the pacing state lives behind a
// [github.com/deluge-go/deluge/pacing.Limiter] ([WithLimiter]) so that
// processes can share a quota. It retries rate limits,
// timeouts and server errors with exponential backoff that honours the
// server's retry-after, rests a rate-limited model and fails over to
// another, serves repeats from a [Cache], and accounts tokens and cost
// ([Client.Stats]). [Client.Generate] sends one conversation,
// [Client.Stream] streams the reply, and [Client.Process],
// [Client.ProcessSeq] and [Client.ProcessJobs] send batches of any size,
// one [Result] per input. Errors are [*Error] values whose [Code] matches a
// sentinel under [errors.Is] ([ErrRateLimited], [ErrContentFiltered], …).
//
// # Responses API and embeddings
//
// Models that the Responses API serves alone (their
// [registry.Model.APISpec] is "responses") need nothing more; a model
// served by both APIs goes there with [WithAPI]. [WithReasoningSummary]
// asks for the reasoning summary ([Response.ReasoningSummary],
// [Chunk.ReasoningSummary]), [WithPreviousResponse] continues a stored
// response ([Response.ResponseID], [WithStore]), and [WithBackground] runs
// a call in the background, the Client polling the provider's [Poller]
// ([WithBackgroundPolling]) and cancelling the response if the caller gives
// up.
//
// [Client.Embed] computes embeddings with an embeddings model (APISpec
// "embeddings") through a provider's [Embedder]: the inputs are packed
// into as few requests as the model allows, deduplicated, cached, paced
// by their tokens, retried and accounted as generations are;
// [Client.EmbedSeq] streams inputs and results for corpora that do not fit
// in memory. [WithDimensions] shortens the vectors of models that can.
//
// # Options
//
// An [Option] configures a call: sampling settings ([WithTemperature],
// [WithMaxNewTokens], …) and per-call choices ([WithStrictContentFilter],
// [WithResponseHeaders], [WithProgressTotal]); given to [NewClient] it is the default of every
// call. A [ClientOption] configures the engine (limits, retries, timeouts,
// routing, cache, logger, progress reporting) and is accepted by NewClient
// only: handing one to a call does not compile.
//
// The engine writes nothing to a terminal: progress goes to the function
// of [WithProgressFunc], which package
// [github.com/deluge-go/deluge/progress] can render, and events to
// [log/slog] ([WithLogger]).
//
// See docs/engine.md for the limits, pacing, retries, routing, cache,
// progress and statistics in detail, docs/architecture.md for where each
// step of a request lives, and package
// [github.com/deluge-go/deluge/llm/llmtest] for an in-memory provider to
// test code that uses a Client.
package llm
