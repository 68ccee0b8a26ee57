package llm

import (
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are a [Client]'s running totals since [NewClient], as
// [Client.Stats] returns them. A call is one [Client.Generate], one
// [Client.Stream], or one prompt of a batch; a request is one attempt sent
// to a provider.
type Stats struct {
	// Requests counts attempts sent to providers, retries included.
	Requests int64
	// Successes and Failures count calls by outcome (a cache hit is a
	// success); FailuresByCode splits Failures by error code.
	Successes      int64
	Failures       int64
	FailuresByCode map[Code]int64
	// Retries counts attempts after the first; Failovers those that moved
	// to another model.
	Retries   int64
	Failovers int64
	// RateLimited counts 429 responses; Throttled the pauses taken because
	// the server's rate-limit headers said the next request would be
	// refused.
	RateLimited int64
	Throttled   int64
	// CacheHits counts calls (and embeddings inputs) served from the cache;
	// Deduplicated calls that shared the reply of an identical call in
	// flight.
	CacheHits    int64
	Deduplicated int64
	// Tokens and cost of the replies received from providers (cache hits and
	// shared replies are free and not counted).
	InputTokens           int64
	OutputTokens          int64
	CachedInputTokens     int64
	CacheWriteInputTokens int64
	ReasoningTokens       int64
	Cost                  float64
	// SavedCost is what the calls served from the cache or shared with an
	// identical call (CacheHits, Deduplicated) would have cost: the
	// original price of their replies, and of the embeddings inputs whose
	// vectors were cached (for a store that does not keep it, the usage at
	// the model's catalog prices). Their tokens are not in the counts
	// above, which are what was paid.
	SavedCost float64
	// InFlight is the number of requests in flight now.
	InFlight int64
	// Waited is the total time calls spent held back, by what held them:
	// "rpm", "tpm", "concurrency" and "cooldown".
	Waited map[string]time.Duration
	// Pace is the pacing of each model the client has routed to, in
	// routing order: the limits it is configured with, those the server
	// was found to allow, and those its rate-limit headers report.
	Pace []Pace
	// ByRoutedModel splits the replies of routers ([registry.Model.Router],
	// such as Azure's model router) by the model the router chose
	// ([Response.RoutedModel]); nil when no router replied.
	ByRoutedModel map[string]RoutedStats
}

// Pace is the pacing of one model's quota, as [Stats] and [ProgressInfo]
// report it. Only the RequestsPerMinute and TokensPerMinute of Found and
// Server are set.
type Pace struct {
	// Model is the model's ID; Key its quota key (see [QuotaKeyer]), ""
	// before its first request.
	Model string
	Key   string
	// Configured is what the model is paced at when the server allows it:
	// its limits (WithModelLimits over the client's), requests and tokens
	// per minute no higher than the client's. -1 means no limit.
	Configured Limits
	// Found is the rate the server was found to allow when 429s persisted
	// at the configured pace, and the model is paced at instead: 0 fields
	// when the pace was not lowered (or has recovered).
	Found Limits
	// Server is what the server's rate-limit headers say it allows, per
	// minute (for Azure, six times the requests of its 10-second window):
	// 0 when unknown.
	Server Limits
}

// Lowered reports whether the server was found to allow less than the
// configured pace.
func (p Pace) Lowered() bool {
	return p.Found.RequestsPerMinute > 0 || p.Found.TokensPerMinute > 0
}

// Stats returns a snapshot of the client's totals.
func (c *Client) Stats() Stats {
	s := &c.stats
	out := Stats{
		Requests:              s.requests.Load(),
		Successes:             s.successes.Load(),
		Failures:              s.failures.Load(),
		Retries:               s.retries.Load(),
		Failovers:             s.failovers.Load(),
		RateLimited:           s.rateLimited.Load(),
		Throttled:             s.throttled.Load(),
		CacheHits:             s.cacheHits.Load(),
		Deduplicated:          s.deduplicated.Load(),
		InputTokens:           s.inputTokens.Load(),
		OutputTokens:          s.outputTokens.Load(),
		CachedInputTokens:     s.cachedInputTokens.Load(),
		CacheWriteInputTokens: s.cacheWriteInputTokens.Load(),
		ReasoningTokens:       s.reasoningTokens.Load(),
		Cost:                  s.cost.load(),
		SavedCost:             s.saved.load(),
		InFlight:              s.inFlight.Load(),
		FailuresByCode:        map[Code]int64{},
		Waited:                map[string]time.Duration{},
	}
	for i, code := range knownCodes {
		if n := s.byCode[i].Load(); n > 0 {
			out.FailuresByCode[code] = n
		}
	}
	s.otherMu.Lock()
	for code, n := range s.otherCodes {
		out.FailuresByCode[code] += n
	}
	s.otherMu.Unlock()
	for k := range numLimits {
		if d := s.waits[k].Load(); d > 0 {
			out.Waited[limitNames[k]] = time.Duration(d)
		}
	}
	out.Pace = c.paces()
	out.ByRoutedModel = s.routed.snapshot()
	return out
}

// paces returns the pacing of the routed models, then of the models jobs
// named.
func (c *Client) paces() []Pace {
	out := make([]Pace, 0, len(c.targets))
	for _, t := range c.targets {
		out = append(out, t.pace())
	}
	c.extraMu.Lock()
	defer c.extraMu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(c.extra)) {
		t := c.extra[id]
		if !slices.ContainsFunc(out, func(p Pace) bool { return p.Model == t.model.ID }) {
			out = append(out, t.pace())
		}
	}
	return out
}

// What held a request back, for Stats.Waited and the progress display.
type limitKind int

const (
	limitRPM limitKind = iota
	limitTPM
	limitConcurrency
	limitCooldown
	numLimits
)

var limitNames = [numLimits]string{"rpm", "tpm", "concurrency", "cooldown"}

var knownCodes = [...]Code{
	CodeUnknown, CodeAuthentication, CodePermissionDenied, CodeNotFound, CodeRateLimited,
	CodeQuotaExceeded, CodeContentFiltered, CodeContextLength, CodeInvalidRequest,
	CodeUnavailable, CodeTimeout, CodeCanceled,
}

// counters are the live totals: atomics, so the hot path never locks.
type counters struct {
	requests, successes, failures, retries, failovers atomic.Int64
	rateLimited, throttled, cacheHits, deduplicated   atomic.Int64
	inputTokens, outputTokens                         atomic.Int64
	cachedInputTokens, reasoningTokens                atomic.Int64
	cacheWriteInputTokens                             atomic.Int64
	inFlight                                          atomic.Int64
	cost, saved                                       atomicFloat
	byCode                                            [len(knownCodes)]atomic.Int64
	waits                                             [numLimits]atomic.Int64

	otherMu    sync.Mutex
	otherCodes map[Code]int64

	routed routedTotals // replies of routers, by routed model
}

// finish records the outcome of a call.
func (s *counters) finish(err error) {
	if err == nil {
		s.successes.Add(1)
		return
	}
	s.failures.Add(1)
	code := CodeOf(err)
	for i, k := range knownCodes {
		if k == code {
			s.byCode[i].Add(1)
			return
		}
	}
	s.otherMu.Lock()
	if s.otherCodes == nil {
		s.otherCodes = map[Code]int64{}
	}
	s.otherCodes[code]++
	s.otherMu.Unlock()
}

func (s *counters) addUsage(u Usage, cost float64) {
	s.inputTokens.Add(int64(u.InputTokens))
	s.outputTokens.Add(int64(u.OutputTokens))
	if u.CachedInputTokens != 0 {
		s.cachedInputTokens.Add(int64(u.CachedInputTokens))
	}
	if u.CacheWriteInputTokens != 0 {
		s.cacheWriteInputTokens.Add(int64(u.CacheWriteInputTokens))
	}
	if u.ReasoningTokens != 0 {
		s.reasoningTokens.Add(int64(u.ReasoningTokens))
	}
	if cost != 0 {
		s.cost.add(cost)
	}
}

func (s *counters) waited(k limitKind, d time.Duration) {
	if d > 0 {
		s.waits[k].Add(int64(d))
	}
}

// atomicFloat is a float64 updated with compare-and-swap.
type atomicFloat struct{ bits atomic.Uint64 }

func (f *atomicFloat) add(v float64) {
	for {
		old := f.bits.Load()
		if f.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

func (f *atomicFloat) load() float64 { return math.Float64frombits(f.bits.Load()) }
