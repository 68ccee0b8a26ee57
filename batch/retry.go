package batch

import (
	"context"
	"errors"
	"log/slog"

	"github.com/deluge-go/deluge/internal/backoff"
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
		wait := backoff.Jitter(c.o.backoff, 0, attempt)
		var le *llm.Error
		if errors.As(err, &le) && le.RetryAfter > wait {
			wait = le.RetryAfter
		}
		c.logger().Warn("batch: retrying after a transient failure", slog.String("request", what),
			slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", err.Error()))
		if serr := backoff.Sleep(ctx, wait); serr != nil {
			return err
		}
	}
}
