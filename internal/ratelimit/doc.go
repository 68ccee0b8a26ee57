// Package ratelimit holds what the engine's pacing needs besides the
// pacing state itself (package pacing): the monotonic clock the engine
// reads ([Now]), which also runs on a testing/synctest bubble's fake time,
// and the FIFO [Queue] in which requests wait for admission to one quota.
//
// While nobody waits, callers ask the pacer at once, with no lock. Once
// one is refused, callers queue in arrival order and only the head asks;
// the others sleep until they reach the head, so a thousand requests
// waiting for a quota cost one wake-up per admission rather than a
// thundering herd.
package ratelimit
