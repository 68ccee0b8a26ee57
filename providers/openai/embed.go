package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

var _ llm.Embedder = (*Provider)(nil)

// Embed computes the embeddings of req.Inputs in one request (POST
// /embeddings; on go-openai's Azure API types
// {base}/openai/deployments/{deployment}/embeddings?api-version=…), through
// go-openai's CreateEmbeddings and this provider's doer chain (size limit,
// redirects refused, credentials redacted). The vectors are asked for in
// base64 (encoding_format), as OpenAI's own SDKs do by default: a quarter
// of the bytes of a JSON array of numbers, exact, and decoded without
// parsing floats; a server that answers arrays anyway is understood too.
// It does not retry; errors are *llm.Error as for Generate.
func (p *Provider) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if req == nil {
		return nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: p.name, Message: "nil embeddings request"}
	}
	m := req.Model
	if err := checkEmbedRequest(req); err != nil {
		return nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: p.name, Model: m.ID, Message: err.Error()}
	}
	ep, le := p.endpointOf(m)
	if le != nil {
		return nil, le
	}
	st := getState()
	defer putState(st)
	wire := p.wireName(m)
	_, err := ep.client.CreateEmbeddings(withState(ctx, st), goopenai.EmbeddingRequest{
		Input:          req.Inputs,
		Model:          goopenai.EmbeddingModel(wire),
		User:           req.User,
		EncodingFormat: goopenai.EmbeddingEncodingFormatBase64,
		Dimensions:     req.Dimensions,
	})
	if err != nil {
		return nil, p.classify(ctx, m, ep, st, err)
	}
	var w wireEmbeddings
	err = st.dec.decode(st.body, &w)
	if err == nil {
		err = w.check(len(req.Inputs))
	}
	if err != nil {
		e := &llm.Error{Code: llm.CodeUnknown, Provider: p.name, Model: m.ID, StatusCode: st.status,
			RequestID: requestID(st.header), Header: st.header, Err: err,
			Message: "cannot decode the server's embeddings reply: " + err.Error()}
		p.secrets(ep, st).cleanError(e)
		return nil, e
	}
	out := &llm.EmbedResponse{
		Vectors:     make([]llm.Vector, len(req.Inputs)),
		Usage:       llm.Usage{InputTokens: w.Usage.PromptTokens},
		ServedModel: w.Model,
		RequestID:   requestID(st.header),
		Region:      headerValue(st.header, headerRegion),
		Header:      st.header,
	}
	for i := range w.Data {
		out.Vectors[w.Data[i].Index] = llm.Vector(w.Data[i].Embedding)
	}
	sec := p.secrets(ep, st)
	out.RequestID, out.Region, out.ServedModel = sec.id(out.RequestID), sec.id(out.Region), sec.id(out.ServedModel)
	sec.header(out.Header)
	return out, nil
}

// checkEmbedRequest refuses what the server would: no input, an empty
// input, a non-embeddings model, dimensions a model does not take.
func checkEmbedRequest(req *llm.EmbedRequest) error {
	m := req.Model
	switch m.APISpec {
	case "", registry.APISpecEmbeddings:
	default:
		return fmt.Errorf("model %s is not an embeddings model (APISpec %q)", m.ID, m.APISpec)
	}
	if len(req.Inputs) == 0 {
		return fmt.Errorf("no inputs to embed")
	}
	if m.MaxInputs > 0 && len(req.Inputs) > m.MaxInputs {
		return fmt.Errorf("%d inputs in one request; model %s takes at most %d", len(req.Inputs), m.ID, m.MaxInputs)
	}
	for i, s := range req.Inputs {
		if s == "" {
			return fmt.Errorf("input %d is empty; the embeddings API refuses empty strings", i)
		}
	}
	if d := req.Dimensions; d != 0 {
		switch {
		case d < 0:
			return fmt.Errorf("dimensions %d: need at least 1", d)
		case m.Dimensions > 0 && !m.SupportsDimensions:
			return fmt.Errorf("model %s does not take dimensions: its vectors have %d", m.ID, m.Dimensions)
		case m.Dimensions > 0 && d > m.Dimensions:
			return fmt.Errorf("dimensions %d exceed the %d of model %s", d, m.Dimensions, m.ID)
		}
	}
	return nil
}

// wireEmbeddings is an embeddings reply.
type wireEmbeddings struct {
	Model string `json:"model"`
	Data  []struct {
		Index     int        `json:"index"`
		Embedding wireVector `json:"embedding"`
	} `json:"data"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
	} `json:"usage"`
}

// check verifies there is exactly one vector per input.
func (w *wireEmbeddings) check(n int) error {
	if len(w.Data) != n {
		return fmt.Errorf("%d vectors for %d inputs", len(w.Data), n)
	}
	seen := make([]bool, n)
	for i := range w.Data {
		j := w.Data[i].Index
		if j < 0 || j >= n || seen[j] {
			return fmt.Errorf("vector index %d is out of range or repeated", j)
		}
		seen[j] = true
	}
	return nil
}

// wireVector is an embedding as the server sends it: base64 of
// little-endian float32s, or an array of numbers.
type wireVector []float32

func (v *wireVector) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		var fs []float32
		if err := json.Unmarshal(b, &fs); err != nil {
			return err
		}
		*v = fs
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("embedding: want base64 text or an array, got %s", truncate(b, 20))
	}
	s := b[1 : len(b)-1]
	if bytes.IndexByte(s, '\\') >= 0 { // an escaped "/", say
		u, err := strconv.Unquote(string(b))
		if err != nil {
			return err
		}
		s = []byte(u)
	}
	vec, err := llm.DecodeVector(string(s))
	if err != nil {
		return err
	}
	*v = wireVector(vec)
	return nil
}
