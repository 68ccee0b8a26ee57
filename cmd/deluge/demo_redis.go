package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/deluge-go/deluge/examples"
	"github.com/deluge-go/deluge/internal/redisconn"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/registry"
)

// The Redis demo: three workers, each told the deployment's whole quota,
// share it through Redis.
const (
	redisDemoWorkers = 3
	redisDemoRPM     = 3_000 // 50 a second: the 200 prompts take about 4 s
	redisDemoTPM     = 10_000_000
)

// runRedisDemo is "deluge demo --redis URL": one emulator with a quota,
// three workers in this process, each with its own Redis connection and
// limiter (to Redis, three processes), its shard of the example prompts
// and its own results file.
func runRedisDemo(ctx context.Context, a *app, f *demoFlags, output string) error {
	u := a.ui
	if _, err := redisconn.Options(f.redis); err != nil {
		return usageErrorf("--redis: %v", err)
	}
	// Checked once here, so that an unreachable Redis fails the demo
	// before anything starts.
	redisconn.RouteLogs(u.logger)
	cctx, cancel := context.WithTimeout(ctx, redisStartTimeout)
	rdb, err := redisconn.Open(cctx, f.redis)
	cancel()
	if err != nil {
		if rdb != nil {
			rdb.Close()
		}
		return usageErrorf("--redis: %v", err)
	}
	rdb.Close()
	model, err := registry.Lookup(demoModel)
	if err != nil {
		return usageError(err)
	}
	key := rand.Text()
	emu, url, httpClient, stop := startEmulator(a,
		azuretest.WithAPIKeys(key),
		azuretest.WithDeployment(model.Name, ""),
		azuretest.WithLatency(f.latency, f.latency),
		azuretest.WithDefaultRateLimit(redisDemoRPM, redisDemoTPM),
		// Server errors to retry, but no injected 429: every 429 the
		// emulator sends is its quota's.
		azuretest.WithFaults(azuretest.Faults{Rate500: f.failRate / 2, Rate503: f.failRate / 2}),
	)
	defer stop()
	provider, err := azurefoundry.New(azurefoundry.Config{Endpoint: url, APIKey: key, HTTPClient: httpClient, Logger: u.logger})
	if err != nil {
		return fmt.Errorf("starting the demo provider: %w", err)
	}
	defer provider.Close()

	n := countLines(strings.NewReader(string(examples.Prompts)))
	u.infof("deluge demo: %d workers share one quota (%s RPM) of %s on an emulator at %s, through Redis at %s",
		redisDemoWorkers, groupDigits(redisDemoRPM), demoModel, url, redisconn.Redact(f.redis))
	u.infof("  each worker is told the whole quota and takes a third of the %d prompts (--shard k/%d)\n", n, redisDemoWorkers)

	outputs := make([]string, redisDemoWorkers)
	errs := make([]error, redisDemoWorkers)
	sums := make([]string, redisDemoWorkers)
	var wg sync.WaitGroup
	start := time.Now()
	for k := 1; k <= redisDemoWorkers; k++ {
		outputs[k-1] = workerOutput(output, k)
		wa := *a
		wu := *a.ui
		wu.quiet = true // the workers' summaries would interleave: one is printed below
		wa.ui = &wu
		cfg := &runConfig{
			runFlags: runFlags{
				model:       demoModel,
				input:       "examples/prompts.jsonl",
				output:      outputs[k-1],
				rpm:         redisDemoRPM,
				tpm:         redisDemoTPM,
				concurrency: demoConcurrency,
				maxAttempts: demoAttempts,
				timeout:     10 * time.Second,
				maxTokens:   demoMaxTokens,
				cacheFlags:  cacheFlags{noCache: true}, // nothing of the demo is left in your Redis but expiring pacing state
			},
			set:            func(name string) bool { return name == "max-tokens" },
			models:         []registry.Model{model},
			scale:          scaleConfig{shard: shard{k: k, n: redisDemoWorkers}, redisURL: f.redis},
			extraOptions:   []llm.ClientOption{llm.WithProviderInstance(provider)},
			providerGiven:  true,
			inputData:      examples.Prompts,
			truncateOutput: true,
		}
		wg.Go(func() {
			errs[k-1] = runPrompts(ctx, &wa, cfg)
			rs, rerr := countResults(cfg.output)
			sums[k-1] = fmt.Sprintf("worker %d (shard %d/%d): %d results in %s", k, k, redisDemoWorkers, rs, cfg.output)
			if rerr != nil {
				sums[k-1] = fmt.Sprintf("worker %d: %v", k, rerr)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	runErr := errors.Join(errs...)
	if !u.quiet {
		st := emu.Stats()
		fmt.Fprint(u.console, redisDemoExplanation(sums, st, elapsed, n))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return runErr
}

// workerOutput names worker k's results file after the demo's:
// demo-results.jsonl → demo-results-k.jsonl.
func workerOutput(output string, k int) string {
	ext := filepath.Ext(output)
	return fmt.Sprintf("%s-%d%s", strings.TrimSuffix(output, ext), k, ext)
}

// countResults counts the lines of a results file.
func countResults(path string) (int, error) {
	b, err := os.ReadFile(path)
	return bytes.Count(b, []byte("\n")), err
}

func redisDemoExplanation(workers []string, st azuretest.Stats, elapsed time.Duration, prompts int) string {
	var b strings.Builder
	ok := st.ByStatus[200]
	rate := float64(ok) / elapsed.Seconds() * 60
	fmt.Fprintf(&b, "\nWhat just happened\n")
	for _, w := range workers {
		fmt.Fprintf(&b, "  - %s\n", w)
	}
	fmt.Fprintf(&b, `  - Each worker was told the deployment's whole quota, %s requests a minute.
    Alone, each would have sent at that rate: three times the quota together.
    Through Redis they paced it together: the emulator answered %d prompts
    in %s, %s requests a minute between them, and refused %d for its
    quota (429). A 429 seen by one worker would have paused all three.
  - Each worker took the prompts whose ID hashes to its shard; together
    they took each of the %d exactly once. Killed, a worker resumes its own
    shard when rerun with the same -o.

The same with processes, on any number of hosts (docs/scale-out.md):
  deluge run -m azure-gpt-4o-mini -i prompts.jsonl -o results-1.jsonl \
    --redis redis://redis-host:6379/0 --shard 1/3 --rpm <quota> --tpm <quota>
  (and --shard 2/3, 3/3 on the other workers)
`, groupDigits(redisDemoRPM), ok, elapsed.Round(10*time.Millisecond), groupDigits(int(rate)), st.RateLimited, prompts)
	return b.String()
}
