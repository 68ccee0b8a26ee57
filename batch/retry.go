package batch

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/deluge-go/deluge/llm"
)

// transient reports whether a failed request to the files or batch API may
// succeed if sent again: a rate limit, a server error, a timeout, a broken
// connection. The caller's cancellation is not.
func transient(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	return llm.CodeOf(err).Retryable()
}

// retry calls f until it succeeds, fails for good or has been tried
// maxAttempts times, waiting between attempts with exponential backoff and
// full jitter, never less than the server's retry-after. f gets the
// attempt number, from 1: an attempt after the first may first look for
// what a failed one did (an upload whose reply was lost).
func (c *Client) retry(ctx context.Context, what string, f func(attempt int) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		if err = f(attempt); err == nil || !transient(ctx, err) || attempt >= c.o.maxAttempts {
			return err
		}
		wait := c.o.backoff << (attempt - 1)
		wait = time.Duration(rand.Int64N(int64(wait) + 1))
		var le *llm.Error
		if errors.As(err, &le) && le.RetryAfter > wait {
			wait = le.RetryAfter
		}
		c.logger().Warn("batch: retrying after a transient failure", slog.String("request", what),
			slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", err.Error()))
		if serr := sleep(ctx, wait); serr != nil {
			return err
		}
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
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
