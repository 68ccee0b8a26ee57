// Package ratelimit holds what the engine's pacing needs besides the
// pacing state itself (package pacing): the monotonic clock the engine
// reads ([Now]), which also runs on a testing/synctest bubble's fake time,
// and the FIFO [Queue] in which requests wait for admission to one quota.
//
// Only the caller at the head of a Queue asks the pacer; the others sleep
// until they reach the head, so a thousand requests waiting for a quota
// cost one wake-up per admission rather than a thundering herd, and they
// are admitted in arrival order.
package ratelimit
