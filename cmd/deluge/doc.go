// Command deluge sends prompts to LLMs at scale from JSON Lines files, with
// first-class Azure OpenAI (Azure AI Foundry) support.
//
// Usage:
//
//	deluge run -m MODEL [-i prompts.jsonl|-] [-o results.jsonl|-] [flags]
//	deluge embed -m MODEL [-i texts.jsonl|-] [-o vectors.jsonl|-] [--dimensions N] [--base64]
//	deluge models [--provider P] [--json]
//	deluge estimate -m MODEL -i prompts.jsonl [--max-tokens N]
//	deluge demo
//	deluge emulate [--addr HOST:PORT] [--api-key KEY] [--deployments LIST]
//
// "deluge demo" runs 200 example prompts through the full engine against an
// in-process Azure OpenAI emulator, with no configuration. Against a real
// Azure resource:
//
//	export AZURE_OPENAI_ENDPOINT=https://my-resource.openai.azure.com
//	export AZURE_OPENAI_API_KEY=...
//	deluge run -m azure-gpt-4o-mini -i prompts.jsonl -o results.jsonl
//
// Each input line is {"id": …, "prompt": "…"} or {"id": …, "messages":
// [OpenAI-style messages]}, optionally with its own "model", "max_tokens"
// and "temperature". Each output line is one result: the completion, usage,
// cost, attempts and latency, or an error with a code. Runs are resumable:
// rerunning with the same output file skips the IDs that already succeeded
// there, so an interrupted or killed run loses nothing and pays nothing
// twice. "deluge embed" does the same for embeddings: input lines
// {"id": …, "text": "…"}, output lines with the vector (a JSON array, or
// base64 with --base64).
//
// Several workers share one deployment's quota, its 429 pauses and the
// cache through Redis, each taking a shard of the input by ID
// (docs/scale-out.md):
//
//	deluge run -m azure-gpt-4o-mini -i prompts.jsonl -o results-2.jsonl --redis redis://host:6379/0 --shard 2/4
//
// Exit codes: 0 when every prompt succeeded, 1 when some failed, 2 for usage
// and configuration errors, 130 when interrupted.
//
// The full reference is docs/cli.md.
package main
