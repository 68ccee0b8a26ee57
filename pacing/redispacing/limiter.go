package redispacing

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/deluge-go/deluge/pacing"
)

// Defaults of the options.
const (
	DefaultPrefix    = "deluge:"
	DefaultOpTimeout = 500 * time.Millisecond
	DefaultHeartbeat = time.Second
	DefaultIdleTTL   = 10 * time.Minute
)

// flushDelay is how long an adjustment may wait for an admission of its
// key to carry it before it is sent on its own.
const flushDelay = time.Millisecond

// retryWait is the wait an Admit answers when its context ended.
const retryWait = 100 * time.Millisecond

// ErrUnreachable is wrapped by the error [New] returns when Redis does not
// answer.
var ErrUnreachable = errors.New("redispacing: Redis is unreachable")

// Client is what the limiter needs of a go-redis client: a *redis.Client,
// *redis.ClusterClient or *redis.Ring (any redis.UniversalClient) will do.
type Client interface {
	redis.Scripter
}

// An Option configures a [Limiter].
type Option func(*Limiter)

// WithPrefix namespaces the limiter's Redis keys (default [DefaultPrefix]):
// the state of quota key K is the hash prefix+"pace:"+K, the live workers
// the sorted set prefix+"workers". Processes pace a quota together when
// they use the same Redis database and prefix.
func WithPrefix(p string) Option {
	return func(l *Limiter) { l.prefix = p }
}

// WithClock makes the limiter read time from now, sent to Redis with each
// call, instead of Redis's own clock (the TIME command, read inside each
// script). It is for tests on a fake clock: processes on hosts whose clocks
// disagree must leave it out, so that they all read Redis's clock.
// Readings must not go backwards.
func WithClock(now func() time.Time) Option {
	return func(l *Limiter) { l.clock = now }
}

// WithLogger sends the limiter's warnings (Redis lost, Redis back) to lg
// instead of slog.Default().
func WithLogger(lg *slog.Logger) Option {
	return func(l *Limiter) { l.log = lg }
}

// WithWorkers says how many processes are expected to share the quotas
// (default 1): until the heartbeat set has told how many are alive (for
// three heartbeats after New, while workers that started together
// register), a limiter that lost Redis paces each quota locally at no
// more than 1/n of its limits.
func WithWorkers(n int) Option {
	return func(l *Limiter) { l.expected = max(n, 1) }
}

// WithOpTimeout bounds each call to Redis (default [DefaultOpTimeout]): a
// call that takes longer counts as Redis lost. The client must honour
// context deadlines (redis.Options.ContextTimeoutEnabled) or have read and
// write timeouts no longer than this.
func WithOpTimeout(d time.Duration) Option {
	return func(l *Limiter) {
		if d > 0 {
			l.opTimeout = d
		}
	}
}

// WithHeartbeat sets how often the limiter tells Redis it is alive and
// counts the live workers (default [DefaultHeartbeat]); a worker silent
// for three heartbeats is no longer counted. While Redis is lost, it is
// also how often the limiter tries to reach it again.
func WithHeartbeat(d time.Duration) Option {
	return func(l *Limiter) {
		if d > 0 {
			l.heartbeat = d
		}
	}
}

// WithIdleTTL sets how long the state of a quota key outlives its last
// use (default [DefaultIdleTTL]): reservations and cooldowns are kept at
// least until they end, and then for d.
func WithIdleTTL(d time.Duration) Option {
	return func(l *Limiter) {
		if d > 0 {
			l.idleTTL = d
		}
	}
}

// WithOptional lets [New] succeed when Redis does not answer: the limiter
// then starts pacing locally, at this worker's share, and attaches to
// Redis when it answers.
func WithOptional() Option {
	return func(l *Limiter) { l.optional = true }
}

// Limiter is a [pacing.Limiter] whose state lives in Redis, so that any
// number of processes, on any number of hosts, pace each quota together.
// See the package documentation. Close it when done.
type Limiter struct {
	rdb       Client
	prefix    string
	clock     func() time.Time
	log       *slog.Logger
	expected  int
	opTimeout time.Duration
	heartbeat time.Duration
	idleTTL   time.Duration
	optional  bool

	started    time.Time
	member     string // this worker in the heartbeat set
	workersKey string
	idleMS     string

	// local paces while Redis is lost.
	local *pacing.Local

	attached atomic.Bool
	warned   atomic.Bool
	// workers is the live worker count the heartbeat last read, 0 before.
	workers  atomic.Int64
	detaches atomic.Int64
	reattach atomic.Int64
	// reattachedAt is when Redis answered again (Unix ns of the limiter's
	// clock): for three heartbeats after it, admissions through Redis are
	// also paced locally at the share, while other workers may still be
	// pacing locally.
	reattachedAt atomic.Int64

	mu   sync.Mutex
	keys map[string]*pacer

	dirtyMu sync.Mutex
	dirty   []*pacer
	flushCh chan struct{}

	stop      chan struct{}
	loops     sync.WaitGroup
	closeOnce sync.Once
}

var _ pacing.Limiter = (*Limiter)(nil)

// New returns a limiter on the Redis that rdb talks to. It checks that
// Redis answers (with a first heartbeat) and fails, wrapping
// [ErrUnreachable], when it does not, unless [WithOptional] is given. ctx
// bounds that check. The limiter does not close rdb.
func New(ctx context.Context, rdb Client, opts ...Option) (*Limiter, error) {
	if rdb == nil {
		return nil, errors.New("redispacing: New(nil): pass a go-redis client")
	}
	l := &Limiter{
		rdb:       rdb,
		prefix:    DefaultPrefix,
		log:       nil,
		expected:  1,
		opTimeout: DefaultOpTimeout,
		heartbeat: DefaultHeartbeat,
		idleTTL:   DefaultIdleTTL,
		keys:      map[string]*pacer{},
		flushCh:   make(chan struct{}, 1),
		stop:      make(chan struct{}),
	}
	for _, o := range opts {
		if o != nil {
			o(l)
		}
	}
	l.workersKey = l.prefix + "workers"
	l.idleMS = strconv.FormatInt(l.idleTTL.Milliseconds(), 10)
	l.member = workerID()
	l.started = time.Now()
	var lo []pacing.LocalOption
	if l.clock != nil {
		lo = append(lo, pacing.WithClock(l.clock))
	}
	l.local = pacing.NewLocal(lo...)

	if err := l.beat(ctx); err != nil {
		if ctx.Err() != nil && !l.optional {
			return nil, fmt.Errorf("%w: %w", ErrUnreachable, ctx.Err())
		}
		if !l.optional {
			return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
		}
		l.warned.Store(true)
		l.detaches.Add(1)
		l.logger().Warn("redispacing: Redis is unreachable at start; pacing locally at this worker's share until it answers",
			slog.Int("workers", l.share()), slog.String("error", err.Error()))
	} else {
		l.attached.Store(true)
	}
	l.loops.Add(2)
	go l.heartbeatLoop()
	go l.flushLoop()
	return l, nil
}

// workerID names this process in the heartbeat set: host, pid and a
// random suffix (two limiters in one process count as two workers).
func workerID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), rand.Text()[:8])
}

func (l *Limiter) logger() *slog.Logger {
	if l.log != nil {
		return l.log
	}
	return slog.Default()
}

// Pacer implements [pacing.Limiter]. It does no I/O.
func (l *Limiter) Pacer(key string) pacing.Pacer {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.keys[key]
	if !ok {
		p = &pacer{l: l, keys: []string{l.prefix + "pace:" + key}, local: l.local.Pacer(key)}
		l.keys[key] = p
	}
	return p
}

// Attached reports whether the limiter paces through Redis now (false
// while Redis is lost).
func (l *Limiter) Attached() bool { return l.attached.Load() }

// Workers returns the number of workers this one shares the quotas with
// when it paces locally (itself included): the live workers the heartbeat
// set last counted, and no fewer than [WithWorkers] in the first three
// heartbeats or right after Redis came back.
func (l *Limiter) Workers() int { return l.share() }

// Stats counts a limiter's losses of Redis.
type Stats struct {
	// Detached counts the times Redis was lost (at start included), and
	// Reattached the times it came back.
	Detached, Reattached int64
	// Workers is [Limiter.Workers].
	Workers int
	// Attached is [Limiter.Attached].
	Attached bool
}

// Stats returns the limiter's counters.
func (l *Limiter) Stats() Stats {
	return Stats{Detached: l.detaches.Load(), Reattached: l.reattach.Load(), Workers: l.share(), Attached: l.attached.Load()}
}

// share returns the number of workers the quota is shared by, for local
// pacing: the live count, once the heartbeat set has had time to hear
// from every worker that started with this one (three heartbeats);
// before that, no fewer than the expected count.
func (l *Limiter) share() int {
	n := int(l.workers.Load())
	if time.Since(l.started) < 3*l.heartbeat {
		return max(n, l.expected)
	}
	if n > 0 {
		return n
	}
	return l.expected
}

// Close sends the adjustments still pending, takes this worker out of the
// heartbeat set and stops the limiter's goroutines. Pacers keep working,
// locally, after Close. It does not close the Redis client.
func (l *Limiter) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.stop)
		l.loops.Wait()
		l.flushAll()
		if l.attached.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), l.opTimeout)
			err = heartbeatScript.Run(ctx, l.rdb, []string{l.workersKey}, l.member, 0, 0, "leave").Err()
			cancel()
		}
		l.attached.Store(false)
	})
	return err
}

// detach switches to local pacing after a failed call to Redis.
func (l *Limiter) detach(err error) {
	if !l.attached.CompareAndSwap(true, false) {
		return
	}
	l.detaches.Add(1)
	level := slog.LevelInfo
	if l.warned.CompareAndSwap(false, true) {
		level = slog.LevelWarn
	}
	l.logger().LogAttrs(context.Background(), level,
		"redispacing: lost Redis; pacing locally at this worker's share until it answers again",
		slog.Int("workers", l.share()), slog.String("error", err.Error()))
}

// beat sends one heartbeat and reads the live worker count.
func (l *Limiter) beat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.opTimeout)
	defer cancel()
	stale := 3 * l.heartbeat.Milliseconds()
	n, err := heartbeatScript.Run(ctx, l.rdb, []string{l.workersKey}, l.member, stale, 2*stale, "").Int64()
	if err != nil {
		return err
	}
	n = max(n, 1)
	if !l.attached.Load() || l.transition() {
		// A Redis that was lost may have come back empty: until every
		// worker has beaten again, the count before the loss stands.
		n = max(n, l.workers.Load())
	}
	l.workers.Store(n)
	return nil
}

// heartbeatLoop beats every heartbeat interval; while Redis is lost, it is
// the probe that attaches again.
func (l *Limiter) heartbeatLoop() {
	defer l.loops.Done()
	tick := time.NewTicker(l.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		err := l.beat(context.Background())
		switch {
		case err != nil:
			l.detach(err)
		case !l.attached.Load():
			l.reattachedAt.Store(l.now().UnixNano())
			l.attached.Store(true)
			l.reattach.Add(1)
			l.logger().Info("redispacing: Redis answers again; pacing through it", slog.Int("workers", l.share()))
		}
	}
}

// flushLoop sends pending adjustments that no admission carried.
func (l *Limiter) flushLoop() {
	defer l.loops.Done()
	for {
		select {
		case <-l.stop:
			return
		case <-l.flushCh:
		}
		time.Sleep(flushDelay)
		l.flush()
	}
}

// Flush sends the adjustments still pending (see [pacing.Pacer.Adjust]:
// they ride on the next admission of their key, or go on their own within
// about a millisecond) and returns once Redis has them, or ctx ends.
func (l *Limiter) Flush(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		l.flushAll()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flushAll sends the pending adjustments of every key, after the flushes
// in progress.
func (l *Limiter) flushAll() {
	l.mu.Lock()
	all := make([]*pacer, 0, len(l.keys))
	for _, p := range l.keys {
		all = append(all, p)
	}
	l.mu.Unlock()
	for _, p := range all {
		p.flush(context.Background())
	}
}

// flush sends the pending adjustments of the keys marked dirty.
func (l *Limiter) flush() {
	l.dirtyMu.Lock()
	dirty := l.dirty
	l.dirty = nil
	l.dirtyMu.Unlock()
	for _, p := range dirty {
		p.flush(context.Background())
	}
}

func (l *Limiter) markDirty(p *pacer) {
	l.dirtyMu.Lock()
	l.dirty = append(l.dirty, p)
	l.dirtyMu.Unlock()
	select {
	case l.flushCh <- struct{}{}:
	default:
	}
}

// timeArgs returns the first two script arguments: the clock's time in
// seconds and nanoseconds, or "" for Redis's TIME.
func (l *Limiter) timeArgs() (any, any) {
	if l.clock == nil {
		return "", ""
	}
	now := l.clock()
	return now.Unix(), now.Nanosecond()
}

func (l *Limiter) now() time.Time {
	if l.clock != nil {
		return l.clock()
	}
	return time.Now()
}
