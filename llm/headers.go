package llm

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/deluge-go/deluge/pacing"
)

// Rate-limit headers, in canonical form so they index http.Header
// directly. Azure OpenAI sends the two remaining counts only (some
// deployments add the limits); OpenAI sends all six.
const (
	headerRemainingRequests = "X-Ratelimit-Remaining-Requests"
	headerRemainingTokens   = "X-Ratelimit-Remaining-Tokens"
	headerLimitRequests     = "X-Ratelimit-Limit-Requests"
	headerLimitTokens       = "X-Ratelimit-Limit-Tokens"
	headerResetRequests     = "X-Ratelimit-Reset-Requests"
	headerResetTokens       = "X-Ratelimit-Reset-Tokens"
)

// Anthropic's rate-limit headers (anthropic-ratelimit-*): the same
// remaining/limit pairs per minute, under Anthropic's names. The tokens pair
// is the most restrictive of Anthropic's token limits.
const (
	headerAnthropicRemainingRequests = "Anthropic-Ratelimit-Requests-Remaining"
	headerAnthropicRemainingTokens   = "Anthropic-Ratelimit-Tokens-Remaining"
	headerAnthropicLimitRequests     = "Anthropic-Ratelimit-Requests-Limit"
	headerAnthropicLimitTokens       = "Anthropic-Ratelimit-Tokens-Limit"
)

// azureWindow is the window of Azure's x-ratelimit-remaining-requests: what
// is left of the current 10-second window (a 120-RPM deployment reports 19
// after one request; a 300-RPM one, 50 before a burst and 45 after five).
const azureWindow = 10 * time.Second

// figures are the rate-limit figures of one reply.
type figures struct {
	remReq, remTok int // -1: not sent
	limReq, limTok int // 0: not sent
	// perMinute: the figures count a per-minute budget that refills
	// continuously, as OpenAI's (which come with x-ratelimit-reset-*) and
	// Anthropic's (a token bucket) do. Otherwise they are Azure's: the
	// requests of the current 10-second window, the tokens of the minute.
	perMinute bool
}

// readFigures reads the rate-limit figures of h; ok is false when it has
// none.
func readFigures(h http.Header) (f figures, ok bool) {
	f.remReq, f.remTok = headerInt(h, headerRemainingRequests, -1), headerInt(h, headerRemainingTokens, -1)
	if f.remReq >= 0 || f.remTok >= 0 {
		f.limReq, f.limTok = headerInt(h, headerLimitRequests, 0), headerInt(h, headerLimitTokens, 0)
		_, resetReq := h[headerResetRequests]
		_, resetTok := h[headerResetTokens]
		f.perMinute = resetReq || resetTok
		return f, true
	}
	f.remReq, f.remTok = headerInt(h, headerAnthropicRemainingRequests, -1), headerInt(h, headerAnthropicRemainingTokens, -1)
	if f.remReq >= 0 || f.remTok >= 0 {
		f.limReq, f.limTok = headerInt(h, headerAnthropicLimitRequests, 0), headerInt(h, headerAnthropicLimitTokens, 0)
		f.perMinute = true
		return f, true
	}
	return f, false
}

// headerInt returns the non-negative integer value of h[key], or def.
func headerInt(h http.Header, key string, def int) int {
	v := h[key]
	if len(v) == 0 {
		return def
	}
	n, err := strconv.Atoi(v[0])
	if err != nil || n < 0 {
		return def
	}
	return n
}

// serverView is what a target's rate-limit headers have said about the
// server's quota: its limits, sent or inferred, and the phase of Azure's
// request windows.
type serverView struct {
	mu        sync.Mutex
	perMinute bool
	// limReq and limTok are the limits the server sent (0: none).
	limReq, limTok int
	// reqEst and tokEst estimate the limits the server does not send: the
	// largest remaining plus what the reply's own request took, which is
	// the whole limit for a request that found the window (or the minute)
	// unused. Kept per minute, this one and the last, so that an estimate
	// follows a quota that shrinks.
	slot           int64
	reqEst, tokEst [2]int
	// Azure's request windows: the admission number and remaining count
	// of the latest reply (in admission order), and when the current
	// window was seen to open (0: not yet).
	lastSeq    int64
	lastRem    int
	windowOpen time.Duration
}

// requestLimitLocked returns the requests the server allows per window
// (Azure) or per minute (perMinute); 0 if unknown.
func (s *serverView) requestLimitLocked() int {
	if s.limReq > 0 {
		return s.limReq
	}
	return max(s.reqEst[0], s.reqEst[1])
}

func (s *serverView) tokenLimitLocked() int {
	if s.limTok > 0 {
		return s.limTok
	}
	return max(s.tokEst[0], s.tokEst[1])
}

// limits returns the server's limits as its headers say them, per minute
// (0: unknown).
func (s *serverView) limits() pacing.Limits {
	s.mu.Lock()
	defer s.mu.Unlock()
	rpm := s.requestLimitLocked()
	if !s.perMinute {
		rpm *= int(time.Minute / azureWindow)
	}
	return pacing.Limits{RequestsPerMinute: rpm, TokensPerMinute: s.tokenLimitLocked()}
}

// observeHeaders reads the rate-limit headers of a reply to a request
// admitted as a, and pauses the target when the server's own figures say
// that the next request would be refused.
//
// The figures describe the quota when the server admitted that request;
// the requests admitted since (since) have drawn on it too, and a budget
// that refills continuously has refilled meanwhile. Azure's request
// figures are of a fixed 10-second window: a window that is full stays
// full until it ends, which the view learns from when the count jumps back
// up. cost is what the request counted against the tokens per minute, as
// the server counted it when known.
func (c *Client) observeHeaders(ctx context.Context, t *target, h http.Header, a admission, now time.Duration, cost int) {
	if len(h) == 0 || !a.admitted {
		return
	}
	f, ok := readFigures(h)
	if !ok {
		return
	}
	since, sinceTokens := t.admitted.Load()-a.seq, t.charged.Load()-a.charged
	pause := t.server.observe(f, a, now, cost, since, sinceTokens)
	if pause > 0 && c.coolTarget(ctx, t, now, pause) {
		c.stats.throttled.Add(1)
		c.logger().LogAttrs(ctx, slog.LevelDebug, "llm: the server's quota is spent, pausing",
			slog.String("model", t.model.ID), slog.Duration("for", pause),
			slog.Int("remaining_requests", f.remReq), slog.Int("remaining_tokens", f.remTok))
	}
}

// observe records f and returns how long to pause the target (0: not at
// all).
func (s *serverView) observe(f figures, a admission, now time.Duration, cost int, since, sinceTokens int64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perMinute = f.perMinute
	s.limReq, s.limTok = f.limReq, f.limTok
	if slot := int64(now / time.Minute); slot != s.slot {
		if slot == s.slot+1 {
			s.reqEst[1], s.tokEst[1] = s.reqEst[0], s.tokEst[0]
		} else {
			s.reqEst[1], s.tokEst[1] = 0, 0
		}
		s.reqEst[0], s.tokEst[0], s.slot = 0, 0, slot
	}
	if f.remReq >= 0 {
		s.reqEst[0] = max(s.reqEst[0], f.remReq+1)
	}
	if f.remTok >= 0 {
		s.tokEst[0] = max(s.tokEst[0], f.remTok+max(cost, 0))
	}

	var pause time.Duration
	elapsed := now - a.sentAt
	if f.remReq >= 0 {
		limit := s.requestLimitLocked()
		if f.perMinute {
			pause = refillPause(float64(f.remReq)-float64(since), limit, elapsed)
		} else {
			if a.seq > s.lastSeq {
				// A count that jumps back up means a new window opened
				// between the previous reply's request and this one's.
				if s.lastSeq > 0 && f.remReq-s.lastRem >= max(2, limit/2) {
					s.windowOpen = a.sentAt
				}
				s.lastSeq, s.lastRem = a.seq, f.remReq
			}
			if int64(f.remReq)-since <= 0 {
				switch end := s.windowOpen + azureWindow; {
				case s.windowOpen > 0 && end > now:
					pause = end - now // the window is full until it ends
				case s.windowOpen == 0 && limit > 0:
					pause = azureWindow / time.Duration(limit) // its end is not known yet: one request's share
				}
			}
		}
	}
	if f.remTok >= 0 {
		pause = max(pause, refillPause(float64(f.remTok)-float64(sinceTokens), s.tokenLimitLocked(), elapsed))
	}
	return pause
}

// refillPause returns how long a per-minute budget of limit units, with
// remaining units left elapsed ago, needs to refill to one unit (0 when it
// has one already, or when its limit is unknown).
func refillPause(remaining float64, limit int, elapsed time.Duration) time.Duration {
	if limit <= 0 {
		return 0
	}
	perNs := float64(limit) / float64(time.Minute)
	avail := remaining + float64(elapsed)*perNs
	if avail >= 1 {
		return 0
	}
	return time.Duration((1 - avail) / perNs)
}
