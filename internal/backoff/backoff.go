// Package backoff is how long a retry waits, and the wait itself, shared by
// the engine's attempts (llm), the batch client's requests (batch) and the
// rate limiter's queue.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Jitter returns the wait before retry n (n ≥ 1, after the n-th failed
// attempt): exponential with full jitter, a uniform random time in
// [0, min(ceiling, base·2^(n-1))), which spreads the retries of requests
// that failed together. ceiling ≤ 0 means no ceiling other than overflow's.
func Jitter(base, ceiling time.Duration, n int) time.Duration {
	if base <= 0 {
		return 0
	}
	const most = time.Duration(1<<63 - 1)
	if ceiling <= 0 {
		ceiling = most
	}
	d := base
	for i := 1; i < n && d < ceiling; i++ {
		if d > most/2 {
			d = most
			break
		}
		d *= 2
	}
	return rand.N(min(d, ceiling))
}

// Sleep waits d, or until ctx is done: then it returns ctx's error. A d ≤ 0
// returns at once, with ctx's error if it is done already.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
