package redispacing

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deluge-go/deluge/pacing"
)

// adjustment is a pending Adjust: the limits it was made at, and the
// requests and tokens to charge (> 0) or refund (< 0).
type adjustment struct {
	l                pacing.Limits
	requests, tokens int
}

// pacer is the Pacer of one quota key.
type pacer struct {
	l     *Limiter
	keys  []string // the state's Redis key
	local pacing.Pacer

	// found mirrors the key's found limits, for local pacing.
	foundRPM, foundTPM atomic.Int64
	// seeded is the detach count when local pacing of the key last
	// started (see admitLocal).
	seeded atomic.Int64
	// localUntil is when the local pacer's last reservation is over (Unix
	// ns): until then the key keeps pacing locally after Redis is back,
	// so that the switch adds no burst.
	localUntil atomic.Int64

	mu      sync.Mutex
	pending []adjustment
	// flushing is closed when the flush in progress, if any, is done.
	flushing chan struct{}
}

func (p *pacer) found() pacing.Limits {
	return pacing.Limits{RequestsPerMinute: int(p.foundRPM.Load()), TokensPerMinute: int(p.foundTPM.Load())}
}

// useRedis reports whether this call goes to Redis.
func (p *pacer) useRedis() bool {
	if !p.l.attached.Load() {
		return false
	}
	if u := p.localUntil.Load(); u != 0 {
		if p.l.now().UnixNano() < u {
			return false
		}
		p.localUntil.CompareAndSwap(u, 0)
	}
	return true
}

// Admit implements [pacing.Pacer]: one script call, which applies the
// key's pending adjustment and decides. It never fails: when Redis does
// not answer, it decides locally.
func (p *pacer) Admit(ctx context.Context, lim pacing.Limits, cost int, ahead time.Duration) (pacing.Decision, error) {
	if !p.useRedis() {
		return p.admitLocal(ctx, lim, cost, ahead), nil
	}
	adj, err := p.takePending(ctx, lim)
	if err != nil {
		return pacing.Decision{Wait: retryWait}, nil // ctx ended
	}
	s, ns := p.l.timeArgs()
	cctx, cancel := context.WithTimeout(ctx, p.l.opTimeout)
	res, err := admitScript.Run(cctx, p.l.rdb, p.keys, s, ns, p.l.idleMS,
		max(lim.RequestsPerMinute, 0), max(lim.TokensPerMinute, 0), max(cost, 0), max(ahead, 0).Nanoseconds(),
		max(adj.l.RequestsPerMinute, 0), max(adj.l.TokensPerMinute, 0), adj.requests, adj.tokens).Int64Slice()
	cancel()
	if err == nil && len(res) != 5 {
		err = fmt.Errorf("redispacing: unexpected reply of the admission script: %v", res)
	}
	if err != nil {
		if ctx.Err() != nil {
			return pacing.Decision{Wait: retryWait}, nil
		}
		p.l.detach(err)
		return p.admitLocal(ctx, lim, cost, ahead), nil
	}
	p.foundRPM.Store(res[3])
	p.foundTPM.Store(res[4])
	d := pacing.Decision{
		Admitted: res[0] == 1,
		Wait:     time.Duration(res[1]),
		Reason:   pacing.Reason(res[2]),
		Found:    pacing.Limits{RequestsPerMinute: int(res[3]), TokensPerMinute: int(res[4])},
	}
	if d.Admitted && p.l.transition() {
		d = p.alsoLocal(ctx, d, lim, cost, ahead)
	}
	return d, nil
}

// transition reports whether Redis answered again so recently (three
// heartbeats: long enough for every worker to notice, and to beat again)
// that other workers may still be pacing locally.
func (l *Limiter) transition() bool {
	at := l.reattachedAt.Load()
	return at != 0 && l.now().UnixNano()-at < int64(3*l.heartbeat)
}

// alsoLocal holds a request Redis admitted to this worker's share too:
// right after Redis is back, workers that have not noticed yet still pace
// locally, at their share, and this one must not take more than its own.
// A request the local pacer refuses gives Redis its admission back.
func (p *pacer) alsoLocal(ctx context.Context, d pacing.Decision, lim pacing.Limits, cost int, ahead time.Duration) pacing.Decision {
	ld := p.paceLocally(ctx, lim, cost, ahead)
	if !ld.Admitted {
		p.Adjust(ctx, lim, -1, -cost)
		ld.Found = d.Found
		return ld
	}
	if ld.Wait > d.Wait {
		d.Wait, d.Reason = ld.Wait, ld.Reason
	}
	return d
}

// admitLocal decides in process, at this worker's share of the limits,
// while Redis is lost (or just back: see useRedis).
func (p *pacer) admitLocal(ctx context.Context, lim pacing.Limits, cost int, ahead time.Duration) pacing.Decision {
	d := p.paceLocally(ctx, lim, cost, ahead)
	if d.Admitted {
		sl := shareOf(lim.Min(p.found()), p.l.share())
		until := p.l.now().Add(d.Wait).UnixNano() + int64(math.Max(interval(sl.RequestsPerMinute), float64(max(cost, 0))*interval(sl.TokensPerMinute)))
		for {
			cur := p.localUntil.Load()
			if cur >= until || p.localUntil.CompareAndSwap(cur, until) {
				break
			}
		}
	}
	return d
}

// paceLocally asks the local pacer, at this worker's share of the limits.
func (p *pacer) paceLocally(ctx context.Context, lim pacing.Limits, cost int, ahead time.Duration) pacing.Decision {
	f := p.found()
	sl := shareOf(lim.Min(f), p.l.share())
	if n := p.l.detaches.Load(); p.seeded.Load() != n {
		// First local admission since Redis was lost: requests Redis
		// admitted ahead may still be waiting to go, so the local pace
		// starts one interval from now rather than at once.
		p.seeded.Store(n)
		p.local.Adjust(ctx, sl, 1, 0)
	}
	d, _ := p.local.Admit(ctx, sl, cost, ahead)
	d.Found = f
	return d
}

// shareOf returns 1/n of l (at least 1 of a set limit).
func shareOf(l pacing.Limits, n int) pacing.Limits {
	if n <= 1 {
		return l
	}
	div := func(v int) int {
		if v <= 0 {
			return v
		}
		return max(v/n, 1)
	}
	return pacing.Limits{RequestsPerMinute: div(l.RequestsPerMinute), TokensPerMinute: div(l.TokensPerMinute)}
}

func interval(perMinute int) float64 {
	if perMinute <= 0 {
		return 0
	}
	return math.Ceil(float64(time.Minute) / float64(perMinute))
}

// takePending takes the key's pending adjustment at lim for an admission
// to carry, after the flush in progress (so that it reaches Redis first).
// Pending adjustments at other limits are sent first.
func (p *pacer) takePending(ctx context.Context, lim pacing.Limits) (adjustment, error) {
	p.mu.Lock()
	if p.flushing == nil && len(p.pending) == 0 {
		p.mu.Unlock()
		return adjustment{}, nil
	}
	wait := p.flushing
	p.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return adjustment{}, ctx.Err()
		}
	}
	p.mu.Lock()
	var take adjustment
	rest := p.pending[:0]
	for _, a := range p.pending {
		if a.l == lim && take.requests == 0 && take.tokens == 0 {
			take = a
			continue
		}
		rest = append(rest, a)
	}
	p.pending = rest
	p.mu.Unlock()
	if len(rest) > 0 {
		p.flush(ctx) // rare: limits changed between adjustments
	}
	return take, nil
}

// flush sends the key's pending adjustments, one script call each (there
// is normally one), after any flush in progress.
func (p *pacer) flush(ctx context.Context) {
	p.mu.Lock()
	for p.flushing != nil {
		wait := p.flushing
		p.mu.Unlock()
		<-wait
		p.mu.Lock()
	}
	if len(p.pending) == 0 {
		p.mu.Unlock()
		return
	}
	pend := p.pending
	p.pending = nil
	done := make(chan struct{})
	p.flushing = done
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.flushing = nil
		p.mu.Unlock()
		close(done)
	}()
	for _, a := range pend {
		if !p.l.attached.Load() {
			return // lost: local pacing keeps its own account
		}
		s, ns := p.l.timeArgs()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.l.opTimeout)
		err := adjustScript.Run(cctx, p.l.rdb, p.keys, s, ns, p.l.idleMS,
			max(a.l.RequestsPerMinute, 0), max(a.l.TokensPerMinute, 0), a.requests, a.tokens).Err()
		cancel()
		if err != nil {
			p.l.detach(err)
			return
		}
	}
}

// Adjust implements [pacing.Pacer]. It does not wait for Redis: the
// adjustment rides on the key's next admission, or is sent within about a
// millisecond if none comes. It never fails.
func (p *pacer) Adjust(ctx context.Context, lim pacing.Limits, requests, tokens int) error {
	if requests == 0 && tokens == 0 {
		return nil
	}
	if !p.useRedis() {
		return p.local.Adjust(ctx, shareOf(lim.Min(p.found()), p.l.share()), requests, tokens)
	}
	p.mu.Lock()
	first := len(p.pending) == 0
	merged := false
	for i := range p.pending {
		if p.pending[i].l == lim {
			p.pending[i].requests += requests
			p.pending[i].tokens += tokens
			merged = true
			break
		}
	}
	if !merged {
		p.pending = append(p.pending, adjustment{l: lim, requests: requests, tokens: tokens})
	}
	p.mu.Unlock()
	if first {
		p.l.markDirty(p)
	}
	return nil
}

// Cool implements [pacing.Pacer]. The cooldown is kept locally too, so
// that it holds if Redis is lost. It never fails.
func (p *pacer) Cool(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	p.local.Cool(ctx, d)
	if !p.l.attached.Load() {
		return nil
	}
	s, ns := p.l.timeArgs()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.l.opTimeout)
	defer cancel()
	if err := coolScript.Run(cctx, p.l.rdb, p.keys, s, ns, p.l.idleMS, d.Nanoseconds()).Err(); err != nil {
		p.l.detach(err)
	}
	return nil
}

// SetFound implements [pacing.Pacer]. The found limits are kept locally
// too. It never fails.
func (p *pacer) SetFound(ctx context.Context, found pacing.Limits) error {
	rpm, tpm := max(found.RequestsPerMinute, 0), max(found.TokensPerMinute, 0)
	p.foundRPM.Store(int64(rpm))
	p.foundTPM.Store(int64(tpm))
	if !p.l.attached.Load() {
		return nil
	}
	s, ns := p.l.timeArgs()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.l.opTimeout)
	defer cancel()
	if err := foundScript.Run(cctx, p.l.rdb, p.keys, s, ns, p.l.idleMS, rpm, tpm).Err(); err != nil {
		p.l.detach(err)
	}
	return nil
}
