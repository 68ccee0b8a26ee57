package httpguard

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps the waits read from a server: a week is beyond any
// real quota reset, and far below the ~292 years at which a Duration
// overflows.
const MaxRetryAfter = 7 * 24 * time.Hour

// RetryAfter reads how long the server asked to wait: retry-after-ms
// (milliseconds, fractions allowed; Azure's front end sends it), then
// retry-after (seconds or an HTTP-date). It returns 0 when neither says,
// and never more than MaxRetryAfter, so an absurd header cannot overflow a
// duration or park a client for years.
func RetryAfter(h http.Header) time.Duration {
	if v := strings.TrimSpace(first(h, "Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && !math.IsInf(ms, 0) {
			return ClampDuration(ms * float64(time.Millisecond))
		}
	}
	if v := strings.TrimSpace(first(h, "Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil {
			if s > 0 && !math.IsInf(s, 0) {
				return ClampDuration(s * float64(time.Second))
			}
		} else if t, err := http.ParseTime(v); err == nil {
			if d := time.Until(t); d > 0 {
				return min(d, MaxRetryAfter)
			}
		}
	}
	return 0
}

// ClampDuration converts a count of nanoseconds to a Duration no longer
// than MaxRetryAfter.
func ClampDuration(ns float64) time.Duration {
	if ns >= float64(MaxRetryAfter) {
		return MaxRetryAfter
	}
	return time.Duration(ns)
}

// first is h[key][0] for a key in canonical form, or "".
func first(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
