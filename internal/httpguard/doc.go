// Package httpguard holds the defences every provider's HTTP client shares:
// which hosts may receive a credential over plain http ([IsLoopback]), the
// refusal of redirects ([RefuseRedirects], [CheckRedirect]), the bound on
// what one response may hold ([DefaultMaxResponseBytes], [ReadBody]), and
// the redaction of secrets from whatever a server sends back
// ([Secrets], [Printable]), the reading of retry-after ([RetryAfter]), and
// the classification of a call that got no response ([ContextFailure],
// [NetworkFailure]).
//
// providers/openai, providers/anthropic and providers/azurefoundry use it,
// so that a rule is written, and fixed, once. The public names of these
// guards (openai.RefuseRedirects, openai.ErrRedirect,
// openai.ErrResponseTooLarge, openai.DefaultMaxResponseBytes) are aliases
// of the ones here: errors.Is matches whichever package a caller names.
package httpguard
