package ratelimit

import "time"

// epoch anchors the default clock; time.Since reads the monotonic clock.
var epoch = time.Now()

// bubbleEpoch anchors the clock inside a testing/synctest bubble: a day
// before the bubble's fake clock starts (midnight UTC, 2000-01-01), so that
// its readings are positive, as the engine expects (0 means "never").
var bubbleEpoch = time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)

// Now returns the monotonic time since the package was loaded. Inside a
// testing/synctest bubble, time.Now reads the bubble's fake clock and
// carries no monotonic reading, so time.Since(epoch) is a difference of
// wall clocks, decades negative; Now then measures from bubbleEpoch, which
// makes everything timed by Now run on the bubble's fake time.
func Now() time.Duration {
	if d := time.Since(epoch); d >= 0 {
		return d
	}
	return time.Since(bubbleEpoch)
}
