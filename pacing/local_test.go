package pacing_test

import (
	"testing"
	"time"

	"github.com/deluge-go/deluge/pacing"
	"github.com/deluge-go/deluge/pacing/pacingtest"
)

func TestLocalConformance(t *testing.T) {
	pacingtest.Run(t, func(t *testing.T, clock func() time.Time) pacing.Limiter {
		return pacing.NewLocal(pacing.WithClock(clock))
	})
}

func TestLimitsMin(t *testing.T) {
	for _, c := range []struct{ a, b, want pacing.Limits }{
		{pacing.Limits{}, pacing.Limits{RequestsPerMinute: 5}, pacing.Limits{RequestsPerMinute: 5}},
		{pacing.Limits{RequestsPerMinute: 3, TokensPerMinute: -1}, pacing.Limits{RequestsPerMinute: 5, TokensPerMinute: 7}, pacing.Limits{RequestsPerMinute: 3, TokensPerMinute: 7}},
		{pacing.Limits{RequestsPerMinute: -1}, pacing.Limits{}, pacing.Limits{}},
	} {
		if got := c.a.Min(c.b); got != c.want {
			t.Errorf("%+v.Min(%+v) = %+v, want %+v", c.a, c.b, got, c.want)
		}
	}
	if !(pacing.Limits{RequestsPerMinute: -1}).IsZero() || (pacing.Limits{TokensPerMinute: 1}).IsZero() {
		t.Error("IsZero")
	}
}
