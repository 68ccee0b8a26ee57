package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/deluge-go/deluge/cache/rediscache"
	"github.com/deluge-go/deluge/internal/redisconn"
	"github.com/deluge-go/deluge/pacing/redispacing"
)

// Scaling a run out over several processes: --shard takes a share of the
// input, --redis shares quotas, cooldowns and the cache (docs/scale-out.md).

// redisEnv is the environment variable --redis defaults to, so that the
// URL (and its password) need not be on the command line.
const redisEnv = "DELUGE_REDIS_URL"

// redisStartTimeout bounds the check that Redis answers at start.
const redisStartTimeout = 5 * time.Second

// scaleFlags are the flags of "deluge run" that scale it out.
type scaleFlags struct {
	redis         string
	redisOptional bool
	shard         string
}

const scaleHelp = `
Many workers, one quota (docs/scale-out.md):

  --shard K/N takes the input lines whose ID falls in shard K of N: the
  FNV-1a 64-bit hash of the ID's bytes, modulo N, equals K-1. Every
  worker reads the same input and writes its own output; together the N
  shards take each line exactly once, and each shard resumes on its own.
  --redis URL shares the quotas (--rpm and --tpm are the deployment's
  whole quota, not a share), the pauses after a 429, and the response
  cache (instead of the cache file) with every worker using the same
  Redis. If Redis is lost mid-run, each worker paces on its own at its
  share of the quota, and goes back to Redis when it answers.`

func addScaleFlags(cmd *cobra.Command, s *scaleFlags) {
	fl := cmd.Flags()
	fl.StringVar(&s.shard, "shard", "", "take only shard K of N of the input, by a hash of each ID (e.g. 2/4; see above)")
	fl.StringVar(&s.redis, "redis", "", "share quotas, 429 pauses and the cache with other workers through Redis: "+redisconn.Usage+" (default $"+redisEnv+")")
	fl.BoolVar(&s.redisOptional, "redis-optional", false, "start even if Redis does not answer: pace locally at this worker's share until it does")
	cmd.MarkFlagsMutuallyExclusive("cache", "redis")
	cmd.Long += "\n" + scaleHelp
}

// scaleConfig is the validated form of scaleFlags.
type scaleConfig struct {
	shard    shard
	redisURL string
	optional bool
}

// setup validates the flags; getenv supplies DELUGE_REDIS_URL.
func (c *scaleConfig) setup(f *scaleFlags, getenv func(string) string, cacheGiven bool) error {
	if f.shard != "" {
		s, err := parseShard(f.shard)
		if err != nil {
			return usageError(err)
		}
		c.shard = s
	}
	c.redisURL, c.optional = f.redis, f.redisOptional
	if c.redisURL == "" && !cacheGiven {
		c.redisURL = strings.TrimSpace(getenv(redisEnv))
	}
	if c.redisURL == "" {
		if f.redisOptional {
			return usageErrorf("--redis-optional needs --redis URL (or $%s)", redisEnv)
		}
		return nil
	}
	if _, err := redisconn.Options(c.redisURL); err != nil {
		return usageErrorf("--redis: %v", err)
	}
	return nil
}

// shard is one of n shards of the input; the zero value takes everything.
type shard struct{ k, n int }

func parseShard(s string) (shard, error) {
	ks, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	k, err1 := strconv.Atoi(strings.TrimSpace(ks))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if !ok || err1 != nil || err2 != nil {
		return shard{}, fmt.Errorf("--shard %q: want K/N, e.g. 2/4 for the second of four shards", s)
	}
	if n < 1 || k < 1 || k > n {
		return shard{}, fmt.Errorf("--shard %q: want 1 ≤ K ≤ N (shards are numbered from 1; Kubernetes' JOB_COMPLETION_INDEX is K-1)", s)
	}
	return shard{k: k, n: n}, nil
}

// all reports whether the shard takes every line.
func (s shard) all() bool { return s.n <= 1 }

// owns reports whether the line with this ID is the shard's.
func (s shard) owns(id string) bool {
	if s.all() {
		return true
	}
	return shardOf(id, s.n) == s.k-1
}

func (s shard) String() string {
	if s.all() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.k, s.n)
}

// shardOf returns the shard (0 to n-1) of an ID: the FNV-1a 64-bit hash
// of its bytes modulo n. It is part of the CLI's contract: workers of
// different versions must agree on it.
func shardOf(id string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(id))
	return int(h.Sum64() % uint64(n))
}

// sharedState is what a run shares with other workers through Redis.
type sharedState struct {
	rdb     *redis.Client
	limiter *redispacing.Limiter
	cache   *rediscache.Store // nil with --no-cache
}

// openShared connects to Redis for a run with --redis: a limiter and,
// unless --no-cache, a cache. It returns nil without --redis. Redis not
// answering is a usage error unless --redis-optional.
func openShared(a *app, cfg *runConfig) (*sharedState, error) {
	sc := cfg.scale
	if sc.redisURL == "" {
		return nil, nil
	}
	u := a.ui
	redisconn.RouteLogs(u.logger)
	where := redisconn.Redact(sc.redisURL)
	ctx, cancel := context.WithTimeout(context.Background(), redisStartTimeout)
	defer cancel()
	rdb, err := redisconn.Open(ctx, sc.redisURL)
	unreachable := errors.Is(err, redisconn.ErrUnreachable)
	switch {
	case err != nil && !unreachable:
		return nil, usageErrorf("--redis: %v", err)
	case unreachable && !sc.optional:
		rdb.Close()
		return nil, usageErrorf("--redis: %v\n(start Redis, fix the URL, or pass --redis-optional to run without it until it answers)", err)
	case unreachable:
		u.warnf("--redis: %v: pacing locally at this worker's share of the quota, without the shared cache, until it answers", err)
	}
	workers := 1
	if !sc.shard.all() {
		workers = sc.shard.n
	}
	lim, err := redispacing.New(ctx, rdb, redispacing.WithOptional(), redispacing.WithWorkers(workers),
		redispacing.WithLogger(u.logger))
	if err != nil {
		rdb.Close()
		return nil, usageErrorf("--redis %s: %v", where, err)
	}
	sh := &sharedState{rdb: rdb, limiter: lim}
	if !cfg.noCache {
		sh.cache, err = rediscache.New(rdb, rediscache.WithLogger(u.logger),
			rediscache.WithMaxEntries(cfg.cacheMax), rediscache.WithTTL(cfg.cacheTTL))
		if err != nil {
			sh.close()
			return nil, usageErrorf("--redis: %v", err)
		}
	}
	what := "quotas, 429 pauses and the cache"
	if sh.cache == nil {
		what = "quotas and 429 pauses"
	}
	shardNote := ""
	if !sc.shard.all() {
		shardNote = " (shard " + sc.shard.String() + ")"
	}
	if !unreachable {
		u.infof("sharing %s through Redis at %s%s", what, where, shardNote)
	}
	return sh, nil
}

// close stops the limiter (taking this worker out of the live set) and
// closes the connection.
func (s *sharedState) close() error {
	if s == nil {
		return nil
	}
	err := s.limiter.Close()
	if cerr := s.rdb.Close(); err == nil {
		err = cerr
	}
	return err
}
