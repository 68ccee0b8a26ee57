package llm

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Rate-limit headers sent by Azure OpenAI and OpenAI, in canonical form so
// they index http.Header directly.
const (
	headerRemainingRequests = "X-Ratelimit-Remaining-Requests"
	headerRemainingTokens   = "X-Ratelimit-Remaining-Tokens"
	headerLimitRequests     = "X-Ratelimit-Limit-Requests"
	headerLimitTokens       = "X-Ratelimit-Limit-Tokens"
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

// headroom is the share of a per-minute quota below which the client pauses
// a target: when the server reports less than 5% remaining, it pauses until
// that much has been replenished, instead of waiting for a 429.
const headroom = 0.05

// observeHeaders slows a target down when its rate-limit headers say the
// server-side quota is nearly spent.
func (c *Client) observeHeaders(ctx context.Context, t *target, h http.Header, now time.Duration) {
	pause := max(
		headroomPause(h, headerRemainingRequests, headerLimitRequests, t.limits.RequestsPerMinute),
		headroomPause(h, headerRemainingTokens, headerLimitTokens, t.limits.TokensPerMinute),
		headroomPause(h, headerAnthropicRemainingRequests, headerAnthropicLimitRequests, t.limits.RequestsPerMinute),
		headroomPause(h, headerAnthropicRemainingTokens, headerAnthropicLimitTokens, t.limits.TokensPerMinute),
	)
	if pause > 0 && t.cool(now, pause) {
		c.stats.throttled.Add(1)
		c.logger().LogAttrs(ctx, slog.LevelDebug, "llm: quota nearly spent, pausing",
			slog.String("model", t.model.ID), slog.Duration("for", pause))
	}
}

// headroomPause returns how long to pause for one header pair: the time the
// server needs to replenish the quota to the headroom mark, at the limit the
// server announces or, failing that, the one configured.
func headroomPause(h http.Header, remainingKey, limitKey string, configured int) time.Duration {
	v := h[remainingKey]
	if len(v) == 0 {
		return 0
	}
	remaining, err := strconv.Atoi(v[0])
	if err != nil {
		return 0
	}
	limit := configured
	if lv := h[limitKey]; len(lv) > 0 {
		if l, err := strconv.Atoi(lv[0]); err == nil && l > 0 {
			limit = l
		}
	}
	if limit <= 0 {
		if remaining <= 0 {
			return time.Second // no rate known: a short pause beats a 429
		}
		return 0
	}
	low := max(int(float64(limit)*headroom), 1)
	if remaining >= low {
		return 0
	}
	return time.Duration(float64(low-remaining) / float64(limit) * float64(time.Minute))
}
