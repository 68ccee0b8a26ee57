// Package pacing keeps the pacing state of rate-limited quotas: how fast
// requests and tokens may go to one quota, the pause a 429 imposes on it,
// and the lower limits the server was found to allow.
//
// A quota is named by a key. For Azure OpenAI it is one deployment of one
// resource (endpoint plus deployment name): Azure enforces its requests- and
// tokens-per-minute limits per deployment, so two clients (or two processes)
// calling the same deployment draw on the same quota, and clients calling
// different deployments do not. package llm asks a provider for the key of
// each model it routes to (llm.QuotaKeyer) and holds one [Pacer] per key.
//
// # The rules a Pacer enforces
//
// Azure evaluates a deployment's requests-per-minute limit over short
// windows, "typically 1 or 10 seconds": a 600-RPM deployment that receives
// more than 10 requests in a second is refused even when the minute holds
// fewer than 600 (Microsoft Learn, "Manage Azure OpenAI quota", section
// "Understanding rate limits"; a 300-RPM deployment refused the 6th request
// of an instant burst with room left in its 10 s window, Microsoft Q&A
// 2156987). A Pacer therefore paces evenly, with no burst, start-up
// included:
//
//   - Requests: one every 60 s / RPM. Any one-second window then holds at
//     most ⌈RPM/60⌉ requests and any ten-second window at most ⌈RPM/6⌉.
//   - Tokens: a request of cost c (the prompt plus max_tokens, which Azure
//     reserves at admission) is admitted when the key owes no tokens, and
//     then puts it c·60 s/TPM in debt. A prompt larger than a second's
//     worth of tokens is sent, and the requests after it wait for the debt:
//     any minute holds at most TPM tokens plus the cost of one request.
//   - A cooldown (after a 429, for the server's retry-after) admits nothing
//     until it ends, whatever the limits.
//   - Found limits (see [Pacer.SetFound]), when lower than the configured
//     ones, replace them.
//
// This is the generic cell rate algorithm (GCRA) with no tolerance: a
// theoretical arrival time per key for requests and one for tokens.
//
// # Implementations
//
// [NewLocal] returns the in-process implementation, the default of every
// llm.Client. Another implementation (shared by several processes through
// a network store, such as Redis: package
// [github.com/deluge-go/deluge/pacing/redispacing]) plugs in with
// llm.WithLimiter; package
// [github.com/deluge-go/deluge/pacing/pacingtest] checks that it keeps the
// contract.
package pacing
