package llm

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/internal/ratelimit"
	"github.com/deluge-go/deluge/registry"
)

func TestBackoffFullJitter(t *testing.T) {
	o := defaultOptions()
	o.backoffBase, o.backoffMax = 100*time.Millisecond, time.Second
	for n, ceil := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 30: time.Second} {
		var most time.Duration
		for range 2000 {
			d := backoff(&o, n)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.Less(t, d, ceil, "attempt %d", n)
			most = max(most, d)
		}
		assert.Greater(t, most, ceil/2, "attempt %d: the jitter spans the whole range", n)
	}
}

func TestReconcile(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxNew  int
		usage   Usage
		charged int
		want    int
	}{
		{"no usage reported keeps the estimate", 0, Usage{}, 500, 0},
		{"estimated completion replaced by the real one", 0, Usage{InputTokens: 10, OutputTokens: 5}, 266, 15 - 266},
		{"longer than estimated costs more", 0, Usage{InputTokens: 10, OutputTokens: 900}, 266, 910 - 266},
		{"max new tokens stay charged", 100, Usage{InputTokens: 10, OutputTokens: 5}, 112, 110 - 112},
		{"prompt over-estimate refunded", 100, Usage{InputTokens: 8, OutputTokens: 100}, 120, 108 - 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &Request{Sampling: Sampling{MaxNewTokens: tc.maxNew}}
			assert.Equal(t, tc.want, reconcile(req, tc.usage, tc.charged))
		})
	}
}

func TestHeadroomPause(t *testing.T) {
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	rem, lim := headerRemainingTokens, headerLimitTokens
	for _, tc := range []struct {
		name       string
		header     http.Header
		configured int
		want       time.Duration
	}{
		{"no header", h(), 1000, 0},
		{"plenty left", h("x-ratelimit-remaining-tokens", "900"), 1000, 0},
		{"spent, configured limit", h("x-ratelimit-remaining-tokens", "0"), 1000, 3 * time.Second},
		{"half the reserve left, announced limit", h("x-ratelimit-remaining-tokens", "25", "x-ratelimit-limit-tokens", "1000"), 60, 1500 * time.Millisecond},
		{"garbage", h("x-ratelimit-remaining-tokens", "lots"), 1000, 0},
		{"spent, no limit known", h("x-ratelimit-remaining-tokens", "0"), -1, time.Second},
		{"some left, no limit known", h("x-ratelimit-remaining-tokens", "3"), -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, headroomPause(tc.header, rem, lim, tc.configured))
		})
	}
}

func TestClassify(t *testing.T) {
	tg := &target{model: registry.Model{ID: "m", Provider: "p"}}
	e := &Error{Code: CodeRateLimited}
	assert.Same(t, e, classify(fmt.Errorf("wrapped: %w", e), tg))
	assert.Equal(t, CodeUnavailable, classify(syscall.ECONNRESET, tg).Code)
	assert.Equal(t, CodeUnavailable, classify(io.ErrUnexpectedEOF, tg).Code)
	assert.Equal(t, CodeUnavailable, classify(&Error{Code: CodeUnknown, Err: syscall.ECONNREFUSED}, tg).Code)
	got := classify(errors.New("odd"), tg)
	assert.Equal(t, CodeUnknown, got.Code)
	assert.Equal(t, "m", got.Model)
	assert.False(t, got.Retryable())
}

func newTestTarget(rpm, tpm int) *target {
	l := Limits{RequestsPerMinute: rpm, TokensPerMinute: tpm}
	return &target{
		model:  registry.Model{ID: "m"},
		limits: l,
		rpm:    ratelimit.New(float64(rpm), burstFor(rpm), nil),
		tpm:    ratelimit.New(float64(tpm), burstFor(tpm), nil),
		factor: 1,
	}
}

func TestSlowDownCutsOncePerRoundAndRecovers(t *testing.T) {
	tg := newTestTarget(600, 60_000)
	base := time.Hour
	f, cut := tg.slowDown(base, base-time.Second)
	require.True(t, cut)
	assert.Equal(t, rateCut, f)
	rpm, _ := tg.rpm.Rate()
	assert.InDelta(t, 600*rateCut, rpm, 1e-9)
	tpm, _ := tg.tpm.Rate()
	assert.InDelta(t, 60_000*rateCut, tpm, 1e-6)

	// 429s of requests sent before the cut reflect the old rate.
	_, cut = tg.slowDown(base+time.Millisecond, base-time.Millisecond)
	assert.False(t, cut)
	// One sent after the cut means the new rate is still too fast.
	f, cut = tg.slowDown(base+2*time.Millisecond, base+time.Millisecond)
	assert.True(t, cut)
	assert.InDelta(t, rateCut*rateCut, f, 0.001)

	// Linear recovery over rateRecovery.
	tg.refreshRateAt(base + 2*time.Millisecond + rateRecovery/10)
	rpm, _ = tg.rpm.Rate()
	assert.InDelta(t, 600*(rateCut*rateCut+0.1), rpm, 3)
	tg.refreshRateAt(base + 2*rateRecovery)
	rpm, _ = tg.rpm.Rate()
	assert.Equal(t, 600.0, rpm)
	assert.False(t, tg.adapting.Load())
}

func TestSlowDownNeedsALimit(t *testing.T) {
	tg := newTestTarget(-1, -1)
	_, cut := tg.slowDown(time.Hour, 0)
	assert.False(t, cut)
	assert.True(t, tg.rpm.Unlimited())
}

func TestOutOfRotationProbe(t *testing.T) {
	tg := newTestTarget(-1, -1)
	now := time.Hour
	assert.True(t, tg.disable(now, time.Minute, &Error{Code: CodeAuthentication}))
	assert.False(t, tg.disable(now, time.Minute, &Error{Code: CodeAuthentication}), "reported once per outage")
	assert.False(t, tg.available(now+time.Second, true, time.Second))
	later := now + 2*time.Minute
	assert.True(t, tg.available(later, true, time.Second), "the first caller probes")
	assert.False(t, tg.available(later, true, time.Second), "the others wait for the probe")
	tg.enable()
	assert.True(t, tg.available(later, true, time.Second))
	assert.ErrorIs(t, tg.outOfRotationError(), ErrAuthentication)
}

func TestChoosePrefersHealthyTargets(t *testing.T) {
	a, b := newTestTarget(-1, -1), newTestTarget(-1, -1)
	a.model.ID, b.model.ID = "a", "b"
	a.weight, b.weight = 1000, 1
	c := &Client{targets: []*target{a, b}}
	now := ratelimit.Now()
	assert.Same(t, b, c.choose(now, a), "avoid the target that just failed")
	a.cool(now, time.Hour)
	for range 20 {
		assert.Same(t, b, c.choose(now, nil), "a cooling target loses its traffic")
	}
	b.cool(now, time.Minute)
	assert.Same(t, b, c.choose(now, nil), "with everything cooling, the one that recovers first")
	b.disable(now, time.Hour, &Error{Code: CodeNotFound})
	assert.Same(t, a, c.choose(now, nil))
	a.disable(now, time.Hour, &Error{Code: CodeNotFound})
	assert.Nil(t, c.choose(now, nil))
	assert.False(t, c.hasAlternative(a))
}
