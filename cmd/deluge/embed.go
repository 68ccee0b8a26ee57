package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// embedFlags are the flags of "deluge embed".
type embedFlags struct {
	model       string
	input       string
	output      string
	dimensions  int
	base64      bool
	rpm         int
	tpm         int
	concurrency int
	maxAttempts int
	timeout     time.Duration
	cacheFlags
	provider string
}

const embedLong = `Compute the embedding of every text of a JSONL file and write one result line
per input, as requests complete (not in input order).

Input lines (one JSON object per line; blank lines are skipped):

  {"id": "doc-1", "text": "The quick brown fox."}
  {"id": "doc-2", "input": "jumps over the lazy dog"}

  "text" (or "input", as in OpenAI's API) is the text to embed. A line
  without "id" gets its line number as ID. A malformed line is reported on
  stderr and written as an error result (code "invalid_input"); a line
  repeating an ID seen earlier in the same input is reported and skipped.

Output lines:

  {"id", "line", "model", "provider", "region", "dimensions",
   "embedding": [0.0123, -0.0456, ...] | null,
   "usage": {"input_tokens"}, "cost", "attempts", "latency_ms", "cached",
   "error": {"code", "message"} | null}

  With --base64, "embedding" is the base64 of the vector's float32 values in
  little-endian order (OpenAI's "base64" encoding_format): exact, and a
  quarter of the size. "usage" and "cost" are the input's share of its
  request's.

Inputs are packed into as few requests as the model allows (2,048 inputs and
300,000 tokens per request, within --tpm), paced by tokens, retried, and
cached on disk like "deluge run" (see --cache). Resuming works the same way:
the output file is opened for appending and IDs already embedded there are
skipped, so an interrupted run is finished by rerunning the same command.`

const embedExample = `  deluge embed -m azure-text-embedding-3-small -i docs.jsonl -o vectors.jsonl
  deluge embed -m azure-text-embedding-3-large --dimensions 256 -i docs.jsonl -o vectors.jsonl --tpm 350000
  deluge embed -m text-embedding-3-small --base64 -i docs.jsonl -o vectors.jsonl`

func newEmbedCmd(a *app) *cobra.Command {
	var f embedFlags
	cmd := &cobra.Command{
		Use:     "embed -m MODEL [-i texts.jsonl|-] [-o vectors.jsonl|-]",
		Short:   "Embed a JSONL file of texts with an embeddings model, resumably",
		Long:    embedLong,
		Example: embedExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config(cmd)
			if err != nil {
				return err
			}
			return runEmbed(cmd.Context(), a, cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.model, "model", "m", "", "embeddings model ID (see 'deluge models', e.g. azure-text-embedding-3-small)")
	fl.StringVarP(&f.input, "input", "i", "-", `input JSONL file, or "-" for stdin`)
	fl.StringVarP(&f.output, "output", "o", "-", `output JSONL file (appended to; resumable), or "-" for stdout`)
	fl.IntVar(&f.dimensions, "dimensions", 0, "vector size, for models that shorten their vectors (text-embedding-3); default: the model's")
	fl.BoolVar(&f.base64, "base64", false, "write vectors as base64 of little-endian float32s instead of JSON arrays")
	fl.IntVar(&f.rpm, "rpm", llm.DefaultMaxRequestsPerMinute, "maximum requests per minute (your deployment's quota)")
	fl.IntVar(&f.tpm, "tpm", llm.DefaultMaxTokensPerMinute, "maximum input tokens per minute (estimated)")
	fl.IntVarP(&f.concurrency, "concurrency", "c", llm.DefaultMaxConcurrency, "maximum requests in flight (at most 8 embeddings requests, which bounds memory)")
	fl.IntVar(&f.maxAttempts, "max-attempts", llm.DefaultMaxAttempts, "attempts per request, retries included (1 disables retries)")
	fl.DurationVar(&f.timeout, "timeout", llm.DefaultRequestTimeout, "timeout of each attempt")
	fl.StringVar(&f.cachePath, "cache", "", "vector cache file; the cache is on by default, in "+defaultCacheDisplay())
	fl.BoolVar(&f.noCache, "no-cache", false, "do not read or write the cache")
	fl.IntVar(&f.cacheMax, "cache-max-entries", 0, "keep at most about N entries in the cache, deleting the oldest (0: no bound)")
	fl.DurationVar(&f.cacheTTL, "cache-ttl", 0, "treat cached entries older than this as misses (0: never)")
	fl.StringVar(&f.provider, "provider", "", "serve the model through another provider (e.g. azure-foundry): same base model")
	cmd.MarkFlagsMutuallyExclusive("cache", "no-cache")
	return cmd
}

// embedConfig is a validated embed run.
type embedConfig struct {
	embedFlags
	model registry.Model
}

func (f *embedFlags) config(cmd *cobra.Command) (*embedConfig, error) {
	for _, c := range []struct {
		name string
		v    int
	}{{"rpm", f.rpm}, {"tpm", f.tpm}, {"concurrency", f.concurrency}, {"max-attempts", f.maxAttempts}} {
		if c.v < 1 {
			return nil, usageErrorf("--%s %d: must be at least 1", c.name, c.v)
		}
	}
	if f.timeout <= 0 {
		return nil, usageErrorf("--timeout %v: must be positive", f.timeout)
	}
	if f.cacheMax < 0 || f.cacheTTL < 0 {
		return nil, usageErrorf("--cache-max-entries and --cache-ttl must be 0 or more")
	}
	if f.model == "" {
		return nil, usageErrorf("embed needs an embeddings model: -m MODEL (e.g. azure-text-embedding-3-small; see 'deluge models')")
	}
	m, err := lookupModel(f.model, f.provider)
	if err != nil {
		return nil, usageError(err)
	}
	if m.APISpec != registry.APISpecEmbeddings {
		return nil, usageErrorf("model %s is not an embeddings model; embeddings models include %s", m.ID, quoteList(embeddingModels(3)))
	}
	if cmd.Flags().Changed("dimensions") {
		switch d := f.dimensions; {
		case d < 1:
			return nil, usageErrorf("--dimensions %d: must be at least 1", d)
		case m.Dimensions > 0 && !m.SupportsDimensions:
			return nil, usageErrorf("--dimensions: model %s does not shorten its vectors (they have %d dimensions)", m.ID, m.Dimensions)
		case m.Dimensions > 0 && d > m.Dimensions:
			return nil, usageErrorf("--dimensions %d: model %s has %d", d, m.ID, m.Dimensions)
		}
	}
	return &embedConfig{embedFlags: *f, model: m}, nil
}

// embeddingModels lists up to n embeddings models of the registry.
func embeddingModels(n int) []string {
	var out []string
	for _, m := range registry.Models() {
		if m.APISpec == registry.APISpecEmbeddings && len(out) < n {
			out = append(out, m.ID)
		}
	}
	return out
}

// embedLine is one input line, parsed.
type embedLine struct {
	Line int
	ID   string
	Text string
	Err  error
}

// embedSource reads input lines and classifies them, as promptSource does.
type embedSource struct {
	r    *promptReader
	done *resumeIndex
	seen map[string]int
}

func (s *embedSource) next() (l embedLine, d disposition, first int, err error) {
	raw, tooLong, err := s.r.nextLine()
	if err != nil {
		return l, 0, 0, err
	}
	l = embedLine{Line: s.r.line, ID: strconv.Itoa(s.r.line)}
	if tooLong {
		l.Err = fmt.Errorf("line is longer than %d MiB", maxLineBytes>>20)
	} else {
		parseEmbedLine(raw, &l)
	}
	if first, dup := s.seen[l.ID]; dup {
		return l, dispDuplicate, first, nil
	}
	s.seen[l.ID] = l.Line
	switch {
	case s.done != nil && s.done.isDone(l.ID):
		return l, dispDone, 0, nil
	case l.Err != nil:
		return l, dispMalformed, 0, nil
	}
	return l, dispSend, 0, nil
}

// parseEmbedLine reads {"id", "text"} (or "input") into l.
func parseEmbedLine(data []byte, l *embedLine) {
	if data[0] != '{' {
		l.Err = fmt.Errorf("want a JSON object such as {\"id\": \"doc-1\", \"text\": \"…\"}, got %s", preview(data))
		return
	}
	var in struct {
		ID    json.RawMessage `json:"id"`
		Text  json.RawMessage `json:"text"`
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		l.Err = fmt.Errorf("invalid JSON: %v", jsonErrorText(err))
		return
	}
	if isSet(in.ID) {
		id, err := parseID(in.ID)
		if err != nil {
			l.Err = err
			return
		}
		l.ID = id
	}
	raw, field := in.Text, "text"
	switch {
	case isSet(in.Text) && isSet(in.Input):
		l.Err = errors.New(`has both "text" and "input": give one`)
		return
	case isSet(in.Input):
		raw, field = in.Input, "input"
	case !isSet(in.Text):
		l.Err = errors.New(`has no "text" to embed`)
		return
	}
	if err := json.Unmarshal(raw, &l.Text); err != nil {
		l.Err = fmt.Errorf("%q must be a string", field)
		return
	}
	if l.Text == "" {
		l.Err = fmt.Errorf("%q is empty; the embeddings API refuses empty texts", field)
	}
}

// embedResult is one output line of "deluge embed". Every field is always
// present, as in "deluge run"'s results.
type embedResult struct {
	ID         string `json:"id"`
	Line       int    `json:"line"`
	Model      string `json:"model"`
	Provider   string `json:"provider"`
	Region     string `json:"region"`
	Dimensions int    `json:"dimensions"`
	// Embedding is a []float32 (a JSON array), an llm.Vector (base64) or
	// nil.
	Embedding any          `json:"embedding"`
	Usage     embedUsage   `json:"usage"`
	Cost      float64      `json:"cost"`
	Attempts  int          `json:"attempts"`
	LatencyMS int64        `json:"latency_ms"`
	Cached    bool         `json:"cached"`
	RequestID string       `json:"request_id,omitempty"`
	Error     *resultError `json:"error"`
}

type embedUsage struct {
	InputTokens int `json:"input_tokens"`
}

// embedRun is the state of one embed run.
type embedRun struct {
	a   *app
	cfg *embedConfig
	jsonlRun

	lines map[int]embedLine // sent, by index; guarded by mu
	next  int
}

// runEmbed is "deluge embed".
func runEmbed(ctx context.Context, a *app, cfg *embedConfig) error {
	u := a.ui
	if err := checkProviders([]registry.Model{cfg.model}); err != nil {
		return usageError(err)
	}
	if err := checkNotSameFile(cfg.input, cfg.output); err != nil {
		return usageError(err)
	}
	r, closeIn, err := openInput(a, cfg.input)
	if err != nil {
		return err
	}
	defer closeIn()
	total := -1
	if f, ok := r.(*os.File); ok {
		total = countFileLines(f)
	}
	out, done, err := openResults(u, cfg.output, false)
	if err != nil {
		return err
	}
	defer out.Close()

	store, closeCache, err := openCache(a, cfg.cacheFlags)
	if err != nil {
		return err
	}
	defer closeCache()
	opts := []llm.ClientOption{
		llm.WithMaxRequestsPerMinute(cfg.rpm),
		llm.WithMaxTokensPerMinute(cfg.tpm),
		llm.WithMaxConcurrency(cfg.concurrency),
		llm.WithMaxAttempts(cfg.maxAttempts),
		llm.WithRequestTimeout(cfg.timeout),
		llm.WithLogger(u.logger),
	}
	if store != nil {
		opts = append(opts, llm.WithCache(store))
	}
	if a.otel != nil {
		opts = append(opts, llm.WithObserver(a.otel.observer))
	}
	client, err := llm.NewClient(cfg.model.ID, opts...)
	if err != nil {
		return usageError(err)
	}
	defer client.Close()
	var callOpts []llm.Option
	if cfg.dimensions > 0 {
		callOpts = append(callOpts, llm.WithDimensions(cfg.dimensions))
	}

	s := newSummary()
	s.Output = cfg.output
	// As for run: after the first signal nothing new is sent (the engine is
	// drained), and the requests in flight get their timeout, and a little
	// more, to finish.
	grace := cfg.timeout + drainMargin
	in := watchInterrupts(ctx, a.env, grace, func(n int, sig os.Signal) {
		if n == 1 {
			u.warnf("%v: sending nothing new; finishing the requests in flight (at most %v), then stopping (interrupt again to abandon them)", sig, grace.Round(time.Second))
		} else {
			u.warnf("%v: abandoning the requests in flight", sig)
		}
	})
	defer in.stop()
	callOpts = append(callOpts, llm.WithDrain(in.dispatch.Done()))
	e := &embedRun{a: a, cfg: cfg, jsonlRun: jsonlRun{out: out, sum: s, bar: newProgress(u, a.env.stderrTTY, total), in: in}, lines: map[int]embedLine{}}
	start := time.Now()
	src := &embedSource{r: newPromptReader(r, ""), done: done, seen: map[string]int{}}
	for i, res := range client.EmbedSeq(in.work, e.inputs(src), callOpts...) {
		e.handle(i, &res)
	}
	s.Elapsed = time.Since(start)
	st := client.Stats()
	s.Retries, s.RateLimitHits = int(st.Retries), int(st.RateLimited)
	s.Paces = loweredPaces(st.Pace)
	s.Interrupted = in.interrupted()
	return e.finish(u, cfg.input)
}

// embedFeedItem is one result of embedSource.next.
type embedFeedItem struct {
	l     embedLine
	d     disposition
	first int
	err   error
}

// inputs yields the texts to embed, handling the other lines on the way
// (skipped, duplicates reported, malformed ones written as errors). It
// reads on a goroutine of its own, so that an interrupt stops it even while
// a read blocks, and stops at the first interrupt.
func (e *embedRun) inputs(src *embedSource) func(yield func(int, string) bool) {
	u := e.a.ui
	return func(yield func(int, string) bool) {
		dispatch := e.in.dispatch
		items := make(chan embedFeedItem, 16)
		go func() {
			for {
				l, d, first, err := src.next()
				select {
				case items <- embedFeedItem{l, d, first, err}:
				case <-dispatch.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
		for dispatch.Err() == nil {
			var it embedFeedItem
			select {
			case it = <-items:
			case <-dispatch.Done():
				return
			}
			if errors.Is(it.err, io.EOF) {
				return
			}
			if it.err != nil {
				e.readErr = it.err
				return
			}
			l := it.l
			e.lastLine = l.Line
			switch it.d {
			case dispDone:
				e.count(func(s *summary) { s.Skipped++ })
				continue
			case dispDuplicate:
				u.warnf("line %d: id %q already appeared on line %d: skipped", l.Line, l.ID, it.first)
				e.count(func(s *summary) { s.Duplicates++ })
				continue
			case dispMalformed:
				u.warnf("line %d: %v", l.Line, l.Err)
				res := e.base(&l)
				res.Error = &resultError{Code: codeInvalidInput, Message: fmt.Sprintf("line %d: %v", l.Line, l.Err)}
				if !e.write(res) {
					return
				}
				continue
			}
			e.mu.Lock()
			i := e.next
			e.next++
			e.lines[i] = l
			e.mu.Unlock()
			if !yield(i, l.Text) {
				return
			}
		}
	}
}

// base is a result line's identification.
func (e *embedRun) base(l *embedLine) *embedResult {
	return &embedResult{ID: l.ID, Line: l.Line, Model: e.cfg.model.ID, Provider: e.cfg.model.Provider}
}

// handle writes the result of input i.
func (e *embedRun) handle(i int, r *llm.EmbedResult) {
	e.mu.Lock()
	l, ok := e.lines[i]
	delete(e.lines, i)
	e.mu.Unlock()
	if !ok {
		return // cannot happen: every result answers an input
	}
	if r.Err != nil && (errors.Is(r.Err, llm.ErrDrained) || e.in.interrupted() && llm.CodeOf(r.Err) == llm.CodeCanceled) {
		e.count(func(s *summary) { s.NotRun++ }) // not sent, or abandoned: a rerun sends it
		return
	}
	res := e.base(&l)
	res.Attempts, res.LatencyMS = r.Attempts, r.Latency.Milliseconds()
	if r.Err != nil {
		var le *llm.Error
		if errors.As(r.Err, &le) {
			res.Error = &resultError{Code: string(le.Code), Message: le.Error(), Status: le.StatusCode}
			res.RequestID = le.RequestID
		} else {
			res.Error = &resultError{Code: string(llm.CodeOf(r.Err)), Message: r.Err.Error()}
		}
		e.noteConfigFailure(r.Err, "inputs")
	} else {
		e.configFails = -1
		if r.Model != "" {
			res.Model, res.Provider = r.Model, r.Provider
		}
		res.Region, res.RequestID, res.Cached = r.Region, r.RequestID, r.Cached
		res.Dimensions = len(r.Vector)
		if e.cfg.base64 {
			res.Embedding = r.Vector
		} else {
			res.Embedding = []float32(r.Vector)
		}
		res.Usage.InputTokens, res.Cost = r.Tokens, r.Cost
	}
	e.write(res)
}

// write writes a result and counts it; a write failure is fatal.
func (e *embedRun) write(res *embedResult) bool {
	if err := e.out.WriteLine(res.ID, res); err != nil {
		e.setFatal(usageError(err), true)
		return false
	}
	e.count(func(s *summary) {
		if res.Error != nil {
			s.Failed[res.Error.Code]++
			return
		}
		s.Succeeded++
		s.Usage.InputTokens += res.Usage.InputTokens
		s.Cost += res.Cost
		if res.Cached {
			s.CacheHits++
		}
	})
	return true
}
