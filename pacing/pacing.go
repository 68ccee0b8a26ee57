package pacing

import (
	"context"
	"time"
)

// Limits are the rate limits of a quota. A field ≤ 0 means no limit.
type Limits struct {
	RequestsPerMinute int // requests per minute, one every 60 s / RequestsPerMinute
	TokensPerMinute   int // tokens per minute, charged per request and refilled continuously
}

// Min returns the stricter of l and m, field by field (a field ≤ 0 is no
// limit, so the other one wins).
func (l Limits) Min(m Limits) Limits {
	return Limits{
		RequestsPerMinute: minLimit(l.RequestsPerMinute, m.RequestsPerMinute),
		TokensPerMinute:   minLimit(l.TokensPerMinute, m.TokensPerMinute),
	}
}

// IsZero reports whether l sets no limit.
func (l Limits) IsZero() bool { return l.RequestsPerMinute <= 0 && l.TokensPerMinute <= 0 }

func minLimit(a, b int) int {
	switch {
	case a <= 0:
		return max(b, 0)
	case b <= 0:
		return a
	}
	return min(a, b)
}

// Reason says what holds a request back.
type Reason uint8

const (
	// Ready: nothing; the request went (or may go) at once.
	Ready Reason = iota
	// Requests: the requests-per-minute pace.
	Requests
	// Tokens: the tokens-per-minute pace (or a large request's debt).
	Tokens
	// Cooldown: a pause set by [Pacer.Cool] (a 429's retry-after, or
	// rate-limit headers saying the next request would be refused).
	Cooldown
)

var reasonNames = [...]string{"ready", "rpm", "tpm", "cooldown"}

// String returns "ready", "rpm", "tpm" or "cooldown", the names
// llm.Stats.Waited uses.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Decision is a [Pacer]'s answer to [Pacer.Admit].
type Decision struct {
	// Admitted reports that the request was charged (one request and its
	// cost in tokens). It may be sent once Wait has passed.
	Admitted bool
	// Wait is, for an admitted request, the time until it may be sent (0
	// to the ahead given to Admit); otherwise the time until asking again
	// may succeed, if nothing else changes meanwhile (always > 0).
	Wait time.Duration
	// Reason is what made (or makes) the request wait: [Requests],
	// [Tokens] or [Cooldown]; [Ready] for a request admitted at once.
	Reason Reason
	// Found is the key's found limits (see [Pacer.SetFound]), as the
	// Pacer holds them now: zero fields for none. Returning them with
	// every decision lets a process learn limits another process found,
	// without a call of its own.
	Found Limits
}

// A Limiter holds the pacing state of any number of quota keys. It is
// safe for concurrent use.
//
// The in-process implementation is [NewLocal]. An implementation shared by
// several processes (through Redis, say) keeps the same state in the
// shared store, so that they pace one quota together.
type Limiter interface {
	// Pacer returns the pacer of one quota key. Every Pacer of the same
	// key, however obtained, shares one state. It does no I/O, and the
	// caller keeps the Pacer for the key's lifetime (an llm.Client asks
	// once per model).
	Pacer(key string) Pacer
}

// A Pacer paces the requests of one quota key. It is safe for concurrent
// use. The limits are passed to each call rather than stored, so that the
// state of a key holds no configuration: every caller paces at the limits
// it was configured with, and a shared implementation needs no setup step.
//
// Implementations follow the rules in the package documentation: even
// pacing (one request every 60 s/RPM, tokens at TPM/60 a second with debt
// for large requests), a cooldown that admits nothing, and found limits
// that replace higher configured ones. Time is read from the
// implementation's clock; a shared implementation uses one clock for every
// process (the wall clock, or the store's).
//
// Errors mean the state could not be read or written (the store is
// unreachable). The in-process implementation never fails; a shared one
// should rather fall back to pacing locally than fail. The caller (package
// llm) retries a failed Admit after a short wait and logs failures of the
// other methods, once.
type Pacer interface {
	// Admit asks to send one request that costs cost tokens, paced at l.
	//
	// If the key is not cooling down and the request may be sent within
	// ahead from now, Admit charges it — one request, and cost tokens, both
	// from the time it may be sent — and returns Admitted with Wait the
	// time until then. Otherwise it charges nothing and returns the time
	// until it could be admitted. ahead = 0 asks "now or never"; a larger
	// ahead lets a shared implementation admit in one round trip a request
	// it would otherwise refuse and admit on a second call.
	//
	// A request may cost more than a second's (or a minute's) worth of
	// tokens: it is admitted when the key owes none, and puts it in debt.
	Admit(ctx context.Context, l Limits, cost int, ahead time.Duration) (Decision, error)
	// Adjust corrects what admitted requests were charged: tokens > 0
	// charges more (the reply used more than estimated), tokens < 0
	// refunds; requests = -1 refunds the request of an admission that was
	// not sent. A refund makes the next admission sooner, never earlier
	// than the pace allows from now: a key that sent nothing banks no
	// capacity. package llm calls it after most replies (the prompt as the
	// server counted it replaces the estimate) and only logs its error, so
	// an implementation over a network store may apply it without waiting
	// for the store's answer.
	Adjust(ctx context.Context, l Limits, requests, tokens int) error
	// Cool admits nothing for d from now, or until a longer cooldown
	// already set ends: a cooldown is never shortened.
	Cool(ctx context.Context, d time.Duration) error
	// SetFound records the limits the server was found to allow, which
	// replace the configured ones where lower (the key's pace is the
	// stricter of the two). A zero field clears that found limit; the zero
	// Limits clears both.
	SetFound(ctx context.Context, found Limits) error
}
