package azuretest

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxBodyBytes bounds a request body; larger bodies are rejected as malformed.
const maxBodyBytes = 32 << 20

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // do not pin huge buffers
		bufPool.Put(b)
	}
}

// Parameters reasoning deployments reject, in the order they are checked.
var reasoningRejected = []struct {
	name string
	raw  func(*chatRequest) json.RawMessage
}{
	{"temperature", func(r *chatRequest) json.RawMessage { return r.Temperature }},
	{"top_p", func(r *chatRequest) json.RawMessage { return r.TopP }},
	{"presence_penalty", func(r *chatRequest) json.RawMessage { return r.PresencePenalty }},
	{"frequency_penalty", func(r *chatRequest) json.RawMessage { return r.FrequencyPenalty }},
	{"logprobs", func(r *chatRequest) json.RawMessage { return r.Logprobs }},
	{"top_logprobs", func(r *chatRequest) json.RawMessage { return r.TopLogprobs }},
	{"logit_bias", func(r *chatRequest) json.RawMessage { return r.LogitBias }},
}

// reachChatModel takes a validated chat request to the model, the steps
// its routes (chat, serverless) share: charge the quota, draw the fault and
// wait the latency, set the answer's headers, apply the prompt filter, and
// stall a non-streamed reply when told to (a stream stalls as it goes). It
// returns the injected fault, false when the request ended there.
func (h *Handler) reachChatModel(x *exchange, d *deployment, req *chatRequest) (injected, bool) {
	if !h.admit(x, d, req.quotaCost()) {
		return injected{}, false
	}
	f, ok := h.reachModel(x, false)
	if !ok {
		return f, false
	}
	h.answerHeaders(x, opChat)
	if h.filterPrompt(x, req) {
		return f, false
	}
	if f.stall && !req.Stream {
		h.stall(x)
		return f, false
	}
	return f, true
}

// chat serves a chat completions request. d is nil on the v1 route, where
// the body's model names the deployment.
func (h *Handler) chat(x *exchange, d *deployment) {
	var req chatRequest
	buf, err := h.readJSON(x, &req)
	if buf == nil {
		return
	}
	name := x.arrival.Deployment
	if d == nil {
		name = req.Model
	}
	h.record(x, buf, opChat, name, req.Stream)
	if err != nil {
		h.rejectJSON(x, err)
		return
	}
	x.arrival.Stream = req.Stream
	if d == nil {
		if d = h.bodyDeployment(x, req.Model); d == nil {
			return
		}
	}
	if !h.serves(x, d, opChat) {
		return
	}
	if body := h.validate(x, d, &req); body != nil {
		h.fail(x, http.StatusBadRequest, body)
		return
	}
	if x.batchLine && req.Stream {
		h.fail(x, http.StatusBadRequest, bodyBatchStream)
		return
	}
	f, ok := h.reachChatModel(x, d, &req)
	if !ok {
		return
	}

	rep := h.generate(&req, d.reasoning)
	meta := responseMeta{
		id:          newCompletionID(),
		created:     h.now().Unix(),
		model:       d.model,
		fingerprint: d.fingerprint,
		prompt:      req.promptTokens,
	}
	if len(d.routes) > 0 {
		meta.model = d.servedModel(&req)
		meta.fingerprint = fingerprint(meta.model)
	}
	if req.Stream {
		h.stream(x, &meta, &rep, req.StreamOptions != nil && req.StreamOptions.IncludeUsage, f.stallAfter())
		return
	}
	out := getBuf()
	defer putBuf(out)
	out.Write(appendCompletion(out.AvailableBuffer(), &meta, &rep))
	h.writeJSON(x, http.StatusOK, out.Bytes())
}

// validate returns the 400 body for a request Azure would reject before
// running the model, or nil.
func (h *Handler) validate(x *exchange, d *deployment, req *chatRequest) []byte {
	if req.Messages == nil {
		return openAIError("Missing required parameter: 'messages'.", "invalid_request_error", "messages", "missing_required_parameter")
	}
	if len(req.Messages) == 0 {
		return bodyEmptyMessages
	}
	if param, msg := req.prepare(); msg != "" {
		return openAIError(msg, "invalid_request_error", param, "invalid_type")
	}
	for _, p := range [...]struct {
		name string
		v    *int
	}{{"max_tokens", req.MaxTokens}, {"max_completion_tokens", req.MaxCompletionTokens}} {
		if p.v != nil && *p.v < 1 {
			return openAIError("Invalid '"+p.name+"': integer below minimum value. Expected a value >= 1, but got "+strconv.Itoa(*p.v)+" instead.", "invalid_request_error", p.name, "integer_below_min_value")
		}
	}
	if !d.reasoning {
		return nil
	}
	// Dated versions before 2024-12-01 predate reasoning models.
	if !x.v1 && len(x.apiVersion) >= 10 && x.apiVersion[:10] < "2024-12-01" {
		return bodyReasoningAPIVersion
	}
	if req.MaxTokens != nil {
		return unsupportedParameterBody("max_tokens")
	}
	for _, p := range reasoningRejected {
		if present(p.raw(req)) {
			return unsupportedParameterBody(p.name)
		}
	}
	return nil
}

// textLength is the length in bytes of the messages' text.
func (r *chatRequest) textLength() int {
	n := 0
	for _, m := range r.Messages {
		n += len(m.text)
	}
	return n
}

// mentions reports whether any message text contains word.
func (r *chatRequest) mentions(word string) bool {
	for _, m := range r.Messages {
		if strings.Contains(m.text, word) {
			return true
		}
	}
	return false
}

func (h *Handler) writeRateLimited(x *exchange, kind string, wait time.Duration) {
	ms, secs := retryAfterValues(wait)
	hdr := x.w.Header()
	hdr[hdrRetryAfter] = []string{strconv.FormatInt(secs, 10)}
	hdr[hdrRetryAfterMs] = []string{strconv.FormatInt(ms, 10)}
	x.arrival.RetryAfter = time.Duration(ms) * time.Millisecond
	h.fail(x, http.StatusTooManyRequests, rateLimitBody(x.op, x.apiVersion, kind, secs))
}

// setRateLimitHeaders reports the quota as Azure does: what is left of the
// current 10-second window's requests, and of the minute's tokens. Azure
// sends no limits; some deployments do (fixtures/azure: 250 requests with
// 250,000 tokens, a 1,500-RPM deployment's 10-second window), and
// WithRateLimitHeaders adds them in that form.
func (h *Handler) setRateLimitHeaders(hdr http.Header, q quotaResult) {
	if q.limit.rpm > 0 {
		hdr[hdrXRatelimitRemainingRequests] = []string{strconv.Itoa(q.remainReq)}
		if h.limitHeaders {
			hdr[hdrXRatelimitLimitRequests] = []string{strconv.Itoa(q.window)}
		}
	}
	if q.limit.tpm > 0 {
		hdr[hdrXRatelimitRemainingTokens] = []string{strconv.Itoa(q.remainTok)}
		if h.limitHeaders {
			hdr[hdrXRatelimitLimitTokens] = []string{strconv.Itoa(q.limit.tpm)}
		}
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// decodeErrorBody maps a json.Unmarshal error to Azure's 400 body.
func decodeErrorBody(err error) []byte {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return openAIError("Invalid type for '"+te.Field+"': expected "+jsonKind(te.Type)+", but got "+article(te.Value)+" instead.", "invalid_request_error", te.Field, "invalid_type")
	}
	return bodyMalformedJSON
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a decimal"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

func article(jsonType string) string {
	switch jsonType {
	case "array", "object", "integer":
		return "an " + jsonType
	case "":
		return "a value"
	default:
		return "a " + jsonType
	}
}

// responseMeta is what every chunk and completion of one response shares.
type responseMeta struct {
	id          string
	created     int64
	model       string
	fingerprint string
	prompt      int
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newCompletionID returns an id shaped like Azure's ("chatcmpl-" + 29 chars).
func newCompletionID() string {
	var b [38]byte
	copy(b[:], "chatcmpl-")
	r := rand.Uint64()
	for i := 9; i < len(b); i++ {
		if r < 62 {
			r = rand.Uint64()
		}
		b[i] = base62[r%62]
		r /= 62
	}
	return string(b[:])
}

// appendCompletion renders a non-stream chat.completion, keys in the order of
// the recordings.
func appendCompletion(b []byte, m *responseMeta, rep *reply) []byte {
	b = append(b, `{"choices":[{"content_filter_results":`...)
	switch {
	case rep.filtered:
		b = append(b, filteredFilterResults...)
	case rep.toolName != "":
		b = append(b, "{}"...)
	default:
		b = append(b, choiceFilterResults...)
	}
	b = append(b, `,"finish_reason":`...)
	b = appendJSONString(b, rep.finishReason)
	b = append(b, `,"index":0,"logprobs":null,"message":`...)
	switch {
	case rep.filtered:
		b = append(b, `{"role":"assistant"}`...)
	case rep.toolName != "":
		b = append(b, `{"content":null,"refusal":null,"role":"assistant","tool_calls":[{"function":{"arguments":`...)
		b = appendJSONString(b, rep.toolArgs)
		b = append(b, `,"name":`...)
		b = appendJSONString(b, rep.toolName)
		b = append(b, `},"id":`...)
		b = appendJSONString(b, rep.toolCallID)
		b = append(b, `,"type":"function"}]}`...)
	default:
		b = append(b, `{"content":`...)
		b = appendJSONString(b, rep.text)
		b = append(b, `,"refusal":null,"role":"assistant"}`...)
	}
	b = append(b, `}],"created":`...)
	b = strconv.AppendInt(b, m.created, 10)
	b = append(b, `,"id":`...)
	b = appendJSONString(b, m.id)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, m.model)
	b = append(b, `,"object":"chat.completion","prompt_filter_results":`+promptFilterResults+`,"system_fingerprint":`...)
	b = appendJSONString(b, m.fingerprint)
	b = append(b, `,"usage":`...)
	b = appendUsage(b, m.prompt, rep)
	return append(b, '}')
}

func appendUsage(b []byte, prompt int, rep *reply) []byte {
	b = append(b, `{"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(rep.completion), 10)
	b = append(b, `,"completion_tokens_details":{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":`...)
	b = strconv.AppendInt(b, int64(rep.reasoning), 10)
	b = append(b, `,"rejected_prediction_tokens":0},"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt), 10)
	b = append(b, `,"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":0},"total_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt+rep.completion), 10)
	return append(b, '}')
}
