package llmtest

import (
	"context"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// EmbedFunc computes the fake's answer to an embeddings request. The call
// number n counts from 1, with Generate's calls.
type EmbedFunc func(ctx context.Context, req *llm.EmbedRequest, n int) (*llm.EmbedResponse, error)

// DefaultDimensions is the size of EchoEmbed's vectors when the request
// asks for none.
const DefaultDimensions = 8

var _ llm.Embedder = (*Provider)(nil)

// Embed answers an embeddings request after Latency (llm.Embedder). It
// counts in Calls and MaxInFlight like Generate.
func (p *Provider) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	n := p.arrive()
	defer p.inFlight.Add(-1)
	if err := p.wait(ctx, &llm.Request{Model: req.Model}); err != nil {
		return nil, err
	}
	reply := p.EmbedReply
	if reply == nil {
		reply = EchoEmbed
	}
	return reply(ctx, req, n)
}

// EchoEmbed is the default embeddings reply: Vector(text, dimensions) for
// each input, and usage of the inputs' token estimates.
func EchoEmbed(_ context.Context, req *llm.EmbedRequest, _ int) (*llm.EmbedResponse, error) {
	out := &llm.EmbedResponse{Vectors: make([]llm.Vector, len(req.Inputs))}
	for i, s := range req.Inputs {
		out.Vectors[i] = Vector(s, req.Dimensions)
		out.Usage.InputTokens += max(conversation.EstimateTextTokens(s), 1)
	}
	return out, nil
}

// Vector is the fake's embedding of text: deterministic (seeded from the
// text), of dims dimensions (DefaultDimensions when 0), unit length.
func Vector(text string, dims int) llm.Vector {
	if dims <= 0 {
		dims = DefaultDimensions
	}
	h := fnv.New64a()
	h.Write([]byte(text))
	seed := h.Sum64()
	rng := rand.New(rand.NewPCG(seed, ^seed))
	v := make(llm.Vector, dims)
	var norm float64
	for i := range v {
		x := rng.NormFloat64()
		v[i] = float32(x)
		norm += x * x
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] = float32(float64(v[i]) / norm)
	}
	return v
}
