// Package hostile holds the hostile-server suite: one table-driven test
// that drives an llm.Client, through each provider of this module
// (azure-foundry, openai, anthropic), against a loopback server that
// misbehaves in every way a broken or malicious server can — truncated,
// empty, wrong-typed, HTML and oversized replies, cut and stalled streams,
// resets, absurd retry headers, redirects, echoed secrets — and checks
// that each call ends with a typed *llm.Error (or a clean reply) before
// the caller's deadline, that no goroutine is left behind, that memory
// stays bounded, and that no secret comes out. It has no code of its own;
// see hostile_test.go and docs/reliability.md.
package hostile
