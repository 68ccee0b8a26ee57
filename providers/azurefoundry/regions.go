package azurefoundry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// Region cooldowns. A region that answers 429, 5xx or not at all is rested
// and the call moves to another region at once; the engine's own retry
// then finds the regions that are still up.
const (
	// maxRegions bounds Config.Regions so a call can track the regions it
	// tried in one word.
	maxRegions = 64
	// defaultCooldown rests a region whose error gave no retry-after.
	defaultCooldown = 5 * time.Second
	// maxCooldown caps the rest after a rate limit: per-minute quotas
	// refill within a minute, and a longer wait is a quota (below).
	maxCooldown = 2 * time.Minute
	// defaultQuotaCooldown rests a region whose quota is spent when Azure
	// does not say until when.
	defaultQuotaCooldown = time.Hour
)

// The routing state lives on each target (until, quota) as atomics: pick
// holds no lock, so concurrent calls never wait on each other.

// pick chooses a region for m among those not in tried and not cooling
// down, at random in proportion to their weights (the model's Regions
// weights when it has any, else the regions' own). It returns nil when
// none is available.
func (p *Provider) pick(m registry.Model, tried uint64) *target {
	now := p.now().UnixNano()
	var total float64
	for i, t := range p.regions {
		if tried&(1<<i) != 0 || t.until.Load() > now {
			continue
		}
		total += t.weightFor(m)
	}
	if total <= 0 {
		return nil
	}
	x := p.rand() * total
	var last *target
	for i, t := range p.regions {
		if tried&(1<<i) != 0 || t.until.Load() > now {
			continue
		}
		w := t.weightFor(m)
		if w <= 0 {
			continue
		}
		last = t
		if x < w {
			return t
		}
		x -= w
	}
	return last // rounding left x at the very end
}

// weightFor is the region's weight for m: the model's own region weights
// take precedence when they name at least one configured region (a region
// they do not list then gets no traffic); weights naming none of them are
// another deployment's concern and are ignored.
func (t *target) weightFor(m registry.Model) float64 {
	if len(m.Regions) > 0 && t.p.modelNamesRegion(m) {
		return m.Regions[t.region]
	}
	return t.weight
}

// modelNamesRegion reports whether m's region weights name a configured
// region.
func (p *Provider) modelNamesRegion(m registry.Model) bool {
	for _, t := range p.regions {
		if _, ok := m.Regions[t.region]; ok {
			return true
		}
	}
	return false
}

// shouldFailOver reports whether err from region t means "try another
// region": a rate limit, a spent quota, a 5xx, a timeout of the HTTP
// client or a broken connection. The caller's cancellation or deadline is
// not, and neither is anything the request itself caused.
func shouldFailOver(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var e *llm.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case llm.CodeRateLimited, llm.CodeQuotaExceeded, llm.CodeUnavailable, llm.CodeTimeout:
		return true
	}
	return false
}

// coolDown rests region t after err. The rest only ever grows: a short
// 5xx cooldown never shortens a quota one set by a concurrent call.
func (p *Provider) coolDown(ctx context.Context, t *target, err error) {
	var e *llm.Error
	errors.As(err, &e)
	d := defaultCooldown
	quota := false
	code := llm.CodeUnavailable
	if e != nil {
		code = e.Code
		if e.RetryAfter > 0 {
			d = e.RetryAfter
		}
	}
	switch {
	case code == llm.CodeQuotaExceeded:
		quota = true
		if e.RetryAfter <= 0 {
			d = defaultQuotaCooldown
		}
	case d > maxCooldown:
		d = maxCooldown
	}
	now := p.now()
	until := now.Add(d).UnixNano()
	for {
		cur := t.until.Load()
		if cur >= until {
			break
		}
		if t.until.CompareAndSwap(cur, until) {
			t.quota.Store(quota)
			if e != nil {
				t.lastErr.Store(e)
			}
			break
		}
	}
	level := slog.LevelDebug
	if quota {
		level = slog.LevelWarn
	}
	p.logger.LogAttrs(ctx, level, "azurefoundry: region cooling down; failing over",
		slog.String("region", t.region), slog.String("resource", t.ep.resource),
		slog.String("code", string(code)), slog.Duration("for", d))
}

// unavailable is the error when no region can take a call for m: every
// region it may use is resting (last is nil: nothing was sent), or every
// one failed in this call (last is the last failure). It is the error that
// put a region to rest (status, request ID and the server's words kept),
// with RetryAfter the shortest remaining rest and the code QuotaExceeded
// when every region's quota is spent, so the engine fails fast instead of
// waiting hours.
func (p *Provider) unavailable(m registry.Model, last error) error {
	now := p.now()
	var (
		shortest time.Duration
		soonest  *target
		allQuota = true
		eligible int
		resting  []string
	)
	for _, t := range p.regions {
		if t.weightFor(m) <= 0 {
			continue
		}
		eligible++
		wait := time.Duration(t.until.Load() - now.UnixNano())
		if wait <= 0 {
			allQuota = false
			continue
		}
		what := "rate limited or failing"
		if t.quota.Load() {
			what = "quota exceeded"
		} else {
			allQuota = false
		}
		resting = append(resting, fmt.Sprintf("%s: %s, %s left", t.region, what, wait.Round(time.Second)))
		if soonest == nil || wait < shortest {
			shortest, soonest = wait, t
		}
	}
	if eligible == 0 {
		return &llm.Error{Code: llm.CodeInvalidRequest, Provider: ProviderName, Model: m.ID,
			Message: fmt.Sprintf("model %s gives weight 0 to every configured region; fix the model's Regions or Config.Regions", m.ID)}
	}
	var base *llm.Error
	if !errors.As(last, &base) && soonest != nil {
		base = soonest.lastErr.Load()
	}
	if base == nil {
		base = &llm.Error{Code: llm.CodeRateLimited, Provider: ProviderName, Message: "Azure regions unavailable"}
	}
	out := *base
	out.Model = m.ID
	out.RetryAfter = max(out.RetryAfter, shortest)
	if last == nil {
		// Nothing was sent: the wait left is what counts.
		out.RetryAfter = shortest
	}
	out.Message = strings.TrimRight(base.Message, " ") + fmt.Sprintf(" [all %d Azure regions tried or resting: %s]", eligible, strings.Join(resting, "; "))
	if allQuota && len(resting) > 0 {
		out.Code = llm.CodeQuotaExceeded
		if !strings.HasPrefix(out.Message, "Azure quota exceeded") {
			out.Message = "Azure quota exceeded in every region. Consider increasing quota or adding a region. " + out.Message
		}
	}
	return &out
}
