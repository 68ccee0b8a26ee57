package azuretest

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// Faults are failure rates in [0, 1] applied independently to each chat
// request that passed validation and the quota. Rate429, RateDailyQuota,
// Rate500, Rate503 and RateReset are mutually exclusive (one uniform draw is
// compared to their running sum, in that order); RateSlow and RateStall are
// drawn separately (each only when non-zero, so adding one does not change
// the other draws of a seeded run) and apply to requests the first draw
// spared.
type Faults struct {
	Rate429        float64 // 429 "token rate limit", retry-after = RetryAfter
	RateDailyQuota float64 // 429 with retry-after 86400 (daily quota exhausted)
	Rate500        float64 // 500 server_error
	Rate503        float64 // 503 "model overloaded"
	RateReset      float64 // connection closed without a response
	RateSlow       float64 // response delayed by SlowDelay
	// RateStall is the rate of requests that stall: after latency and the
	// prompt filter, a non-stream request gets no response at all; a stream
	// gets its headers, the prompt-annotation event, the role chunk and
	// StallAfter content chunks (tool-call argument chunks for a tool
	// call), then nothing — no finish chunk, no [DONE]. A stalled request
	// waits until the client goes away (recorded as StatusClientClosed) or
	// Close is called (its connection is then reset: StatusReset).
	RateStall float64
	// StallAfter is the number of content chunks a stalled stream sends
	// before stalling (0: none; more than the reply has: all of them).
	StallAfter int
	// SlowDelay is the extra delay of a slow response; 0 means 2s.
	SlowDelay time.Duration
	// RetryAfter is announced by injected 429s; 0 means 1s.
	RetryAfter time.Duration
}

// FaultsForFailRate spreads a total failure rate over the retryable kinds:
// half 429, a quarter 500, a quarter 503. It backs the CLI's --fail-rate.
func FaultsForFailRate(rate float64) Faults {
	return Faults{Rate429: rate / 2, Rate500: rate / 4, Rate503: rate / 4}
}

func (f Faults) any() bool {
	return f.Rate429 > 0 || f.RateDailyQuota > 0 || f.Rate500 > 0 || f.Rate503 > 0 || f.RateReset > 0 || f.RateSlow > 0 || f.RateStall > 0
}

type faultKind uint8

const (
	faultNone faultKind = iota
	fault429
	faultDaily
	fault500
	fault503
	faultReset
)

// randSource is the one seeded generator behind faults and jitter. A mutex
// keeps a sequential client's draws reproducible; it is held for nanoseconds
// and never across I/O.
type randSource struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newRandSource(seed int64, seeded bool) *randSource {
	if !seeded {
		seed = time.Now().UnixNano()
	}
	return &randSource{r: rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))}
}

func (s *randSource) float64() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Float64()
}

func (s *randSource) int64n(n int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Int64N(n)
}

// drawFault decides the fault of one request and whether it is slow and
// whether it stalls.
func (h *Handler) drawFault(f *Faults) (kind faultKind, slow, stall bool) {
	if !f.any() {
		return faultNone, false, false
	}
	u := h.rng.float64()
	acc := 0.0
	for _, c := range [...]struct {
		rate float64
		kind faultKind
	}{{f.Rate429, fault429}, {f.RateDailyQuota, faultDaily}, {f.Rate500, fault500}, {f.Rate503, fault503}, {f.RateReset, faultReset}} {
		acc += c.rate
		if u < acc {
			kind = c.kind
			break
		}
	}
	slow = f.RateSlow > 0 && h.rng.float64() < f.RateSlow
	stall = f.RateStall > 0 && h.rng.float64() < f.RateStall
	return kind, slow, stall
}

// stall holds a request until its client goes away or the handler is
// closed; on Close it resets the connection, so the client sees an error
// rather than a truncated or empty response.
func (h *Handler) stall(x *exchange) {
	select {
	case <-x.r.Context().Done():
		x.arrival.Status = StatusClientClosed
	case <-h.closed:
		x.arrival.Status = StatusReset
		resetConnection(x.w)
	}
}

// resetConnection drops the connection without writing a response, as a
// crashed front end or a network fault would. It sets SO_LINGER to 0 so the
// peer sees a TCP RST rather than a clean EOF.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): net/http aborts the stream on this panic
		// value without logging; it is the documented way to abort a response.
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// sleep waits for d unless ctx is done or the handler is closed first; it
// reports whether the full delay elapsed.
func (h *Handler) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-h.closed:
		return false
	}
}

// delay is the configured latency plus jitter for one response.
func (h *Handler) delay() time.Duration {
	l := h.latency.Load()
	d := l.fixed
	if l.jitter > 0 {
		d += time.Duration(h.rng.int64n(int64(l.jitter)))
	}
	return d
}
