package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/deluge-go/deluge/cache"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// runFlags are the flags of "deluge run".
type runFlags struct {
	model       string
	input       string
	output      string
	rpm         int
	tpm         int
	concurrency int
	maxAttempts int
	timeout     time.Duration
	maxTokens   int
	temperature float64
	jsonMode    bool
	system      string
	cacheFlags
	provider string
	weights  string
	scale    scaleFlags
}

const runLong = `Send every prompt of a JSONL file to a model and write one result line per
prompt, as results complete (not in input order).

Input lines (one JSON object per line; blank lines are skipped):

  {"id": "q1", "prompt": "Translate 'hello' into French."}
  {"id": "q2", "messages": [{"role": "system", "content": "Be brief."},
                            {"role": "user", "content": "Why is the sky blue?"}]}

  A line may also set "model", "max_tokens" and "temperature" for itself.
  A line without "id" gets its line number as ID. A malformed line is
  reported on stderr with its line number and written as an error result
  (code "invalid_input"); the run goes on. A line repeating an ID seen
  earlier in the same input is reported and skipped.

Output lines:

  {"id", "line", "model", "provider", "region", "completion", "finish_reason",
   "usage": {"input_tokens", "output_tokens", ...}, "cost", "attempts",
   "latency_ms", "cached", "error": {"code", "message"} | null,
   "content_filter": {...} | null}

Resuming: the output file is opened for appending. IDs that already have a
successful line there are skipped, so rerunning the same command after an
interruption (Ctrl-C, SIGTERM, even SIGKILL or a crash) sends only what is
left; failed IDs are sent again. The first Ctrl-C (or SIGTERM) sends nothing
more, not even prompts already queued for rate capacity, and waits for the
requests in flight (at most --timeout plus 5 s); a second one abandons them.

Responses are cached on disk (see --cache): an identical request sent again,
by this run or a later one, is answered from the cache and costs nothing.`

const runExample = `  deluge run -m azure-gpt-4o-mini -i prompts.jsonl -o results.jsonl
  deluge run -m azure-gpt-4o -i prompts.jsonl -o results.jsonl --rpm 300 --tpm 50000 --max-tokens 200
  cat prompts.jsonl | deluge run -m gpt-4o-mini --system "Answer in French." > results.jsonl
  deluge run --weights azure-gpt-4o=0.7,gpt-4o=0.3 -i prompts.jsonl -o results.jsonl
  deluge run -m gpt-4o --provider azure-foundry -i prompts.jsonl -o results.jsonl`

func newRunCmd(a *app) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:     "run -m MODEL [-i prompts.jsonl|-] [-o results.jsonl|-]",
		Short:   "Send a JSONL file of prompts to a model, resumably",
		Long:    runLong,
		Example: runExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(cmd)
			if err != nil {
				return err
			}
			if err := cfg.scale.setup(&f.scale, a.env.getenv, cmd.Flags().Changed("cache")); err != nil {
				return err
			}
			return runPrompts(cmd.Context(), a, cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.model, "model", "m", "", "model ID (see 'deluge models'); input lines may override it with \"model\"")
	fl.StringVarP(&f.input, "input", "i", "-", `input JSONL file, or "-" for stdin`)
	fl.StringVarP(&f.output, "output", "o", "-", `output JSONL file (appended to; resumable), or "-" for stdout`)
	fl.IntVar(&f.rpm, "rpm", llm.DefaultMaxRequestsPerMinute, "maximum requests per minute (your deployment's quota)")
	fl.IntVar(&f.tpm, "tpm", llm.DefaultMaxTokensPerMinute, "maximum tokens per minute (prompt + max completion, estimated)")
	fl.IntVarP(&f.concurrency, "concurrency", "c", llm.DefaultMaxConcurrency, "maximum requests in flight")
	fl.IntVar(&f.maxAttempts, "max-attempts", llm.DefaultMaxAttempts, "attempts per prompt, retries included (1 disables retries)")
	fl.DurationVar(&f.timeout, "timeout", llm.DefaultRequestTimeout, "timeout of each attempt")
	fl.IntVar(&f.maxTokens, "max-tokens", 0, "maximum completion tokens per prompt (default: the model's)")
	fl.Float64Var(&f.temperature, "temperature", 0, "sampling temperature, 0 to 2 (default: the model's)")
	fl.BoolVar(&f.jsonMode, "json", false, "ask the model for a JSON object (JSON mode)")
	fl.StringVar(&f.system, "system", "", "system message prepended to every prompt that has none")
	fl.StringVar(&f.cachePath, "cache", "", "response cache file; the cache is on by default, in "+defaultCacheDisplay())
	fl.BoolVar(&f.noCache, "no-cache", false, "do not read or write the response cache")
	fl.IntVar(&f.cacheMax, "cache-max-entries", 0, "keep at most about N responses in the cache, deleting the oldest (0: no bound)")
	fl.DurationVar(&f.cacheTTL, "cache-ttl", 0, "treat cached responses older than this as misses and delete them (e.g. 720h; 0: never)")
	fl.StringVar(&f.provider, "provider", "", "serve the model through another provider (e.g. azure-foundry): same base model")
	fl.StringVar(&f.weights, "weights", "", "spread prompts over models by weight, e.g. azure-gpt-4o=0.7,gpt-4o=0.3")
	cmd.MarkFlagsMutuallyExclusive("cache", "no-cache")
	cmd.MarkFlagsMutuallyExclusive("cache-max-entries", "no-cache")
	cmd.MarkFlagsMutuallyExclusive("cache-ttl", "no-cache")
	addScaleFlags(cmd, &f.scale)
	return cmd
}

// runConfig is a validated run.
type runConfig struct {
	runFlags
	// set reports whether a flag was given explicitly, so that the
	// engine's own defaults apply otherwise.
	set func(name string) bool
	// models are the models the run may use, the default first.
	models  []registry.Model
	weights map[string]float64
	// scale is --shard and --redis (scale.go).
	scale scaleConfig
	// The demo's settings: client options added to the run's (the
	// provider instance, which also skips the credentials check), input
	// bytes instead of -i, and a fresh output file instead of resuming.
	extraOptions   []llm.ClientOption
	providerGiven  bool
	inputData      []byte
	truncateOutput bool
}

func (f *runFlags) config(cmd *cobra.Command) (*runConfig, error) {
	cfg := &runConfig{runFlags: *f, set: cmd.Flags().Changed}
	for _, c := range []struct {
		name string
		v    int
	}{{"rpm", f.rpm}, {"tpm", f.tpm}, {"concurrency", f.concurrency}, {"max-attempts", f.maxAttempts}} {
		if c.v < 1 {
			return nil, usageErrorf("--%s %d: must be at least 1", c.name, c.v)
		}
	}
	if cfg.set("max-tokens") && f.maxTokens < 1 {
		return nil, usageErrorf("--max-tokens %d: must be at least 1", f.maxTokens)
	}
	if f.timeout <= 0 {
		return nil, usageErrorf("--timeout %v: must be positive", f.timeout)
	}
	if f.cacheMax < 0 {
		return nil, usageErrorf("--cache-max-entries %d: must be 0 (no bound) or more", f.cacheMax)
	}
	if f.cacheTTL < 0 {
		return nil, usageErrorf("--cache-ttl %v: must be 0 (never expire) or more", f.cacheTTL)
	}
	if cfg.set("temperature") && (f.temperature < 0 || f.temperature > 2 || math.IsNaN(f.temperature)) {
		return nil, usageErrorf("--temperature %v: must be from 0 to 2", f.temperature)
	}
	if f.weights != "" {
		w, order, err := parseWeights(f.weights)
		if err != nil {
			return nil, usageError(err)
		}
		cfg.weights = w
		if f.model == "" {
			f.model = order[0]
			cfg.model = order[0]
		}
		for _, id := range order {
			m, err := lookupModel(id, f.provider)
			if err != nil {
				return nil, usageErrorf("--weights: %v", err)
			}
			cfg.models = append(cfg.models, m)
		}
	}
	if f.model == "" {
		return nil, usageErrorf("run needs a model: -m MODEL (see 'deluge models'), or --weights")
	}
	m, err := lookupModel(f.model, f.provider)
	if err != nil {
		return nil, usageError(err)
	}
	if m.APISpec == registry.APISpecEmbeddings {
		return nil, usageErrorf("model %s is an embeddings model: use 'deluge embed -m %s'", m.ID, m.ID)
	}
	if !slices.ContainsFunc(cfg.models, func(x registry.Model) bool { return x.ID == m.ID }) {
		cfg.models = append([]registry.Model{m}, cfg.models...)
	}
	return cfg, nil
}

// defaultCacheDisplay names the default cache file for --help.
func defaultCacheDisplay() string {
	if p, err := cache.DefaultPath(); err == nil {
		return p
	}
	return "the user cache directory (deluge/cache.db)"
}

// parseWeights parses "m1=0.7,m2=0.3"; order keeps the models as given.
func parseWeights(s string) (map[string]float64, []string, error) {
	w := map[string]float64{}
	var order []string
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, val, ok := strings.Cut(item, "=")
		id = strings.TrimSpace(id)
		if !ok || id == "" {
			return nil, nil, fmt.Errorf("--weights: %q is not MODEL=WEIGHT (e.g. azure-gpt-4o=0.7)", item)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("--weights: weight of %s is %q; want a non-negative number", id, val)
		}
		if _, dup := w[id]; dup {
			return nil, nil, fmt.Errorf("--weights: %s is listed twice", id)
		}
		w[id] = v
		order = append(order, id)
	}
	if len(w) == 0 {
		return nil, nil, errors.New("--weights: no models given")
	}
	total := 0.0
	for _, v := range w {
		total += v
	}
	if total == 0 {
		return nil, nil, errors.New("--weights: all weights are 0")
	}
	return w, order, nil
}

// job is one prompt sent to the engine.
type job struct {
	prompt prompt
	// model is the model ID the prompt is for ("" means the client's
	// default or weighted choice); opts its per-line options.
	model string
	opts  []llm.Option
}

// outcome is the engine's answer to a job. attempts and latency are what
// the job took, failed or not (for a response, its own figures).
type outcome struct {
	job      *job
	resp     *llm.Response
	err      error
	attempts int
	latency  time.Duration
}

// engine is what a run needs from the llm.Client: send jobs as they come
// and report each outcome as it completes. Once drain is closed it sends
// nothing new: jobs not sent yet end with llm.ErrDrained, requests in
// flight finish (ctx cuts them).
type engine interface {
	process(ctx context.Context, drain <-chan struct{}, jobs iter.Seq[*job]) iter.Seq[outcome]
	stats() engineStats
	close() error
}

// engineStats are the engine's counters the summary shows.
type engineStats struct {
	Retries       int
	RateLimitHits int
	SavedCost     float64
	// Paces are the models whose pace the server was found to allow
	// lower than configured; Routed splits a router's replies by the
	// model it chose (llm.Stats.Pace, ByRoutedModel).
	Paces  []llm.Pace
	Routed map[string]llm.RoutedStats
}

// drainMargin is added to the request timeout to give the requests in
// flight after a first interrupt their time to finish: an attempt is
// bounded by the timeout (plus a sixteenth, in a batch), so none is cut
// that would have completed.
const drainMargin = 5 * time.Second

// configFailureLimit is how many consecutive authentication, permission or
// not-found failures, with no success before them, stop a run: the setup
// is wrong and every further prompt would fail the same way.
const configFailureLimit = 8

// runPrompts is "deluge run".
func runPrompts(ctx context.Context, a *app, cfg *runConfig) error {
	u := a.ui
	if !cfg.providerGiven {
		if err := checkProviders(cfg.models); err != nil {
			return usageError(err)
		}
	}
	if err := checkNotSameFile(cfg.input, cfg.output); err != nil {
		return usageError(err)
	}
	var (
		in    io.Reader
		total = -1
	)
	if cfg.inputData != nil {
		in = bytes.NewReader(cfg.inputData)
		total = countLines(bytes.NewReader(cfg.inputData))
	} else {
		r, closeIn, err := openInput(a, cfg.input)
		if err != nil {
			return err
		}
		defer closeIn()
		in = r
		if f, ok := r.(*os.File); ok {
			total = countFileLines(f)
		}
	}

	// Output: a file is resumable; stdout is not.
	out, done, err := openResults(u, cfg.output, cfg.truncateOutput)
	if err != nil {
		return err
	}
	defer out.Close()

	eng, err := a.engineFor(cfg)
	if err != nil {
		return err
	}
	defer eng.close()

	s := newSummary()
	s.Output = cfg.output
	bar := newProgress(u, a.env.stderrTTY, total)

	// After the first signal, the requests in flight have their timeout,
	// and a little more, to finish; then they are cut like after a second.
	grace := cfg.timeout + drainMargin
	in2 := watchInterrupts(ctx, a.env, grace, func(n int, sig os.Signal) {
		if n == 1 {
			u.warnf("%v: sending nothing new; finishing the requests in flight (at most %v), then stopping (interrupt again to abandon them)", sig, grace.Round(time.Second))
		} else {
			u.warnf("%v: abandoning the requests in flight", sig)
		}
	})
	defer in2.stop()

	start := time.Now()
	r := &runner{a: a, cfg: cfg, jsonlRun: jsonlRun{out: out, sum: s, bar: bar, in: in2}}
	src := newPromptSource(in, cfg.system, done)
	src.shard, s.Shard = cfg.scale.shard, cfg.scale.shard.String()
	for o := range eng.process(in2.work, in2.dispatch.Done(), r.jobs(src)) {
		r.handle(&o)
	}
	s.Elapsed = time.Since(start)
	st := eng.stats()
	s.Retries, s.RateLimitHits, s.SavedCost = st.Retries, st.RateLimitHits, st.SavedCost
	s.Paces, s.Routed = st.Paces, st.Routed
	s.Interrupted = in2.interrupted()
	return r.finish(u, cfg.input)
}

// runner holds the state of one run shared by the job producer and the
// outcome consumer.
type runner struct {
	a   *app
	cfg *runConfig
	jsonlRun

	// models caches per-line model lookups (producer only).
	models map[string]error
}

// jobs yields the prompts to send, handling the others on the way:
// skipped (done), reported (duplicates), written as errors (malformed).
// It stops when the run is interrupted.
func (r *runner) jobs(src *promptSource) iter.Seq[*job] {
	u := r.a.ui
	return func(yield func(*job) bool) {
		items := feed(r.in.dispatch, src)
		for r.in.dispatch.Err() == nil {
			var it feedItem
			select {
			case it = <-items:
			case <-r.in.dispatch.Done():
				return
			}
			p, disp, first, err := it.p, it.disp, it.first, it.err
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				r.readErr = err
				return
			}
			r.lastLine = p.Line
			switch disp {
			case dispDone:
				r.count(func(s *summary) { s.Skipped++ })
				continue
			case dispOtherShard:
				r.count(func(s *summary) { s.OtherShards++ })
				continue
			case dispDuplicate:
				u.warnf("line %d: id %q already appeared on line %d: skipped", p.Line, p.ID, first)
				r.count(func(s *summary) { s.Duplicates++ })
				continue
			case dispMalformed:
				u.warnf("line %d: %v", p.Line, p.Err)
				if !r.write(errorResult(&p, r.cfg.model, providerOf(r.cfg.model), nil)) {
					return
				}
				continue
			}
			j := &job{prompt: p, model: p.Model}
			if p.Model != "" {
				if err := r.checkModel(p.Model); err != nil {
					p.Err = err
					u.warnf("line %d: %v", p.Line, err)
					if !r.write(errorResult(&p, p.Model, "", nil)) {
						return
					}
					continue
				}
			}
			if p.MaxTokens > 0 {
				j.opts = append(j.opts, llm.WithMaxNewTokens(p.MaxTokens))
			}
			if p.Temperature != nil {
				j.opts = append(j.opts, llm.WithTemperature(*p.Temperature))
			}
			if !yield(j) {
				return
			}
		}
	}
}

// feedItem is one result of promptSource.Next.
type feedItem struct {
	p     prompt
	disp  disposition
	first int
	err   error
}

// feed reads src on a goroutine of its own, a few lines ahead, so that an
// interrupt stops dispatching even while a read blocks (a pipe on stdin
// that has gone quiet). The channel ends with an item holding io.EOF or
// the read error, or when ctx is done.
func feed(ctx context.Context, src *promptSource) <-chan feedItem {
	ch := make(chan feedItem, 16)
	go func() {
		for {
			p, d, first, err := src.Next()
			select {
			case ch <- feedItem{p, d, first, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// checkModel validates a per-line model once per distinct ID.
func (r *runner) checkModel(id string) error {
	if r.models == nil {
		r.models = map[string]error{}
	}
	if err, ok := r.models[id]; ok {
		return err
	}
	m, err := lookupModel(id, r.cfg.provider)
	if err == nil {
		err = checkProviders([]registry.Model{m})
	}
	r.models[id] = err
	return err
}

// handle writes the result of one outcome and counts it.
func (r *runner) handle(o *outcome) {
	p := &o.job.prompt
	if o.err != nil && (errors.Is(o.err, llm.ErrDrained) || r.in.interrupted() && llm.CodeOf(o.err) == llm.CodeCanceled) {
		// Not sent after the first interrupt (drained), or abandoned by a
		// second: not written, so a rerun sends it.
		r.count(func(s *summary) { s.NotRun++ })
		return
	}
	var res *result
	if o.err != nil {
		model := o.job.model
		if model == "" {
			model = r.cfg.models[0].ID
		}
		res = errorResult(p, model, providerOf(model), o.err)
		res.Attempts = o.attempts
		res.LatencyMS = o.latency.Milliseconds()
		r.noteConfigFailure(o.err, "requests")
	} else {
		res = successResult(p, o.resp)
		r.configFails = -1 // a success proves the setup works
	}
	r.write(res)
}

// write writes a result and counts it; a write failure is fatal.
func (r *runner) write(res *result) bool {
	if err := r.out.Write(res); err != nil {
		r.setFatal(usageError(err), true)
		return false
	}
	r.count(func(s *summary) { s.addResult(res) })
	return true
}

// providerOf returns the provider of a model ID, or "".
func providerOf(id string) string {
	if m, err := registry.Lookup(id); err == nil {
		return m.Provider
	}
	return ""
}

func providerOfErr(err error) string {
	var le *llm.Error
	if errors.As(err, &le) {
		return le.Provider
	}
	return ""
}

// checkNotSameFile refuses to write results over the input.
func checkNotSameFile(input, output string) error {
	if input == "-" || output == "-" || input == "" || output == "" {
		return nil
	}
	fi, err1 := os.Stat(input)
	fo, err2 := os.Stat(output)
	if err1 == nil && err2 == nil && os.SameFile(fi, fo) {
		return fmt.Errorf("-o %s is the input file; write results to another file", output)
	}
	return nil
}

// maxCountBytes bounds the input that is read twice to size the progress
// bar; a larger input gets a bar without a total.
const maxCountBytes = 1 << 30

// countFileLines counts the non-blank lines of f for the progress bar,
// then rewinds it. It returns -1 if f is not a regular file (a pipe) or is
// too large to read twice.
func countFileLines(f *os.File) int {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxCountBytes {
		return -1
	}
	defer f.Seek(0, io.SeekStart)
	return countLines(f)
}

// countLines counts the non-blank lines of r.
func countLines(r io.Reader) int {
	br := bufio.NewReaderSize(r, 256<<10)
	n := 0
	blank := true
	for {
		b, err := br.ReadSlice('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			blank = false
		}
		if err == nil || (err == io.EOF && len(b) > 0) {
			if !blank {
				n++
			}
			blank = true
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return n
		}
	}
}
