package azurefoundry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// Region cooldowns. A region that answers 429, 5xx or not at all is set
// aside and the call moves to another region at once; the engine's own
// retry then finds the regions that are still up.
//
// Two kinds of rest keep the router's pacing separate from the engine's:
// a region whose error carried a retry-after (or a spent quota) rests for
// that long, and is sent nothing meanwhile; a region whose error said
// nothing (a 5xx or a 429 without retry-after, a refused or reset
// connection, a timeout) is only avoided: calls prefer the other regions
// for a while, but when none is left they still go to it. Such a rest
// never becomes an llm.Error.RetryAfter, so the engine retries on its own
// backoff schedule rather than on a guess made here.
const (
	// maxRegions bounds Config.Regions so a call can track the regions it
	// tried in one word.
	maxRegions = 64
	// avoidFor is how long a region that failed without a retry-after is
	// avoided while another region is available.
	avoidFor = 5 * time.Second
	// maxCooldown caps the rest after a rate limit: per-minute quotas
	// refill within a minute, and a longer wait is a quota (below).
	maxCooldown = 2 * time.Minute
	// defaultQuotaCooldown rests a region whose quota is spent when Azure
	// does not say until when.
	defaultQuotaCooldown = time.Hour
)

// The routing state lives on each target (until, quota, avoid) as atomics:
// pick holds no lock, so concurrent calls never wait on each other.

// pick chooses a region for m among those not in tried and neither resting
// nor avoided, at random in proportion to their weights (the model's
// Regions weights when it has any, else the regions' own). When there is
// none it chooses among the avoided regions the same way, so a region that
// failed without a retry-after is never refused a call. It returns nil
// when every region is tried or resting.
func (p *Provider) pick(m registry.Model, tried uint64) *target {
	now := p.now().UnixNano()
	if t := p.choose(m, tried, now, false); t != nil {
		return t
	}
	return p.choose(m, tried, now, true)
}

// choose is one pass of pick; withAvoided admits the avoided regions.
func (p *Provider) choose(m registry.Model, tried uint64, now int64, withAvoided bool) *target {
	open := func(i int, t *target) bool {
		return tried&(1<<i) == 0 && t.until.Load() <= now && (withAvoided || t.avoid.Load() <= now)
	}
	var total float64
	for i, t := range p.regions {
		if open(i, t) {
			total += t.weightFor(m)
		}
	}
	if total <= 0 {
		return nil
	}
	x := p.rand() * total
	var last *target
	for i, t := range p.regions {
		if !open(i, t) {
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

// eachRegion runs one call across the regions serving m: try sends it to
// the region pick chooses and reports whether the call is settled (it
// succeeded, or failed in a way another region would not change, see
// shouldFailOver); an unsettled failure cools the region down (coolDown)
// and the next one is tried at once. It returns the settling error, or
// unavailable's when no region is left.
func (p *Provider) eachRegion(ctx context.Context, m registry.Model, try func(*target) (settled bool, err error)) error {
	var (
		tried uint64
		last  error
	)
	for {
		t := p.pick(m, tried)
		if t == nil {
			return p.unavailable(m, last)
		}
		tried |= 1 << t.idx
		settled, err := try(t)
		if settled {
			return err
		}
		p.coolDown(ctx, t, err)
		last = err
	}
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

// coolDown sets region t aside after err: a rest for the retry-after the
// error carries (capped, except for a spent quota), or, when it carries
// none, a while of being avoided. Both only ever grow: a short rest never
// cuts a quota one set by a concurrent call.
func (p *Provider) coolDown(ctx context.Context, t *target, err error) {
	var e *llm.Error
	errors.As(err, &e)
	code := llm.CodeUnavailable
	var d time.Duration
	if e != nil {
		code = e.Code
		d = e.RetryAfter
	}
	quota := code == llm.CodeQuotaExceeded
	switch {
	case quota && d <= 0:
		d = defaultQuotaCooldown
	case !quota && d > maxCooldown:
		d = maxCooldown
	}
	now := p.now()
	if d <= 0 {
		// Azure gave no time: avoid the region, do not close it.
		extend(&t.avoid, now.Add(avoidFor).UnixNano())
		p.logger.LogAttrs(ctx, slog.LevelDebug, "azurefoundry: region failing; avoiding it while others are up",
			slog.String("region", t.region), slog.String("resource", t.ep.resource),
			slog.String("code", string(code)), slog.Duration("for", avoidFor))
		return
	}
	if extend(&t.until, now.Add(d).UnixNano()) {
		t.quota.Store(quota)
		if e != nil {
			t.lastErr.Store(e)
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

// extend moves the deadline v to until if that is later, and reports
// whether it did.
func extend(v *atomic.Int64, until int64) bool {
	for {
		cur := v.Load()
		if cur >= until {
			return false
		}
		if v.CompareAndSwap(cur, until) {
			return true
		}
	}
}

// unavailable is the error when no region can take a call for m: every
// region it may use is resting (last is nil: nothing was sent), or was
// tried in this call (last is the last failure). It is that failure, or
// else the error that put the soonest region to rest (status, request ID
// and the server's words kept). RetryAfter is the shortest remaining rest
// when every region rests on Azure's word, so the engine waits no longer
// than needed, and the code QuotaExceeded when every region's quota is
// spent, so it fails fast instead of waiting hours. Otherwise some region
// failed without a retry-after and will take the next call: RetryAfter is
// 0 and the engine's backoff paces the retry.
func (p *Provider) unavailable(m registry.Model, last error) error {
	now := p.now().UnixNano()
	var (
		shortest time.Duration
		soonest  *target
		allQuota = true
		allRest  = true
		eligible int
		resting  []string
	)
	for _, t := range p.regions {
		if t.weightFor(m) <= 0 {
			continue
		}
		eligible++
		wait := time.Duration(t.until.Load() - now)
		if wait <= 0 {
			allQuota, allRest = false, false
			if avoid := time.Duration(t.avoid.Load() - now); avoid > 0 {
				resting = append(resting, fmt.Sprintf("%s: failing, avoided for %s", t.region, avoid.Round(time.Second)))
			}
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
		return &llm.Error{Code: llm.CodeConfiguration, Provider: ProviderName, Model: m.ID,
			Message: fmt.Sprintf("model %s gives weight 0 to every configured region; fix the model's Regions or Config.Regions", m.ID)}
	}
	var base *llm.Error
	if !errors.As(last, &base) && soonest != nil {
		base = soonest.lastErr.Load()
	}
	if base == nil {
		base = &llm.Error{Code: llm.CodeUnavailable, Provider: ProviderName, Message: "Azure regions unavailable"}
	}
	out := *base
	out.Model = m.ID
	out.RetryAfter = 0
	if allRest {
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
