// Package e2e holds deluge's end-to-end acceptance tests for the engine:
// an llm.Client over the Azure provider (providers/azurefoundry) against
// the in-process Azure OpenAI emulator (azuretest), with the SQLite cache.
// It has no code of its own; see the _test.go files.
//
// The tests assert only on what is deterministic with respect to the
// client's behaviour — counts, orders, the emulator's recorded arrivals and
// statuses, and per-prompt retry spacing measured from the client side —
// never on wall-clock durations, so they hold on a loaded two-core machine.
// The tests that pace minutes of traffic against a quota run in a
// testing/synctest bubble, on its fake clock, with the emulator reached
// over in-memory HTTP (package internal/memnet): the same requests, the
// same engine, in a fraction of the time.
package e2e
