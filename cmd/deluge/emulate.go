package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

type emulateFlags struct {
	addr        string
	apiKeys     []string
	deployments string
	latency     time.Duration
	jitter      time.Duration
	rpm, tpm    int
	limitHdrs   bool
	failRate    float64
	region      string
	seed        int64

	batchDeployments string
	enqueuedTokens   int64
	batchPhase       time.Duration
	batchLineDelay   time.Duration
	backgroundDelay  time.Duration
}

const emulateLong = `Serve an Azure OpenAI emulator: the same URLs, headers, status codes, JSON
bodies and streams as Azure OpenAI, with per-deployment RPM/TPM quotas (429s
with retry-after-ms), injected faults and latency. Replies echo the prompt
("Echo: <last user message>") so results can be checked.

The first line of stdout is the endpoint URL; point deluge (or any Azure
OpenAI client) at it:

  export AZURE_OPENAI_ENDPOINT=<that URL>
  export AZURE_OPENAI_API_KEY=<the --api-key value>

It serves until interrupted (SIGINT or SIGTERM), then shuts down cleanly.
A prompt containing FILTER_PROMPT is rejected by the content filter (400);
one containing FILTER_COMPLETION has its completion filtered.

Besides chat completions it serves the Responses API, embeddings (deploy an
embeddings model such as text-embedding-3-small), and files and batches for
the Global Batch deployments named by --batch-deployments; uploaded and
generated files live in a temporary directory removed at shutdown.`

const emulateExample = `  deluge emulate --addr 127.0.0.1:8089 --api-key test --deployments gpt-4o,gpt-4o-mini,o3-mini
  deluge emulate --api-key test --latency 200ms --rpm 600 --tpm 60000 --fail-rate 0.05
  deluge emulate --addr 127.0.0.1:0 --deployments prod-4o=gpt-4o-2024-11-20   # any free port
  deluge emulate --api-key test --batch-deployments gpt-4o-mini-batch=gpt-4o-mini-2024-07-18 --enqueued-tokens 5000000 --batch-line-delay 1ms`

func newEmulateCmd(a *app) *cobra.Command {
	var f emulateFlags
	cmd := &cobra.Command{
		Use:     "emulate [--addr HOST:PORT] [--api-key KEY] [--deployments LIST]",
		Short:   "Serve a local Azure OpenAI emulator (quotas, faults, latency)",
		Long:    emulateLong,
		Example: emulateExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEmulate(cmd.Context(), a, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8089", "address to listen on (port 0: any free port)")
	fl.StringArrayVar(&f.apiKeys, "api-key", nil, "API key to accept in the api-key header (repeatable); none: accept every request")
	fl.StringVar(&f.deployments, "deployments", "gpt-4o,gpt-4o-mini,o3-mini,text-embedding-3-small",
		"deployments to serve, comma-separated; NAME or NAME=MODEL (e.g. prod=gpt-4o-2024-11-20)")
	fl.StringVar(&f.batchDeployments, "batch-deployments", "",
		"Global Batch deployments (batch jobs only), comma-separated; NAME or NAME=MODEL")
	fl.Int64Var(&f.enqueuedTokens, "enqueued-tokens", 0, "enqueued-token quota of each batch deployment (0: unlimited)")
	fl.DurationVar(&f.batchPhase, "batch-phase", azuretest.DefaultBatchTiming.Validating,
		"time a batch spends validating, and again finalizing")
	fl.DurationVar(&f.batchLineDelay, "batch-line-delay", 0, "time each batch line takes (0: as fast as possible)")
	fl.DurationVar(&f.backgroundDelay, "background-delay", azuretest.DefaultBackgroundDelay,
		"time a background response stays queued, and again in progress")
	fl.DurationVar(&f.latency, "latency", 0, "delay before each reply")
	fl.DurationVar(&f.jitter, "jitter", 0, "extra random delay, uniform in [0, jitter)")
	fl.IntVar(&f.rpm, "rpm", 0, "requests-per-minute quota of each deployment (0: unlimited)")
	fl.IntVar(&f.tpm, "tpm", 0, "tokens-per-minute quota of each deployment (0: unlimited)")
	fl.BoolVar(&f.limitHdrs, "limit-headers", false, "add x-ratelimit-limit-* to the remaining counts, as some Azure deployments do (Azure's usual replies have none)")
	fl.Float64Var(&f.failRate, "fail-rate", 0, "fraction of requests failing with a retryable error: half 429, a quarter 500, a quarter 503")
	fl.StringVar(&f.region, "region", azuretest.DefaultRegion, "region reported in the x-ms-region header")
	fl.Int64Var(&f.seed, "seed", 0, "seed for faults and jitter, for reproducible runs (0: random)")
	return cmd
}

// emulatorConfig validates the flags into the emulator's configuration.
func (f *emulateFlags) config() (azuretest.Config, error) {
	deps, err := azuretest.ParseDeployments(f.deployments)
	if err != nil {
		return azuretest.Config{}, fmt.Errorf("--deployments: %w", err)
	}
	switch {
	case f.failRate < 0 || f.failRate > 1:
		return azuretest.Config{}, fmt.Errorf("--fail-rate %v: want a fraction from 0 to 1", f.failRate)
	case f.rpm < 0 || f.tpm < 0:
		return azuretest.Config{}, errors.New("--rpm and --tpm cannot be negative")
	case f.latency < 0 || f.jitter < 0:
		return azuretest.Config{}, errors.New("--latency and --jitter cannot be negative")
	case f.enqueuedTokens < 0:
		return azuretest.Config{}, errors.New("--enqueued-tokens cannot be negative")
	case f.batchPhase < 0 || f.batchLineDelay < 0 || f.backgroundDelay < 0:
		return azuretest.Config{}, errors.New("--batch-phase, --batch-line-delay and --background-delay cannot be negative")
	}
	var batchDeps map[string]string
	if strings.TrimSpace(f.batchDeployments) != "" {
		if batchDeps, err = azuretest.ParseDeployments(f.batchDeployments); err != nil {
			return azuretest.Config{}, fmt.Errorf("--batch-deployments: %w", err)
		}
		for name := range batchDeps {
			if _, dup := deps[name]; dup {
				return azuretest.Config{}, fmt.Errorf("--batch-deployments: %q is also in --deployments; a deployment has one type", name)
			}
		}
	}
	for _, k := range f.apiKeys {
		if strings.TrimSpace(k) == "" {
			return azuretest.Config{}, errors.New("--api-key is empty")
		}
	}
	return azuretest.Config{
		APIKeys:      f.apiKeys,
		Deployments:  deps,
		Latency:      f.latency,
		Jitter:       f.jitter,
		RPM:          f.rpm,
		TPM:          f.tpm,
		LimitHeaders: f.limitHdrs,
		Faults:       azuretest.FaultsForFailRate(f.failRate),
		Region:       f.region,
		Seed:         f.seed,

		BatchDeployments: batchDeps,
		EnqueuedTokens:   f.enqueuedTokens,
		BatchTiming: &azuretest.BatchTiming{
			Validating: f.batchPhase,
			PerLine:    f.batchLineDelay,
			Finalizing: f.batchPhase,
		},
		BackgroundDelay: &f.backgroundDelay,
	}, nil
}

func runEmulate(ctx context.Context, a *app, f *emulateFlags) error {
	u := a.ui
	cfg, err := f.config()
	if err != nil {
		return usageError(err)
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return usageErrorf("--addr %s: %v", f.addr, err)
	}
	h := azuretest.NewHandler(cfg.Options()...)
	srv := &http.Server{
		Handler:           logRequests(h, u.logger),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(u.logger.Handler(), slog.LevelDebug),
	}
	url := "http://" + ln.Addr().String()
	// The URL first, alone on its line: scripts read it.
	fmt.Fprintln(u.stdout, url)

	names := make([]string, 0, len(cfg.Deployments))
	for name, model := range cfg.Deployments {
		names = append(names, fmt.Sprintf("%s (%s)", name, model))
	}
	slices.Sort(names)
	u.infof("Azure OpenAI emulator listening on %s", url)
	u.infof("  deployments: %s", strings.Join(names, ", "))
	if len(cfg.BatchDeployments) > 0 {
		names = names[:0]
		for name, model := range cfg.BatchDeployments {
			names = append(names, fmt.Sprintf("%s (%s)", name, model))
		}
		slices.Sort(names)
		u.infof("  batch deployments: %s", strings.Join(names, ", "))
		if cfg.EnqueuedTokens > 0 {
			u.infof("  enqueued-token quota per batch deployment: %s", groupDigits(int(cfg.EnqueuedTokens)))
		}
	}
	if cfg.RPM > 0 || cfg.TPM > 0 {
		u.infof("  quota per deployment: %s RPM, %s TPM (0 = unlimited)", groupDigits(cfg.RPM), groupDigits(cfg.TPM))
	}
	if f.failRate > 0 {
		u.infof("  injected failures: %.0f%% of requests", f.failRate*100)
	}
	if len(cfg.APIKeys) == 0 {
		u.infof("  no --api-key: every request is accepted")
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		u.warnf("warning: the emulator listens on %s, beyond this machine; it is a test server", host)
	}
	key := "<your --api-key>"
	if len(cfg.APIKeys) == 0 {
		key = "anything"
	}
	u.infof("Use it with:\n  export AZURE_OPENAI_ENDPOINT=%s\n  export AZURE_OPENAI_API_KEY=%s\n  deluge run -m azure-gpt-4o-mini -i examples/prompts.jsonl -o results.jsonl", url, key)
	u.infof("Press Ctrl-C to stop.")

	in := watchInterrupts(ctx, a.env, 0, nil)
	defer in.stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		h.Close()
		return fmt.Errorf("emulator stopped: %w", err)
	case <-in.dispatch.Done():
	}
	// Stop accepting, end pending latency delays, wait for handlers.
	h.Close()
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	if err != nil {
		srv.Close()
	}
	st := h.Stats()
	u.infof("emulator stopped after %s requests (%s rate-limited)", groupDigits(st.Requests), groupDigits(st.RateLimited))
	return nil
}

// logRequests logs each request at info level: method, path, status and
// duration. Headers are never logged: they carry keys.
func logRequests(h http.Handler, log *slog.Logger) http.Handler {
	if !log.Enabled(context.Background(), slog.LevelInfo) {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"duration", time.Since(start).Round(time.Microsecond))
		}()
		h.ServeHTTP(rec, r)
	})
}

// statusRecorder remembers the status; Unwrap keeps http.ResponseController
// (flushing streams, hijacking for injected resets) working.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
