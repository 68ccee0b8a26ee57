package pacingtest_test

import (
	"testing"
	"time"

	"github.com/deluge-go/deluge/pacing"
	"github.com/deluge-go/deluge/pacing/pacingtest"
)

// A Limiter's test runs the kit on a fresh limiter per case, reading the
// kit's clock.
func ExampleRun() {
	// In a _test.go file:
	_ = func(t *testing.T) {
		pacingtest.Run(t, func(t *testing.T, clock func() time.Time) pacing.Limiter {
			return pacing.NewLocal(pacing.WithClock(clock))
		})
	}
}
