package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deluge-go/deluge/cache"
	"github.com/deluge-go/deluge/examples"
	"github.com/deluge-go/deluge/internal/redisconn"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/registry"
)

type demoFlags struct {
	output   string
	latency  time.Duration
	failRate float64
	redis    string // demo_redis.go
}

// The demo's settings: fast enough to finish in seconds, busy enough to
// show pacing and retries.
const (
	demoModel       = "azure-gpt-4o-mini"
	demoRPM         = 6_000
	demoTPM         = 2_000_000
	demoConcurrency = 64
	demoAttempts    = 8
	demoMaxTokens   = 256
	demoRetryAfter  = 250 * time.Millisecond
)

func newDemoCmd(a *app) *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run 200 example prompts against an in-process Azure emulator (no setup)",
		Long: `Start an Azure OpenAI emulator in this process (with latency and injected 429s
and server errors), point the azure-foundry provider at it, and run the 200
example prompts through the full engine: rate limiting, concurrency, retries,
cost accounting and resumable output, as a real run would.

It needs no credentials and reads no AZURE_* variables; it writes
demo-results.jsonl (replaced on each demo) and nothing else.`,
		Example: `  deluge demo
  deluge demo --fail-rate 0.2 --latency 200ms -o /tmp/demo.jsonl
  deluge demo --redis redis://localhost:6379/0   # three workers, one quota`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), a, &f, cmd.Flags().Changed("output"))
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "demo-results.jsonl", "results file (replaced)")
	fl.DurationVar(&f.latency, "latency", 40*time.Millisecond, "emulated latency (plus up to as much jitter)")
	fl.Float64Var(&f.failRate, "fail-rate", 0.08, "fraction of requests the emulator fails (20% 429, 40% 500, 40% 503); the engine retries them")
	fl.StringVar(&f.redis, "redis", "", "show three workers sharing one quota through this Redis ("+redisconn.Usage+")")
	return cmd
}

func runDemo(ctx context.Context, a *app, f *demoFlags, outputGiven bool) error {
	u := a.ui
	if f.failRate < 0 || f.failRate > 0.5 {
		return usageErrorf("--fail-rate %v: want 0 to 0.5", f.failRate)
	}
	if f.latency < 0 {
		return usageErrorf("--latency %v: cannot be negative", f.latency)
	}
	output, err := demoOutput(f.output, outputGiven)
	if err != nil {
		return usageError(err)
	}
	if f.redis != "" {
		return runRedisDemo(ctx, a, f, output)
	}
	model, err := registry.Lookup(demoModel)
	if err != nil {
		return usageError(err)
	}

	// A key only this process knows: the emulator checks it like Azure.
	key := rand.Text()
	emu, url, httpClient, stop := startEmulator(a,
		azuretest.WithAPIKeys(key),
		azuretest.WithDeployment(model.Name, ""),
		azuretest.WithDeployment("gpt-4o", ""),
		azuretest.WithLatency(f.latency, f.latency),
		azuretest.WithDefaultRateLimit(2*demoRPM, 2*demoTPM),
		azuretest.WithFaults(azuretest.Faults{
			// The engine slows down after each 429 (as it must against a
			// real quota), so few of the failures are 429s.
			Rate429:    f.failRate * 0.2,
			Rate500:    f.failRate * 0.4,
			Rate503:    f.failRate * 0.4,
			RetryAfter: demoRetryAfter,
		}),
	)
	defer stop()
	// Built from explicit settings: the user's AZURE_* environment is not read.
	provider, err := azurefoundry.New(azurefoundry.Config{
		Endpoint:   url,
		APIKey:     key,
		HTTPClient: httpClient,
		Logger:     u.logger,
	})
	if err != nil {
		return fmt.Errorf("starting the demo provider: %w", err)
	}
	defer provider.Close()

	n := countLines(strings.NewReader(string(examples.Prompts)))
	u.infof("deluge demo: %d prompts → %s on an in-process Azure OpenAI emulator at %s", n, demoModel, url)
	u.infof("  (%v latency plus jitter, %.0f%% injected failures; limits %s RPM, %s TPM, %d in flight)\n",
		f.latency, f.failRate*100, groupDigits(demoRPM), groupDigits(demoTPM), demoConcurrency)

	cfg := &runConfig{
		runFlags: runFlags{
			model:       demoModel,
			input:       "examples/prompts.jsonl",
			output:      output,
			rpm:         demoRPM,
			tpm:         demoTPM,
			concurrency: demoConcurrency,
			maxAttempts: demoAttempts,
			timeout:     10 * time.Second,
			maxTokens:   demoMaxTokens,
			cacheFlags:  cacheFlags{noCache: true}, // the user's cache directory is not touched
		},
		set:            func(name string) bool { return name == "max-tokens" },
		models:         []registry.Model{model},
		extraOptions:   []llm.ClientOption{llm.WithProviderInstance(provider), llm.WithCache(cache.NewMemory(0))},
		providerGiven:  true,
		inputData:      examples.Prompts,
		truncateOutput: true,
	}
	runErr := runPrompts(ctx, a, cfg)
	if !u.quiet {
		st := emu.Stats()
		fmt.Fprint(u.console, demoExplanation(url, output, n, st))
	}
	return runErr
}

// startEmulator starts the demo's emulator on a loopback port (or as the
// app's startEmulator says) and returns it, its URL, a client for it, and
// the function that stops it.
func startEmulator(a *app, opts ...azuretest.Option) (*azuretest.Handler, string, *http.Client, func()) {
	if a.startEmulator != nil {
		return a.startEmulator(opts...)
	}
	srv := azuretest.NewServer(opts...)
	return srv.Handler, srv.URL, srv.Client(), srv.Close
}

// demoOutput picks the results file: the one asked for, else
// demo-results.jsonl here, or in the temporary directory when the current
// one is not writable.
func demoOutput(path string, given bool) (string, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err == nil {
		return path, f.Close()
	}
	if given || !(errors.Is(err, os.ErrPermission) || errors.Is(err, os.ErrNotExist)) {
		return "", fmt.Errorf("cannot write output %s: %v", path, unwrapPathError(err))
	}
	return filepath.Join(os.TempDir(), filepath.Base(path)), nil
}

func demoExplanation(url, output string, prompts int, st azuretest.Stats) string {
	faults := st.RateLimited
	for status, n := range st.ByStatus {
		if status >= 500 {
			faults += n
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `
What just happened
  - deluge started an Azure OpenAI emulator at %s: the same URLs, headers,
    JSON bodies and content-filter annotations as Azure, with latency and
    injected failures.
  - It sent the %d prompts of examples/prompts.jsonl through the full engine:
    paced under the RPM/TPM limits, many requests in flight, each failure
    retried with backoff, honouring Azure's retry-after-ms. The emulator got
    %d requests and failed %d of them (%d with 429); the retries absorbed them.
  - Each result was appended to %s as it completed: one JSON line per
    prompt with completion, usage, cost, attempts and latency. A run killed
    midway resumes where it stopped: rerun it with the same -o.

Now against your own Azure OpenAI resource (Keys and Endpoint in the portal):
  export AZURE_OPENAI_ENDPOINT=https://<resource>.openai.azure.com
  export AZURE_OPENAI_API_KEY=<key>
  deluge estimate -m azure-gpt-4o-mini -i examples/prompts.jsonl
  deluge run -m azure-gpt-4o-mini -i examples/prompts.jsonl -o results.jsonl --rpm <your RPM> --tpm <your TPM>
  (deployment named otherwise? export AZURE_DEPLOYMENT_AZURE_GPT_4O_MINI=<deployment name>)

Or against a local emulator, in two terminals:
  deluge emulate --api-key test
  AZURE_OPENAI_ENDPOINT=http://127.0.0.1:8089 AZURE_OPENAI_API_KEY=test \
    deluge run -m azure-gpt-4o-mini -i examples/prompts.jsonl -o out.jsonl
`, url, prompts, st.Requests, faults, st.RateLimited, output)
	return b.String()
}
