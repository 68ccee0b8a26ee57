package llm

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/pacing"
)

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestReadFigures(t *testing.T) {
	f, ok := readFigures(header("x-ratelimit-remaining-requests", "19", "x-ratelimit-remaining-tokens", "19913"))
	require.True(t, ok)
	assert.Equal(t, figures{remReq: 19, remTok: 19913}, f, "Azure: no limits, requests per 10 s window")

	f, ok = readFigures(header("x-ratelimit-remaining-requests", "499", "x-ratelimit-limit-requests", "500",
		"x-ratelimit-remaining-tokens", "29000", "x-ratelimit-limit-tokens", "30000",
		"x-ratelimit-reset-requests", "120ms", "x-ratelimit-reset-tokens", "2s"))
	require.True(t, ok)
	assert.Equal(t, figures{remReq: 499, remTok: 29000, limReq: 500, limTok: 30000, perMinute: true}, f, "OpenAI: per minute, with resets")

	f, ok = readFigures(header("x-ratelimit-remaining-tokens", "lots"))
	assert.False(t, ok, "garbage is no figure")
	assert.Equal(t, -1, f.remTok)
	_, ok = readFigures(http.Header{})
	assert.False(t, ok)
}

// azureReply observes an Azure-style reply (remaining requests of the 10 s
// window, remaining tokens of the minute) to the request admitted seq-th at
// sentAt, read at now.
func azureReply(s *serverView, seq int64, sentAt, now time.Duration, remReq, remTok, cost int, since, sinceTokens int64) time.Duration {
	a := admission{sentAt: sentAt, seq: seq, admitted: true}
	return s.observe(figures{remReq: remReq, remTok: remTok, limReq: 0, limTok: 0}, a, now, cost, since, sinceTokens)
}

func TestAzureRemainingRequestsCountTheTenSecondWindow(t *testing.T) {
	var s serverView
	base := time.Hour
	// 120 RPM: the window holds 20. The first reply says 19 left: the
	// window's limit is 20, or 120 per minute.
	assert.Zero(t, azureReply(&s, 1, base, base+50*time.Millisecond, 19, -1, 0, 0, 0))
	assert.Equal(t, 120, s.limits().RequestsPerMinute)

	// Plenty left, even with requests in flight: no pause (the issue's
	// 1.38× run paused on every reply, reading 19 as a per-minute figure).
	assert.Zero(t, azureReply(&s, 2, base+time.Second, base+time.Second+50*time.Millisecond, 18, -1, 0, 3, 0))

	// 3 left but 3 admitted since: the window is full. Its end is not
	// known yet, so the pause is one request's share of the window.
	assert.Equal(t, 500*time.Millisecond, azureReply(&s, 17, base+8*time.Second, base+8*time.Second+50*time.Millisecond, 3, -1, 0, 3, 0))

	// The count jumps back up: a window opened with this request. A
	// reply that says it is spent pauses until that window ends.
	open := base + 12*time.Second
	assert.Zero(t, azureReply(&s, 21, open, open+50*time.Millisecond, 19, -1, 0, 0, 0))
	now := open + 7*time.Second
	assert.Equal(t, 3*time.Second, azureReply(&s, 40, now-50*time.Millisecond, now, 0, -1, 0, 0, 0))
	// After the window's end, a spent count says nothing about the next
	// window... until its own jump; a count going down is no new window.
	assert.Zero(t, azureReply(&s, 41, now, now+50*time.Millisecond, 1, -1, 0, 0, 0))
}

func TestAzureRemainingTokensCountTheMinute(t *testing.T) {
	var s serverView
	base := time.Hour
	// 20,000 TPM: 19,913 left after a request counted as 87 tokens.
	assert.Zero(t, azureReply(&s, 1, base, base, -1, 19_913, 87, 0, 0))
	assert.Equal(t, 20_000, s.limits().TokensPerMinute)

	// The third run: the server keeps saying 100,000 tokens left
	// while the client is configured at 10 M TPM. Nothing says the next
	// request would be refused: no pause (the old code paused 2.4 s).
	var big serverView
	for i := range int64(50) {
		assert.Zero(t, azureReply(&big, i+1, base, base+50*time.Millisecond, -1, 100_000, 500, 40, 40*500))
	}

	// 50 left, 100 charged since, 30 ms later: 51 tokens are missing to
	// let one more through, at 333 a second.
	d := azureReply(&s, 2, base, base+30*time.Millisecond, -1, 50, 87, 0, 100)
	perToken := time.Minute / 20_000
	assert.InDelta(t, float64(51*perToken-30*time.Millisecond), float64(d), float64(perToken))
}

func TestPerMinuteFiguresRefill(t *testing.T) {
	var s serverView
	base := time.Hour
	a := admission{sentAt: base, seq: 1, admitted: true}
	// OpenAI: 0 of 60 requests left, refilling at one a second: the next
	// one in a second (less the 200 ms since the request).
	f := figures{remReq: 0, limReq: 60, remTok: 5000, limTok: 6000, perMinute: true}
	assert.Equal(t, 800*time.Millisecond, s.observe(f, a, base+200*time.Millisecond, 10, 0, 0))
	assert.Equal(t, pacing.Limits{RequestsPerMinute: 60, TokensPerMinute: 6000}, s.limits())
	// Two left, one admitted since: no pause.
	f.remReq = 2
	assert.Zero(t, s.observe(f, a, base, 10, 1, 0))
}

func TestLoweredAndRaised(t *testing.T) {
	// The server's headers say less than the pace: they win.
	assert.Equal(t, 600, lowered(0, 780, 780, 600, 550))
	// Headers that say more than the pace (or nothing): the measured rate,
	// when clearly lower.
	assert.Equal(t, 591, lowered(0, 780, 780, 4800, 610))
	assert.Equal(t, 591, lowered(0, 780, 780, 0, 610))
	assert.Equal(t, 0, lowered(0, 780, 780, 0, 770), "within 3%: no change")
	assert.Equal(t, 598, lowered(617, 617, 780, 0, 605), "429s persist at a lowered pace: a little lower")
	assert.Equal(t, 195, lowered(0, 780, 780, 0, 10), "never under a quarter of the configured pace")
	assert.Equal(t, 0, lowered(0, 0, 0, 600, 500), "an unlimited pace is not lowered")

	// Raised by a tenth of the configured limit, up to the server's own
	// figure, and cleared at the configured limit.
	assert.Equal(t, 678, raised(600, 780, 0))
	assert.Equal(t, 600, raised(600, 780, 600), "the headers say 600: stay")
	assert.Equal(t, 600, raised(480, 780, 600), "the headers say 600: there at once")
	assert.Equal(t, 0, raised(480, 780, 4800), "the headers say more than configured: back to it")
	assert.Equal(t, 400, raised(400, 780, 300), "the headers say less: stay")
	assert.Equal(t, 0, raised(750, 780, 0), "back to the configured pace")
	assert.Equal(t, 0, raised(0, 780, 0), "not lowered")
}

func TestMeasuredRate(t *testing.T) {
	tg := newTestTarget(600, 0)
	base := time.Hour
	// 8 requests a second for 5.5 s: the whole seconds count.
	for i := range 44 {
		tg.accept(admission{sentAt: base + time.Duration(i)*125*time.Millisecond, tokens: 10, admitted: true})
	}
	tg.adapt.mu.Lock()
	defer tg.adapt.mu.Unlock()
	assert.Equal(t, pacing.Limits{RequestsPerMinute: 480, TokensPerMinute: 4800}, tg.adapt.measuredLocked(base+5500*time.Millisecond))
	assert.Zero(t, tg.adapt.measuredLocked(base+900*time.Millisecond), "not a whole second yet")
	tg.adapt.raisedAt = base + 4200*time.Millisecond
	assert.Zero(t, tg.adapt.measuredLocked(base+5500*time.Millisecond), "not a whole second since the pace changed")

	var un target
	un.accept(admission{sentAt: base, admitted: true})
	assert.Zero(t, un.adapt.first, "an unlimited target measures nothing")
}

func TestOnlyPersistent429sLowerThePace(t *testing.T) {
	c, err := NewClient("m", WithProviderInstance(ProviderFunc(func(context.Context, *Request) (*Response, error) { return nil, nil })),
		WithMaxRequestsPerMinute(600), WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	tg := c.targets[0]
	base := time.Hour
	// The server's headers say its 10 s window holds 50: 300 RPM.
	tg.server.observe(figures{remReq: 49, remTok: -1}, admission{sentAt: base, seq: 1, admitted: true}, base, 0, 0, 0)
	require.Equal(t, 300, tg.server.limits().RequestsPerMinute)
	e := &Error{Code: CodeRateLimited, Message: "exceeded call rate limit"}

	c.rateLimited(context.Background(), tg, e, base+time.Second, base+900*time.Millisecond)
	assert.False(t, tg.pace().Lowered(), "one 429: one full window, the pace resumes")
	c.rateLimited(context.Background(), tg, e, base+1100*time.Millisecond, base+950*time.Millisecond)
	assert.False(t, tg.pace().Lowered(), "a request in flight when the episode began: the same episode")
	c.rateLimited(context.Background(), tg, e, base+40*time.Second, base+39*time.Second)
	assert.False(t, tg.pace().Lowered(), "the next episode 39 s later: not persistent")
	c.rateLimited(context.Background(), tg, e, base+45*time.Second, base+44*time.Second)
	assert.Equal(t, 300, tg.pace().Found.RequestsPerMinute, "two episodes within 20 s: paced at what the server allows")
	assert.Equal(t, 300, tg.found().RequestsPerMinute)

	// Tokens: a 429 that names tokens lowers the TPM, not the RPM: the
	// server reported 50,000 left after a request of 10,000, a minute of
	// 60,000, under the client's default 100,000.
	tg.server.observe(figures{remReq: -1, remTok: 50_000}, admission{sentAt: base, seq: 2, admitted: true}, base+46*time.Second, 10_000, 0, 0)
	te := &Error{Code: CodeRateLimited, Message: "exceeded token rate limit"}
	c.rateLimited(context.Background(), tg, te, base+50*time.Second, base+49*time.Second)
	c.rateLimited(context.Background(), tg, te, base+51*time.Second, base+50500*time.Millisecond)
	assert.Equal(t, 300, tg.pace().Found.RequestsPerMinute)
	assert.Equal(t, 60_000, tg.pace().Found.TokensPerMinute)
}
