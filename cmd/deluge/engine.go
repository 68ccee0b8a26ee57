package main

import (
	"context"
	"iter"
	"sync"
	"time"

	"github.com/deluge-go/deluge/cache"
	"github.com/deluge-go/deluge/llm"
)

// engineFor builds the engine of a run.
func (a *app) engineFor(cfg *runConfig) (engine, error) {
	if a.newEngine != nil {
		return a.newEngine(cfg)
	}
	return newClientEngine(a, cfg)
}

// clientOptions turns the run's flags into llm options. Limits the user
// did not give keep the engine's defaults.
func clientOptions(a *app, cfg *runConfig) []llm.ClientOption {
	opts := []llm.ClientOption{
		llm.WithMaxRequestsPerMinute(cfg.rpm),
		llm.WithMaxTokensPerMinute(cfg.tpm),
		llm.WithMaxConcurrency(cfg.concurrency),
		llm.WithMaxAttempts(cfg.maxAttempts),
		llm.WithRequestTimeout(cfg.timeout),
		llm.WithLogger(a.ui.logger),
	}
	if a.otel != nil {
		opts = append(opts, llm.WithObserver(a.otel.observer))
	}
	if cfg.set("max-tokens") {
		opts = append(opts, llm.WithMaxNewTokens(cfg.maxTokens))
	}
	if cfg.set("temperature") {
		opts = append(opts, llm.WithTemperature(cfg.temperature))
	}
	if cfg.jsonMode {
		opts = append(opts, llm.WithJSONMode())
	}
	if cfg.provider != "" {
		opts = append(opts, llm.WithProvider(cfg.provider))
	}
	if cfg.weights != nil {
		opts = append(opts, llm.WithModelWeights(cfg.weights))
	}
	return opts
}

// cacheFlags are the cache flags of run and embed: --cache, --no-cache,
// --cache-max-entries, --cache-ttl.
type cacheFlags struct {
	cachePath string
	noCache   bool
	cacheMax  int
	cacheTTL  time.Duration
}

// openCache opens the response cache of a run: none with --no-cache, the
// file given with --cache (an error if it cannot be opened), else the
// default file (a warning, and no cache, if it cannot be opened: a
// read-only home must not stop a run).
func openCache(a *app, cfg cacheFlags) (llm.Cache, func() error, error) {
	none := func() error { return nil }
	if cfg.noCache {
		return nil, none, nil
	}
	path := cfg.cachePath
	explicit := path != ""
	if !explicit {
		p, err := cache.DefaultPath()
		if err != nil {
			a.ui.warnf("response cache disabled: %v (pass --cache PATH to choose a file)", err)
			return nil, none, nil
		}
		path = p
	}
	// WithWriteBuffer(0): each reply is committed to the file before the
	// engine hands it over, so before its result line is written. A kill
	// then never loses a reply whose line is written, and loses from the
	// cache only those killed between their arrival and their commit
	// (concurrent replies share a commit; WAL commits need no fsync).
	store, err := cache.OpenSQLite(path, cache.WithLogger(a.ui.logger), cache.WithWriteBuffer(0),
		cache.WithMaxEntries(cfg.cacheMax), cache.WithTTL(cfg.cacheTTL))
	if err != nil {
		if explicit {
			return nil, nil, usageErrorf("--cache %s: %v", path, err)
		}
		a.ui.warnf("response cache disabled: %v (pass --cache PATH or --no-cache)", err)
		return nil, none, nil
	}
	return store, store.Close, nil
}

// clientEngine runs jobs on an llm.Client.
type clientEngine struct {
	client     *llm.Client
	closeCache func() error

	mu       sync.Mutex
	inFlight map[int]*job // by the index given to ProcessJobs
}

// newClientEngine builds the llm.Client of a run, with its cache.
func newClientEngine(a *app, cfg *runConfig) (engine, error) {
	opts := clientOptions(a, cfg)
	var (
		c          llm.Cache
		closeCache func() error
	)
	sh, err := openShared(a, cfg)
	switch {
	case err != nil:
		return nil, err
	case sh != nil:
		// Quotas, pauses and the cache shared through Redis.
		opts = append(opts, llm.WithLimiter(sh.limiter))
		if sh.cache != nil {
			c = sh.cache
		}
		closeCache = sh.close
	default:
		if c, closeCache, err = openCache(a, cfg.cacheFlags); err != nil {
			return nil, err
		}
	}
	if c != nil {
		opts = append(opts, llm.WithCache(c))
	}
	opts = append(opts, cfg.extraOptions...)
	client, err := llm.NewClient(cfg.model, opts...)
	if err != nil {
		closeCache()
		return nil, usageError(err)
	}
	return &clientEngine{client: client, closeCache: closeCache, inFlight: map[int]*job{}}, nil
}

func (e *clientEngine) process(ctx context.Context, drain <-chan struct{}, jobs iter.Seq[*job]) iter.Seq[outcome] {
	indexed := func(yield func(int, llm.Job) bool) {
		i := 0
		for j := range jobs {
			e.mu.Lock()
			e.inFlight[i] = j
			e.mu.Unlock()
			if !yield(i, llm.Job{Conversation: j.prompt.Conv, Model: j.model, Options: j.opts}) {
				return
			}
			i++
		}
	}
	return func(yield func(outcome) bool) {
		for i, r := range e.client.ProcessJobs(ctx, indexed, llm.WithDrain(drain)) {
			e.mu.Lock()
			j := e.inFlight[i]
			delete(e.inFlight, i)
			e.mu.Unlock()
			if j == nil {
				continue // cannot happen: every result answers a job
			}
			if !yield(outcome{job: j, resp: r.Response, err: r.Err, attempts: r.Attempts, latency: r.Latency}) {
				return
			}
		}
	}
}

func (e *clientEngine) stats() engineStats {
	st := e.client.Stats()
	return engineStats{Retries: int(st.Retries), RateLimitHits: int(st.RateLimited), SavedCost: st.SavedCost,
		Paces: loweredPaces(st.Pace), Routed: st.ByRoutedModel}
}

func (e *clientEngine) close() error {
	err := e.client.Close()
	if cerr := e.closeCache(); err == nil {
		err = cerr
	}
	return err
}
