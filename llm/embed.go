package llm

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/workpool"
	"github.com/deluge-go/deluge/registry"
)

// Embedder is implemented by providers that compute embeddings (OpenAI's
// and Azure OpenAI's POST /embeddings). The [Client] finds it by type
// assertion: [Client.Embed] and [Client.EmbedSeq] fail with
// CodeInvalidRequest for a provider without it.
//
// Embed sends one request for all of req.Inputs (the Client keeps them
// within the model's limits) and returns one vector per input, in input
// order. Like [Provider.Generate], it neither retries nor paces, and its
// errors are [*Error]s.
type Embedder interface {
	Embed(ctx context.Context, req *EmbedRequest) (*EmbedResponse, error)
}

// EmbedRequest is one embeddings request as an [Embedder] sees it.
// Providers must treat it as read-only.
type EmbedRequest struct {
	// Model is the resolved catalog entry; Model.Name is the wire name.
	Model registry.Model
	// Inputs are the texts to embed, none empty.
	Inputs []string
	// Dimensions asks for vectors of that size (models that support it:
	// [registry.Model.SupportsDimensions]); 0 means the model's own.
	Dimensions int
	// User is an end-user identifier for abuse monitoring ([WithUser]).
	User string
}

// EmbedResponse is an [Embedder]'s answer to one request.
type EmbedResponse struct {
	// Vectors holds one vector per input, in input order.
	Vectors []Vector
	// Usage counts the request's tokens (InputTokens).
	Usage Usage
	// Cost is the provider's price of the request (Azure's deployment
	// types); 0 means "price Usage at the model's catalog prices".
	Cost float64
	// Attempts is the number of HTTP requests sent, for a provider that
	// fails over between endpoints (0 means one).
	Attempts int
	// ServedModel, RequestID and Region are the server's, when known;
	// Header the HTTP response headers.
	ServedModel string
	RequestID   string
	Region      string
	Header      http.Header
}

// Vector is an embedding. Its JSON form is the base64 of its float32
// values in little-endian order (the "base64" encoding_format of OpenAI's
// API): a quarter of the size of a JSON array, and exact. UnmarshalJSON
// takes that form or a JSON array of numbers.
type Vector []float32

// MarshalJSON encodes v as base64 of little-endian float32s.
func (v Vector) MarshalJSON() ([]byte, error) {
	if v == nil {
		return []byte("null"), nil
	}
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	out := make([]byte, 0, base64.StdEncoding.EncodedLen(len(raw))+2)
	out = append(out, '"')
	out = base64.StdEncoding.AppendEncode(out, raw)
	return append(out, '"'), nil
}

// UnmarshalJSON decodes base64 of little-endian float32s, or an array of
// numbers.
func (v *Vector) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*v = nil
		return nil
	case len(b) > 0 && b[0] == '[':
		var fs []float32
		if err := json.Unmarshal(b, &fs); err != nil {
			return err
		}
		*v = fs
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("llm: a vector is base64 text or an array of numbers: %w", err)
	}
	out, err := DecodeVector(s)
	if err != nil {
		return err
	}
	*v = out
	return nil
}

// DecodeVector decodes the base64 of little-endian float32s (the "base64"
// encoding_format of OpenAI's embeddings API, and [Vector]'s JSON form).
func DecodeVector(s string) (Vector, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("llm: vector: %w", err)
	}
	if len(raw)%4 != 0 {
		return nil, fmt.Errorf("llm: vector: %d bytes is not a whole number of float32s", len(raw))
	}
	out := make(Vector, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

// Embeddings is the result of [Client.Embed].
type Embeddings struct {
	// Vectors holds one vector per input, in input order.
	Vectors []Vector
	// Model and Provider are the model that computed them (the client's
	// primary model when every input came from the cache).
	Model    string
	Provider string
	// Usage and Cost total the requests sent (cache hits are free).
	Usage Usage
	Cost  float64
	// Requests counts the HTTP requests sent, retries included; Cached the
	// inputs not sent: found in the cache, or the same text as another
	// input of the call.
	Requests int
	Cached   int
	// Latency is the wall time of the call.
	Latency time.Duration
}

// EmbedResult is the outcome of one input of [Client.EmbedSeq]: exactly
// one of Vector and Err is set.
type EmbedResult struct {
	// Index is the input's index, as the input sequence gave it.
	Index  int
	Vector Vector
	Err    error
	// Tokens and Cost are the input's share of its request's usage and
	// price (in proportion to the inputs' estimated sizes); 0 for an
	// input served from the cache or by an identical input of the same
	// request (Cached).
	Tokens int
	Cost   float64
	Cached bool
	// Attempts and Latency are those of the input's request; Model,
	// Provider, Region and RequestID say who answered it.
	Attempts  int
	Latency   time.Duration
	Model     string
	Provider  string
	Region    string
	RequestID string
}

// WithDimensions asks an embeddings model for vectors of n dimensions
// (text-embedding-3 models shorten their vectors; others refuse it). It
// applies to [Client.Embed] and [Client.EmbedSeq].
func WithDimensions(n int) Option {
	return func(o *callOptions) {
		if n < 1 {
			o.fail("WithDimensions(%d): need at least 1", n)
			return
		}
		o.dimensions = n
	}
}

// Embedding request limits: at most maxEmbedRequestTokens estimated
// tokens per request (OpenAI's API reference: "all embedding models
// enforce a maximum of 300,000 tokens summed across all inputs in a
// single request"), and at most embedSeqWorkers requests of EmbedSeq in
// flight: each holds up to a request's inputs and, once answered, their
// vectors (2,048 of 3,072 floats are 25 MB), so memory stays bounded
// whatever the input's size; a few large requests in flight already
// exceed any embeddings quota.
const (
	maxEmbedRequestTokens = 300_000
	embedSeqWorkers       = 8
)

// Embed returns the embedding of every input, in input order, computed by
// the client's model (an embeddings model, such as
// "azure-text-embedding-3-small"). It sends as few requests as the model's
// limits allow ([registry.Model.MaxInputs] inputs and 300,000 tokens per
// request, and the tokens-per-minute limit), in parallel under the
// client's limits, retrying and failing over as [Client.Generate] does;
// the token estimate of each request is the inputs' own (an embedding has
// no output). Identical inputs are sent once; with [WithCache] each vector
// is cached and found again by its text, model and dimensions. Sampling
// options do not apply; [WithDimensions] and [WithUser] do. The call
// succeeds or fails as a whole: an input the server refuses makes the
// error name its index. For inputs that do not fit in memory, or a result
// per input, use [Client.EmbedSeq].
func (c *Client) Embed(ctx context.Context, inputs []string, opts ...Option) (*Embeddings, error) {
	start := time.Now()
	out, err := c.embed(ctx, inputs, opts)
	c.stats.finish(err)
	if err != nil {
		return nil, err
	}
	out.Latency = time.Since(start)
	return out, nil
}

func (c *Client) embed(ctx context.Context, inputs []string, opts []Option) (*Embeddings, error) {
	o, err := c.callOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := c.embedStart(ctx); err != nil {
		return nil, err
	}
	if len(inputs) == 0 {
		return nil, &Error{Code: CodeInvalidRequest, Model: c.model.ID, Message: "Embed: no inputs"}
	}
	for i, s := range inputs {
		if s == "" {
			return nil, &Error{Code: CodeInvalidRequest, Model: c.model.ID, Message: fmt.Sprintf("Embed: input %d is empty; the embeddings API refuses empty strings", i)}
		}
	}
	// The distinct texts, each with the inputs that share it.
	index := make(map[string]int, len(inputs))
	var texts []string
	of := make([]int, len(inputs))
	for i, s := range inputs {
		j, ok := index[s]
		if !ok {
			j = len(texts)
			index[s] = j
			texts = append(texts, s)
		}
		of[i] = j
	}
	b := c.newEmbedBatch(ctx, o, len(texts))
	b.whole = true
	for j, s := range texts {
		b.add(j, s)
	}
	b.run()
	if b.err != nil {
		return nil, b.err
	}
	out := &Embeddings{Vectors: make([]Vector, len(inputs)), Model: c.model.ID, Provider: c.model.Provider,
		Usage: b.usage, Cost: b.cost, Requests: b.requests, Cached: len(inputs) - len(texts)}
	for j := range b.results {
		if b.results[j].Cached {
			out.Cached++
		}
	}
	if b.model != "" {
		out.Model, out.Provider = b.model, b.provider
	}
	for i, j := range of {
		r := &b.results[j]
		if r.Err != nil {
			return nil, r.Err
		}
		out.Vectors[i] = r.Vector
	}
	return out, nil
}

// embedStart refuses an Embed when the client is closed, the context done
// or the model is not an embeddings model.
func (c *Client) embedStart(ctx context.Context) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if ctx.Err() != nil {
		return canceledError(ctx, nil)
	}
	if s := c.model.APISpec; s != "" && s != registry.APISpecEmbeddings {
		return &Error{Code: CodeInvalidRequest, Provider: c.model.Provider, Model: c.model.ID,
			Message: fmt.Sprintf("model %s is not an embeddings model (its APISpec is %q): create the client with one, such as azure-text-embedding-3-small", c.model.ID, s)}
	}
	return nil
}

// EmbedSeq is [Client.Embed] for inputs that do not fit in memory: it
// pulls inputs from seq as requests free up, packs them into requests as
// Embed does, and yields one [EmbedResult] per input as its request
// completes (in completion order, under the index seq gave it). A request
// that fails yields its error for each of its inputs, except that an
// input the server refuses (too long, invalid) is found by splitting the
// request, so the other inputs still get their vectors. At most eight
// requests are in flight (fewer with a lower concurrency limit), which
// bounds memory. Identical inputs of one request are sent once; with
// [WithCache], inputs seen before are answered from it. Breaking out of
// the loop cancels the requests in flight.
func (c *Client) EmbedSeq(ctx context.Context, seq iter.Seq2[int, string], opts ...Option) iter.Seq2[int, EmbedResult] {
	return func(yield func(int, EmbedResult) bool) {
		o, err := c.callOptions(opts)
		if err == nil {
			err = c.embedStart(ctx)
		}
		if err != nil {
			for i := range seq {
				c.stats.finish(err)
				if !yield(i, EmbedResult{Index: i, Err: err}) {
					return
				}
			}
			return
		}
		next, stopInput := iter.Pull2(seq)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var (
			mu       sync.Mutex // guards next
			done     bool
			results  = make(chan EmbedResult, c.embedMaxInputs())
			stop     = make(chan struct{})
			finished = make(chan struct{})
		)
		// pull packs the next request's inputs.
		pull := func() (*embedBatch, bool) {
			mu.Lock()
			defer mu.Unlock()
			if done || ctx.Err() != nil {
				return nil, false
			}
			b := c.newEmbedBatch(ctx, o, 0)
			for !b.full() {
				i, s, ok := next()
				if !ok {
					done = true
					break
				}
				b.add(i, s)
			}
			return b, len(b.items) > 0
		}
		workers := min(c.opts.limits.MaxConcurrency, embedSeqWorkers)
		go func() {
			defer close(finished)
			defer close(results)
			workpool.Run(workpool.New(workers, workers), pull, func(b *embedBatch) bool {
				b.run()
				for k := range b.results {
					r := b.results[k]
					c.stats.finish(r.Err)
					select {
					case results <- r:
					case <-stop:
						return false
					}
				}
				return true
			})
		}()
		deliver(results, yield, stop, cancel)
		<-finished
		mu.Lock()
		stopInput()
		mu.Unlock()
	}
}

// embedMaxInputs is how many inputs one request may carry: the smallest
// MaxInputs of the client's models (one for a model that does not say).
func (c *Client) embedMaxInputs() int {
	n := 0
	for _, t := range c.targets {
		m := max(t.model.MaxInputs, 1)
		if n == 0 || m < n {
			n = m
		}
	}
	return max(n, 1)
}

// embedMaxTokens is the largest token estimate of one request.
func (c *Client) embedMaxTokens() int {
	n := maxEmbedRequestTokens
	for _, t := range c.targets {
		if t.maxTokens > 0 {
			n = min(n, t.maxTokens)
		}
	}
	return n
}

// embedItem is one input of an embedBatch.
type embedItem struct {
	index  int // the caller's index
	text   string
	tokens int // estimate
	key    string
}

// embedBatch is the inputs of one request (or, for Embed, of all its
// requests), their results, and what sending them cost.
type embedBatch struct {
	c       *Client
	ctx     context.Context
	o       *callOptions
	items   []embedItem
	tokens  int
	limit   int // most inputs per request
	cap     int // most tokens per request
	results []EmbedResult

	mu              sync.Mutex
	usage           Usage
	cost            float64
	requests        int
	model, provider string
	err             error // the first error
	// whole: the batch succeeds or fails as a whole (Embed), so the
	// first failure cancels the other requests.
	whole bool
}

func (c *Client) newEmbedBatch(ctx context.Context, o *callOptions, n int) *embedBatch {
	return &embedBatch{c: c, ctx: ctx, o: o, items: make([]embedItem, 0, n), limit: c.embedMaxInputs(), cap: c.embedMaxTokens()}
}

// add appends an input.
func (b *embedBatch) add(index int, text string) {
	t := max(conversation.EstimateTextTokens(text), 1)
	b.items = append(b.items, embedItem{index: index, text: text, tokens: t})
	b.tokens += t
}

// full reports whether the batch holds a request's worth of inputs.
func (b *embedBatch) full() bool {
	return len(b.items) >= b.limit || b.tokens >= b.cap
}

// run computes every input's result: from the cache, else by requests of
// at most limit inputs and cap tokens, sent in parallel (admission bounds
// them). For Embed, the first failure cancels the rest.
func (b *embedBatch) run() {
	c := b.c
	b.results = make([]EmbedResult, len(b.items))
	var todo []int // positions in items
	seen := make(map[string]int, len(b.items))
	var dups [][2]int // (position, position of the same text)
	for i := range b.items {
		it := &b.items[i]
		b.results[i].Index = it.index
		if j, ok := seen[it.text]; ok {
			dups = append(dups, [2]int{i, j})
			continue
		}
		seen[it.text] = i
		if c.opts.cache != nil {
			it.key = c.embedKey(b.o, it.text)
			if v, ok := c.cachedVector(b.ctx, it.key); ok {
				b.results[i] = EmbedResult{Index: it.index, Vector: v, Cached: true, Model: c.model.ID, Provider: c.model.Provider}
				continue
			}
		}
		todo = append(todo, i)
	}
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	var wg sync.WaitGroup
	for start := 0; start < len(todo); {
		end, tokens := start, 0
		for end < len(todo) && end-start < b.limit && (end == start || tokens+b.items[todo[end]].tokens <= b.cap) {
			tokens += b.items[todo[end]].tokens
			end++
		}
		part := todo[start:end]
		start = end
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.send(ctx, cancel, part)
		}()
	}
	wg.Wait()
	for _, d := range dups {
		r := b.results[d[1]]
		r.Index, r.Tokens, r.Cost, r.Cached = b.items[d[0]].index, 0, 0, r.Err == nil
		b.results[d[0]] = r
	}
}

// send embeds the inputs at positions part in one request; an input the
// server refuses is isolated by splitting the request in halves.
func (b *embedBatch) send(ctx context.Context, cancel context.CancelFunc, part []int) {
	c := b.c
	texts := make([]string, len(part))
	tokens := 0
	for k, i := range part {
		texts[k] = b.items[i].text
		tokens += b.items[i].tokens
	}
	resp, eff, err := c.embedRequest(ctx, b.o, texts, tokens)
	b.mu.Lock()
	b.requests += eff.attempts
	b.mu.Unlock()
	if err != nil {
		if len(part) > 1 && refusedInput(err) && ctx.Err() == nil {
			half := len(part) / 2
			b.send(ctx, cancel, part[:half])
			b.send(ctx, cancel, part[half:])
			return
		}
		if len(part) == 1 {
			err = fmt.Errorf("input %d: %w", b.items[part[0]].index, err)
		}
		for _, i := range part {
			b.results[i] = EmbedResult{Index: b.items[i].index, Err: err, Attempts: eff.attempts, Latency: eff.latency}
		}
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
		if b.whole {
			cancel() // Embed fails as a whole: stop the other requests
		}
		return
	}
	b.mu.Lock()
	b.usage = b.usage.Add(resp.Usage)
	b.cost += resp.Cost
	if b.model == "" {
		b.model, b.provider = resp.model, resp.provider
	}
	b.mu.Unlock()
	shares := shareTokens(resp.Usage.InputTokens, part, b.items)
	for k, i := range part {
		it := &b.items[i]
		r := EmbedResult{Index: it.index, Vector: resp.Vectors[k], Tokens: shares[k], Attempts: eff.attempts, Latency: eff.latency,
			Model: resp.model, Provider: resp.provider, Region: resp.Region, RequestID: resp.RequestID}
		if tokens > 0 {
			r.Cost = resp.Cost * float64(it.tokens) / float64(tokens)
		}
		b.results[i] = r
		if c.opts.cache != nil {
			c.putVector(b.ctx, it.key, &r)
		}
	}
}

// refusedInput reports whether a request failed because of what it holds,
// so that a smaller one may succeed.
func refusedInput(err error) bool {
	switch CodeOf(err) {
	case CodeInvalidRequest, CodeContextLength, CodeContentFiltered:
		return true
	}
	return false
}

// shareTokens splits a request's token count over its inputs in
// proportion to their estimates, the shares summing to total.
func shareTokens(total int, part []int, items []embedItem) []int {
	out := make([]int, len(part))
	est := 0
	for _, i := range part {
		est += items[i].tokens
	}
	if est == 0 || total <= 0 {
		return out
	}
	given := 0
	for k, i := range part {
		out[k] = total * items[i].tokens / est
		given += out[k]
	}
	for k := 0; given < total; k = (k + 1) % len(out) {
		out[k]++
		given++
	}
	return out
}

// embedReply is an embeddings response with the engine's view of it.
type embedReply struct {
	*EmbedResponse
	model, provider string
}

// embedCall is the embeddings request a call carries (see call.emb).
type embedCall struct {
	req  EmbedRequest
	resp *EmbedResponse
}

// embedRequest sends one embeddings request through the request flow:
// routing, admission (its tokens counted against the TPM limits),
// attempts, failover and accounting, as a Generate.
func (c *Client) embedRequest(ctx context.Context, o *callOptions, texts []string, tokens int) (*embedReply, effort, error) {
	k := call{c: c, o: o, emb: &embedCall{req: EmbedRequest{Inputs: texts, Dimensions: o.dimensions, User: o.sampling.User}}}
	t, outages, err := c.pick(nil, nil)
	if err != nil {
		return nil, effort{}, err
	}
	k.t, k.outages = t, outages
	k.req = &Request{Model: t.model}
	k.cost = tokens
	ctx = k.observe(ctx, OperationEmbeddings)
	resp, err := k.attempts(ctx)
	if err != nil {
		k.observed(nil, k.spent(), err)
		return nil, k.spent(), err
	}
	k.observed(resp, effort{attempts: resp.Attempts, latency: resp.Latency}, nil)
	er := k.emb.resp
	er.Cost = resp.Cost
	return &embedReply{EmbedResponse: er, model: resp.Model, provider: resp.Provider},
		effort{attempts: resp.Attempts, latency: resp.Latency}, nil
}

// sendEmbed makes one attempt of an embeddings call, under the attempt
// timeout, and returns it as a Response for the engine's accounting.
func (k *call) sendEmbed(ctx context.Context) (*Response, error) {
	t := k.t
	p, err := t.provider()
	if err != nil {
		return nil, err
	}
	e, ok := p.(Embedder)
	if !ok {
		return nil, &Error{Code: CodeInvalidRequest, Provider: t.model.Provider, Model: t.model.ID,
			Message: fmt.Sprintf("provider %s does not compute embeddings (it does not implement llm.Embedder)", t.model.Provider)}
	}
	k.c.stats.requests.Add(1)
	req := k.emb.req
	req.Model = t.model
	timeout := k.c.opts.requestTimeout
	actx, cancel := attemptContext(ctx, timeout)
	actx = k.attemptStarted(actx)
	resp, err := e.Embed(actx, &req)
	timedOut := err != nil && ctx.Err() == nil && actx.Err() != nil
	cancel()
	switch {
	case timedOut && CodeOf(err) != CodeTimeout:
		return nil, &Error{Code: CodeTimeout, Provider: t.model.Provider, Model: t.model.ID,
			Message: fmt.Sprintf("no reply within %v (WithRequestTimeout)", timeout), Err: err}
	case err != nil:
		return nil, err
	case resp == nil || len(resp.Vectors) != len(req.Inputs):
		n := 0
		if resp != nil {
			n = len(resp.Vectors)
		}
		return nil, &Error{Code: CodeUnknown, Provider: t.model.Provider, Model: t.model.ID,
			Message: fmt.Sprintf("the provider returned %d vectors for %d inputs", n, len(req.Inputs))}
	}
	k.emb.resp = resp
	return &Response{Usage: resp.Usage, Cost: resp.Cost, Attempts: resp.Attempts, Header: resp.Header,
		RequestID: resp.RequestID, Region: resp.Region, ServedModel: resp.ServedModel}, nil
}

// embedKey is the cache key of an input's vector: the text, the model
// (provider, ID, wire name, endpoint), the provider's identity for it
// (where it sends the model: endpoints, deployment, API version; see
// [CacheIdentity]) and the dimensions.
func (c *Client) embedKey(o *callOptions, text string) string {
	m := &c.model
	h := sha256.New()
	fp := fingerprinter{h: h}
	fp.str("deluge-embed-v2")
	fp.str(m.Provider)
	fp.str(m.ID)
	fp.str(m.Name)
	fp.str(m.APIBase)
	if t := c.byID[m.ID]; t != nil {
		fp.str(c.identity(t))
	} else {
		fp.str("")
	}
	fp.int(int64(o.dimensions))
	fp.str(text)
	return hex.EncodeToString(h.Sum(nil))
}

// cachedVector returns the cached vector of key, counting a hit and what
// it saved (the input's share of its request's price), as cacheGet does
// for a reply.
func (c *Client) cachedVector(ctx context.Context, key string) (Vector, bool) {
	resp, ok, err := c.opts.cache.Get(ctx, key)
	if err != nil {
		c.cacheError(ctx, "get", err)
		return nil, false
	}
	if !ok || resp == nil || len(resp.Embedding) == 0 {
		return nil, false
	}
	c.stats.cacheHits.Add(1)
	saved := resp.Cost
	if saved == 0 {
		saved = priceUsage(&c.model, "", resp.Usage) // a store that forgot the price
	}
	c.stats.saved.add(saved)
	return resp.Embedding, true
}

// putVector stores an input's vector, as a Response whose Embedding holds
// it (the cache stores Responses).
func (c *Client) putVector(ctx context.Context, key string, r *EmbedResult) {
	if key == "" {
		return
	}
	resp := &Response{Model: r.Model, Provider: r.Provider, Region: r.Region, RequestID: r.RequestID,
		Usage: Usage{InputTokens: r.Tokens}, Cost: r.Cost, Embedding: r.Vector, Attempts: r.Attempts, Latency: r.Latency}
	if err := c.opts.cache.Put(context.WithoutCancel(ctx), key, resp); err != nil {
		c.cacheError(ctx, "put", err)
	}
}
