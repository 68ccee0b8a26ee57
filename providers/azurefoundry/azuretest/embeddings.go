package azuretest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
)

// Embeddings limits (Microsoft Learn, embeddings how-to: "The maximum length
// of input text for our latest embedding models is 8,192 tokens ... If
// sending an array of inputs in a single embedding request the max array
// size is 2048").
const (
	MaxEmbeddingInputs      = 2048
	MaxEmbeddingInputTokens = 8192
)

// EmbeddingDimensions is the native vector size of an embeddings model:
// 3072 for text-embedding-3-large, 1536 for text-embedding-3-small,
// text-embedding-ada-002 and others.
func EmbeddingDimensions(model string) int {
	if strings.HasPrefix(strings.ToLower(model), "text-embedding-3-large") {
		return 3072
	}
	return 1536
}

// Embedding is the vector the emulator answers for input: deterministic
// (seeded from the text alone, so every model agrees on a prefix), of
// length dimensions (0: the model's native size) and unit L2 norm. Like
// OpenAI's shortened embeddings, a vector with fewer dimensions is the
// native vector truncated and renormalised. A token-array input is hashed
// as its JSON text, e.g. "[1,2,3]".
func Embedding(model, input string, dimensions int) []float32 {
	native := EmbeddingDimensions(model)
	if dimensions <= 0 || dimensions > native {
		dimensions = native
	}
	f := fnv.New64a()
	f.Write([]byte(input))
	seed := f.Sum64()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	v := make([]float64, native)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	var norm float64
	for _, x := range v[:dimensions] {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	out := make([]float32, dimensions)
	for i := range out {
		out[i] = float32(v[i] / norm)
	}
	return out
}

type embeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	Dimensions     *int            `json:"dimensions"`
	EncodingFormat *string         `json:"encoding_format"`
}

// embeddingInputs decodes input: a string, an array of strings, a token
// array or an array of token arrays. It returns the texts the vectors are
// seeded from and each input's token count.
func embeddingInputs(raw json.RawMessage) (texts []string, tokens []int, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, nil, false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, []int{CountTokens(s)}, true
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		for _, s := range ss {
			texts, tokens = append(texts, s), append(tokens, CountTokens(s))
		}
		return texts, tokens, true
	}
	var one []int
	if json.Unmarshal(raw, &one) == nil {
		return []string{tokenText(one)}, []int{len(one)}, true
	}
	var many [][]int
	if json.Unmarshal(raw, &many) == nil {
		for _, t := range many {
			texts, tokens = append(texts, tokenText(t)), append(tokens, len(t))
		}
		return texts, tokens, true
	}
	return nil, nil, false
}

func tokenText(t []int) string {
	b := []byte{'['}
	for i, n := range t {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return string(append(b, ']'))
}

// parseEmbeddingInputs is LastRequest's view of an embeddings body.
func parseEmbeddingInputs(body []byte) []string {
	var req embeddingsRequest
	if json.Unmarshal(body, &req) != nil {
		return nil
	}
	texts, _, _ := embeddingInputs(req.Input)
	return texts
}

var bodyInvalidInput = openAIError("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", "invalid_request_error", "", "")

// embeddings serves the classic /openai/deployments/{d}/embeddings (d set)
// and v1 /openai/v1/embeddings (the body's model is the deployment). Order
// of checks as for chat; the quota charges the input tokens.
func (h *Handler) embeddings(x *exchange, d *deployment) {
	x.op = "Embeddings_Create"
	var req embeddingsRequest
	buf, err := h.readJSON(x, &req)
	if buf == nil {
		return
	}
	name := x.arrival.Deployment
	if d == nil {
		name = req.Model
	}
	h.record(x, buf, opEmbeddings, name, false)
	if err != nil {
		h.rejectJSON(x, err)
		return
	}
	if d == nil {
		if d = h.bodyDeployment(x, req.Model); d == nil {
			return
		}
	}
	if !h.serves(x, d, opEmbeddings) {
		return
	}
	if !present(req.Input) {
		h.fail(x, http.StatusBadRequest, missingParam("input"))
		return
	}
	texts, tokens, ok := embeddingInputs(req.Input)
	if !ok || len(texts) == 0 || len(texts) == 1 && tokens[0] == 0 {
		h.fail(x, http.StatusBadRequest, bodyInvalidInput)
		return
	}
	if len(texts) > MaxEmbeddingInputs {
		h.fail(x, http.StatusBadRequest, tooManyInputsBody(MaxEmbeddingInputs))
		return
	}
	total := 0
	for _, n := range tokens {
		if n > MaxEmbeddingInputTokens {
			// OpenAI's context-length message for embeddings.
			h.fail(x, http.StatusBadRequest, openAIError("This model's maximum context length is "+strconv.Itoa(MaxEmbeddingInputTokens)+" tokens, however you requested "+strconv.Itoa(n)+" tokens ("+strconv.Itoa(n)+" in your prompt; 0 for the completion). Please reduce your prompt; or completion length.", "invalid_request_error", "", ""))
			return
		}
		total += n
	}
	native := EmbeddingDimensions(d.model)
	dims := native
	if req.Dimensions != nil {
		switch n := *req.Dimensions; {
		case !strings.HasPrefix(strings.ToLower(d.model), "text-embedding-3"):
			// Reported by Azure users too (patterns-ai-core/weaviate-ruby#66).
			h.fail(x, http.StatusBadRequest, openAIError("This model does not support specifying dimensions.", "invalid_request_error", "", ""))
			return
		case n < 1:
			h.fail(x, http.StatusBadRequest, openAIError("Invalid 'dimensions': integer below minimum value. Expected a value >= 1, but got "+strconv.Itoa(n)+" instead.", "invalid_request_error", "dimensions", "integer_below_min_value"))
			return
		case n > native:
			h.fail(x, http.StatusBadRequest, openAIError("Invalid 'dimensions': integer above maximum value. Expected a value <= "+strconv.Itoa(native)+", but got "+strconv.Itoa(n)+" instead.", "invalid_request_error", "dimensions", "integer_above_max_value"))
			return
		default:
			dims = n
		}
	}
	b64 := false
	if f := req.EncodingFormat; f != nil {
		switch *f {
		case "float":
		case "base64":
			b64 = true
		default:
			h.fail(x, http.StatusBadRequest, openAIError("Invalid value: '"+*f+"'. Supported values are: 'float' and 'base64'.", "invalid_request_error", "encoding_format", "invalid_value"))
			return
		}
	}

	if !h.admit(x, d, total) {
		return
	}
	f, ok := h.reachModel(x, false)
	if !ok {
		return
	}
	if f.stall {
		h.stall(x)
		return
	}
	h.answerHeaders(x, opEmbeddings)

	out := make([]byte, 0, 64+len(texts)*dims*12)
	out = append(out, `{"object":"list","data":[`...)
	var raw []byte
	for i, t := range texts {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"object":"embedding","index":`...)
		out = strconv.AppendInt(out, int64(i), 10)
		out = append(out, `,"embedding":`...)
		v := Embedding(d.model, t, dims)
		if b64 {
			raw = raw[:0]
			for _, f := range v {
				raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
			}
			out = append(out, '"')
			out = base64.StdEncoding.AppendEncode(out, raw)
			out = append(out, '"')
		} else {
			out = append(out, '[')
			for j, f := range v {
				if j > 0 {
					out = append(out, ',')
				}
				out = strconv.AppendFloat(out, float64(f), 'g', -1, 32)
			}
			out = append(out, ']')
		}
		out = append(out, '}')
	}
	out = append(out, `],"model":`...)
	out = appendJSONString(out, d.model)
	out = append(out, `,"usage":{"prompt_tokens":`...)
	out = strconv.AppendInt(out, int64(total), 10)
	out = append(out, `,"total_tokens":`...)
	out = strconv.AppendInt(out, int64(total), 10)
	out = append(out, "}}"...)
	h.writeJSON(x, http.StatusOK, out)
}
