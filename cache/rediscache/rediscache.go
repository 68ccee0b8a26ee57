package rediscache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/deluge-go/deluge/cache"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// Defaults of the options.
const (
	DefaultPrefix    = "deluge:"
	DefaultMaxBytes  = 256 << 20
	DefaultOpTimeout = time.Second
)

// downFor is how long the store stops calling Redis after a failure: a
// lost Redis costs each lookup nothing meanwhile.
const downFor = time.Second

// ErrUnavailable is wrapped by the errors of Get and Put while Redis is
// unreachable (they return at once, without calling it, for a second after
// each failure).
var ErrUnavailable = errors.New("rediscache: Redis is unavailable")

// Client is what the store needs of a go-redis client (any
// redis.UniversalClient will do).
type Client interface {
	redis.Scripter
	HGet(ctx context.Context, key, field string) *redis.StringCmd
	HLen(ctx context.Context, key string) *redis.IntCmd
	Del(ctx context.Context, keys ...string) *redis.IntCmd
}

// An Option configures a [Store].
type Option func(*Store)

// WithPrefix namespaces the store's keys (default [DefaultPrefix]; see the
// package documentation). Processes share a cache when they use the same
// Redis database and prefix.
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// WithTTL makes entries older than d misses (counted in Stats.Expired) and
// deletes them, a hundred at a time, on later Puts; the store's keys also
// expire d after the last Put. Zero or negative: entries never expire (the
// default).
func WithTTL(d time.Duration) Option { return func(s *Store) { s.ttl = max(d, 0) } }

// WithMaxEntries bounds the store to n responses: a Put beyond it deletes
// the oldest (by the time of their Put), in the same atomic step. Zero or
// negative: no bound on the count (the default).
func WithMaxEntries(n int) Option { return func(s *Store) { s.maxEntries = int64(max(n, 0)) } }

// WithMaxBytes bounds the size of the stored responses (their encoded
// form plus their keys) to n bytes, deleting the oldest as WithMaxEntries
// does (default [DefaultMaxBytes]). Negative: no bound. A response larger
// than the bound alone is not stored.
func WithMaxBytes(n int64) Option {
	return func(s *Store) {
		if n != 0 {
			s.maxBytes = max(n, 0)
		}
	}
}

// WithClock replaces time.Now as the store's clock (the age of entries),
// for tests of TTL expiry.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// WithLogger sends the store's warnings (undecodable entries) to l
// instead of slog.Default().
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// WithOpTimeout bounds each call to Redis (default [DefaultOpTimeout]).
func WithOpTimeout(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.opTimeout = d
		}
	}
}

// Store is an [llm.Cache] on Redis, safe for concurrent use by many
// goroutines and processes. See the package documentation.
type Store struct {
	rdb        Client
	prefix     string
	ttl        time.Duration
	maxEntries int64
	maxBytes   int64
	now        func() time.Time
	log        *slog.Logger
	opTimeout  time.Duration

	keys []string // entries (hash), times (sorted set), bytes (counter)

	downUntil atomic.Int64 // Unix ns

	hits, misses, puts, expired, corrupt, writeErrors, evictions atomic.Int64
	savedNano                                                    atomic.Int64 // SavedCost in nano-USD
}

var _ llm.Cache = (*Store)(nil)

// New returns a store on the Redis that rdb talks to. It does no I/O (the
// caller checks that Redis answers) and does not close rdb.
func New(rdb Client, opts ...Option) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("rediscache: New(nil): pass a go-redis client")
	}
	s := &Store{rdb: rdb, prefix: DefaultPrefix, maxBytes: DefaultMaxBytes, now: time.Now, opTimeout: DefaultOpTimeout}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	// One hash tag for the three keys: they live in one slot of a Redis
	// Cluster, so that the script that bounds them may touch them all.
	base := s.prefix + "{cache}:"
	s.keys = []string{base + "entries", base + "times", base + "bytes"}
	return s, nil
}

func (s *Store) logger() *slog.Logger {
	if s.log != nil {
		return s.log
	}
	return slog.Default()
}

// Keys returns the store's three Redis keys: the hash of entries, the
// sorted set of their Put times and the byte counter.
func (s *Store) Keys() []string { return append([]string(nil), s.keys...) }

// value format: "d1:" + Put time (Unix ms) + ":" + the JSON of the
// llm.Response (without its Header, as the SQLite store encodes it).
const valuePrefix = "d1:"

// available returns ErrUnavailable while Redis is taken to be down.
func (s *Store) available() error {
	if until := s.downUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		return ErrUnavailable
	}
	return nil
}

// failed records a failure of Redis and returns the error to report.
func (s *Store) failed(op, key string, err error) error {
	s.downUntil.Store(time.Now().Add(downFor).UnixNano())
	return fmt.Errorf("rediscache: %s %s: %w: %w", op, shortKey(key), ErrUnavailable, err)
}

// Get returns the response stored under key. A hit has Cached set, Cost 0
// and no Header; an entry older than the TTL, or one that cannot be
// decoded (logged), is a miss. Errors come from Redis or ctx.
func (s *Store) Get(ctx context.Context, key string) (*llm.Response, bool, error) {
	if err := s.available(); err != nil {
		return nil, false, err
	}
	cctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	v, err := s.rdb.HGet(cctx, s.keys[0], key).Result()
	cancel()
	if errors.Is(err, redis.Nil) {
		s.misses.Add(1)
		return nil, false, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		return nil, false, s.failed("get", key, err)
	}
	created, body, ok := parseValue(v)
	if !ok {
		s.corruptEntry(key, errors.New("not a deluge cache entry"))
		return nil, false, nil
	}
	if s.ttl > 0 && s.now().Sub(time.UnixMilli(created)) > s.ttl {
		s.expired.Add(1)
		s.misses.Add(1)
		return nil, false, nil
	}
	resp := new(llm.Response)
	if err := json.Unmarshal([]byte(body), resp); err != nil {
		s.corruptEntry(key, err)
		return nil, false, nil
	}
	s.hits.Add(1)
	s.savedNano.Add(int64(resp.Cost * 1e9))
	resp.Cached = true
	resp.Cost = 0
	resp.Header = nil
	return resp, true, nil
}

func (s *Store) corruptEntry(key string, err error) {
	s.corrupt.Add(1)
	s.misses.Add(1)
	s.logger().Warn("rediscache: ignoring an entry that cannot be decoded; it will be replaced when the request is answered again",
		"key", key, "err", err)
}

func parseValue(v string) (created int64, body string, ok bool) {
	rest, ok := strings.CutPrefix(v, valuePrefix)
	if !ok {
		return 0, "", false
	}
	ts, body, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, "", false
	}
	created, err := strconv.ParseInt(ts, 10, 64)
	return created, body, err == nil
}

// putScript stores one entry and keeps the bounds, atomically.
//
//	KEYS: entries (hash), times (sorted set), bytes (counter)
//	ARGV: key, value, now (ms), ttl (ms, 0: none), max entries, max bytes
//	      (0: none)
//
// It returns {evicted, expired}, or {-1, 0} when the entry alone is larger
// than the byte bound (it is not stored).
var putScript = redis.NewScript(`
local fp, val = ARGV[1], ARGV[2]
local now, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
local maxn, maxb = tonumber(ARGV[5]), tonumber(ARGV[6])
local size = #fp + #val
if maxb > 0 and size > maxb then return {-1, 0} end
local function remove(f)
  local n = redis.call('HSTRLEN', KEYS[1], f)
  if redis.call('HDEL', KEYS[1], f) == 1 then
    redis.call('DECRBY', KEYS[3], n + #f)
  end
  redis.call('ZREM', KEYS[2], f)
end
remove(fp)
redis.call('HSET', KEYS[1], fp, val)
redis.call('ZADD', KEYS[2], now, fp)
local bytes = redis.call('INCRBY', KEYS[3], size)
local expired, evicted = 0, 0
if ttl > 0 then
  local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - ttl), 'LIMIT', 0, 100)
  for _, f in ipairs(dead) do
    remove(f)
    expired = expired + 1
  end
end
while true do
  local over = (maxn > 0 and redis.call('ZCARD', KEYS[2]) > maxn)
  if not over and maxb > 0 then over = tonumber(redis.call('GET', KEYS[3])) > maxb end
  if not over then break end
  -- The oldest entry but the one just put (a host whose clock is behind
  -- may put an entry older than the rest).
  local two = redis.call('ZRANGE', KEYS[2], 0, 1)
  local victim = two[1]
  if victim == fp then victim = two[2] end
  if not victim then break end
  remove(victim)
  evicted = evicted + 1
end
if ttl > 0 then
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
return {evicted, expired}
`)

// Put stores resp under key, replacing any response stored there, and
// deletes the oldest entries beyond the bounds, in one atomic script call.
// The response is encoded (without its Header) before Put returns, so
// later changes to resp do not affect the store.
func (s *Store) Put(ctx context.Context, key string, resp *llm.Response) error {
	if key == "" {
		return errors.New("rediscache: Put with an empty key: use Request.Fingerprint()")
	}
	if resp == nil {
		return errors.New("rediscache: Put with a nil response")
	}
	if err := s.available(); err != nil {
		s.writeErrors.Add(1)
		return err
	}
	c := *resp
	c.Header = nil // also excluded by its json:"-" tag
	c.Cached = false
	if c.Message.Role == "" {
		c.Message.Role = conversation.RoleAssistant
	}
	body, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("rediscache: encode the response for %s: %w", shortKey(key), err)
	}
	now := s.now().UnixMilli()
	val := valuePrefix + strconv.FormatInt(now, 10) + ":" + string(body)
	maxBytes := s.maxBytes
	cctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	res, err := putScript.Run(cctx, s.rdb, s.keys, key, val, now, s.ttl.Milliseconds(), s.maxEntries, maxBytes).Int64Slice()
	cancel()
	if err != nil {
		s.writeErrors.Add(1)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.failed("put", key, err)
	}
	if len(res) == 2 && res[0] < 0 {
		s.writeErrors.Add(1)
		return fmt.Errorf("rediscache: the response for %s (%d bytes) is larger than the store's bound of %d bytes: not stored", shortKey(key), len(val), maxBytes)
	}
	s.puts.Add(1)
	if len(res) == 2 {
		s.evictions.Add(res[0])
		s.expired.Add(res[1])
	}
	return nil
}

// Stats returns this store value's counters and the number of responses
// in Redis (from all processes).
func (s *Store) Stats(ctx context.Context) (cache.Stats, error) {
	st := cache.Stats{
		Hits:        s.hits.Load(),
		Misses:      s.misses.Load(),
		Puts:        s.puts.Load(),
		Expired:     s.expired.Load(),
		Corrupt:     s.corrupt.Load(),
		WriteErrors: s.writeErrors.Load(),
		Evictions:   s.evictions.Load(),
		SavedCost:   float64(s.savedNano.Load()) / 1e9,
	}
	cctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	n, err := s.rdb.HLen(cctx, s.keys[0]).Result()
	if err != nil {
		return st, fmt.Errorf("rediscache: count the entries: %w", err)
	}
	st.Entries = n
	return st, nil
}

// Clear deletes every stored response, for all processes. Counters are
// kept.
func (s *Store) Clear(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	if err := s.rdb.Del(cctx, s.keys...).Err(); err != nil {
		return fmt.Errorf("rediscache: clear: %w", err)
	}
	return nil
}

// Close does nothing: Puts are written when they return, and the store
// does not own the Redis client. It is there so that a Store can stand
// where the CLI closes its cache.
func (s *Store) Close() error { return nil }

func shortKey(k string) string {
	if len(k) > 12 {
		return k[:12] + "…"
	}
	return k
}
