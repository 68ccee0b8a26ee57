package llm

import (
	"errors"
	"fmt"
	"io"
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
			d := retryWait(&o, n)
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
	return &target{model: registry.Model{ID: "m"}, limits: l, quota: pacingLimits(l)}
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
