package llm

import (
	"context"
	"errors"
	"time"

	"github.com/deluge-go/deluge/internal/ratelimit"
)

// errOutOfRotation is admit's report that the target was taken out of
// rotation while the request waited for it.
var errOutOfRotation = errors.New("llm: target out of rotation")

// admit waits until t may take one more request of cost tokens: the
// target's cooldown, then rate capacity (client and target), then a
// concurrency slot. It returns the admission time. outages is the target's
// outage count when it was picked: if it changed, the target failed for
// good meanwhile and admit returns errOutOfRotation.
func (c *Client) admit(ctx context.Context, t *target, cost int, outages int64) (time.Duration, error) {
	for {
		if err := c.waitCooldown(ctx, t); err != nil {
			return 0, err
		}
		t.refreshRate()
		if err := c.waitRate(ctx, t, cost); err != nil {
			return 0, err
		}
		if err := c.acquire(ctx, t); err != nil {
			c.refund(t, cost)
			return 0, err
		}
		if t.outages.Load() != outages {
			c.releaseSlots(t)
			c.refund(t, cost)
			return 0, errOutOfRotation
		}
		now := ratelimit.Now()
		if t.cooling(now) == 0 {
			c.stats.inFlight.Add(1)
			return now, nil
		}
		// A 429 arrived while this request queued: give the capacity back
		// and wait out the cooldown.
		c.releaseSlots(t)
		c.refund(t, cost)
	}
}

func (c *Client) waitCooldown(ctx context.Context, t *target) error {
	for {
		d := t.cooling(ratelimit.Now())
		if d <= 0 {
			return nil
		}
		c.stats.waited(limitCooldown, d)
		resume := waiting(ctx)
		err := sleep(ctx, d)
		resume()
		if err != nil {
			return err
		}
	}
}

func (c *Client) waitRate(ctx context.Context, t *target, cost int) error {
	d, err := c.rpm.Wait(ctx, 1)
	c.stats.waited(limitRPM, d)
	if err != nil {
		return err
	}
	if d, err = c.tpm.Wait(ctx, cost); err != nil {
		c.rpm.Adjust(-1)
		return err
	}
	c.stats.waited(limitTPM, d)
	if d, err = t.rpm.Wait(ctx, 1); err != nil {
		c.rpm.Adjust(-1)
		c.tpm.Adjust(-cost)
		return err
	}
	c.stats.waited(limitRPM, d)
	if d, err = t.tpm.Wait(ctx, cost); err != nil {
		c.rpm.Adjust(-1)
		c.tpm.Adjust(-cost)
		t.rpm.Adjust(-1)
		return err
	}
	c.stats.waited(limitTPM, d)
	return nil
}

// refund returns the rate capacity of a request that was not sent.
func (c *Client) refund(t *target, cost int) {
	c.rpm.Adjust(-1)
	c.tpm.Adjust(-cost)
	t.rpm.Adjust(-1)
	t.tpm.Adjust(-cost)
}

// acquire takes a concurrency slot of the target (when it has its own
// limit) and of the client, in that order.
func (c *Client) acquire(ctx context.Context, t *target) error {
	if t.sem != nil {
		// A job queued for its model's slot holds none of the client's: a
		// batch may start another job, for another model, meanwhile.
		if err := c.take(ctx, t.sem, true); err != nil {
			return err
		}
	}
	if err := c.take(ctx, c.sem, false); err != nil {
		if t.sem != nil {
			<-t.sem
		}
		return err
	}
	return nil
}

// take takes a slot of sem, waiting for one if need be; lend tells a batch
// that the wait leaves a client slot free (see waiting).
func (c *Client) take(ctx context.Context, sem chan struct{}, lend bool) error {
	select {
	case sem <- struct{}{}:
		return nil
	default:
	}
	if lend {
		defer waiting(ctx)()
	}
	start := time.Now()
	select {
	case sem <- struct{}{}:
		c.stats.waited(limitConcurrency, time.Since(start))
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) releaseSlots(t *target) {
	<-c.sem
	if t.sem != nil {
		<-t.sem
	}
}

// release ends an attempt admitted by admit.
func (c *Client) release(t *target) {
	c.releaseSlots(t)
	c.stats.inFlight.Add(-1)
}
