// Package llm is deluge's portable API for calling large language models:
// the Provider contract that provider packages implement, the Request,
// Response and Error types they exchange, and the Client, the engine that
// sends conversations at scale.
//
// Providers register themselves when imported, as database/sql drivers do:
//
//	import _ "github.com/deluge-go/deluge/providers/azurefoundry"
//
//	client, err := llm.NewClient("azure-gpt-4o", llm.WithMaxRequestsPerMinute(5_000))
//	resp, err := client.Generate(ctx, conversation.New().User("Hello!"))
//
// A Client paces requests under requests-per-minute, tokens-per-minute and
// concurrency limits (client-wide and per model), retries rate limits,
// timeouts and server errors with exponential backoff that honours the
// server's retry-after, rests a rate-limited model and fails over to
// another, serves repeats from a cache, and accounts tokens and cost.
// Generate sends one conversation, Stream streams the reply, and Process,
// ProcessSeq and ProcessJobs send batches of any size, one Result per
// input. Errors are *Error values whose Code matches a sentinel under
// errors.Is (ErrRateLimited, ErrContentFiltered, …).
//
// See docs/engine.md for the limits, pacing, retries, routing, cache,
// progress and statistics in detail, and package llmtest for an in-memory
// provider to test code that uses a Client.
package llm
