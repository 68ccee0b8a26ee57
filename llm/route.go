package llm

import (
	"math/rand/v2"
	"time"

	"github.com/deluge-go/deluge/internal/ratelimit"
)

// pick chooses the target of an attempt: pinned if set; otherwise a
// weighted random target in rotation, preferring targets that are not
// cooling down and avoiding avoid (the target that just failed) when there
// is a choice. With every target out of rotation it returns the error that
// took the first one out. It also returns the target's outage count, read
// before its availability, for admit to notice a later outage.
func (c *Client) pick(pinned, avoid *target) (*target, int64, error) {
	now := ratelimit.Now()
	hold := c.opts.requestTimeout + time.Second
	one := pinned
	if one == nil && len(c.targets) == 1 {
		one = c.targets[0]
	}
	if one != nil {
		outages := one.outages.Load()
		if !one.available(now, true, hold) {
			return nil, 0, one.outOfRotationError()
		}
		return one, outages, nil
	}
	for {
		t := c.choose(now, avoid)
		if t == nil {
			return nil, 0, c.targets[0].outOfRotationError()
		}
		outages := t.outages.Load()
		if t.available(now, true, hold) {
			return t, outages, nil
		}
		// Another caller claimed the probe of t; choose again.
	}
}

func (c *Client) choose(now time.Duration, avoid *target) *target {
	var (
		total    float64
		earliest *target
		standby  *target
	)
	for _, t := range c.targets {
		if t == avoid || !t.available(now, false, 0) {
			continue
		}
		if t.cooling(now) > 0 {
			if earliest == nil || t.coolUntil.Load() < earliest.coolUntil.Load() {
				earliest = t
			}
			continue
		}
		if t.weight == 0 {
			if standby == nil {
				standby = t
			}
			continue
		}
		total += t.weight
	}
	if total > 0 {
		r := rand.Float64() * total
		var last *target
		for _, t := range c.targets {
			if t == avoid || t.weight == 0 || !t.available(now, false, 0) || t.cooling(now) > 0 {
				continue
			}
			last = t
			if r -= t.weight; r < 0 {
				return t
			}
		}
		return last // rounding
	}
	if standby != nil {
		return standby
	}
	if earliest != nil {
		return earliest
	}
	if avoid != nil && avoid.available(now, false, 0) {
		return avoid
	}
	return nil
}

// hasAlternative reports whether a target other than t is in rotation and
// not cooling down: a retry can move there at once instead of backing off.
func (c *Client) hasAlternative(t *target) bool {
	if len(c.targets) < 2 {
		return false
	}
	now := ratelimit.Now()
	for _, u := range c.targets {
		if u != t && u.available(now, false, 0) && u.cooling(now) == 0 {
			return true
		}
	}
	return false
}
