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

// chat serves a chat completions request. d is nil on the v1 route, where
// the body's model names the deployment.
func (h *Handler) chat(x *exchange, d *deployment) {
	buf := getBuf()
	if _, err := buf.ReadFrom(http.MaxBytesReader(x.w, x.r.Body, maxBodyBytes)); err != nil {
		putBuf(buf)
		h.writeError(x, http.StatusBadRequest, bodyMalformedJSON)
		return
	}
	var req chatRequest
	err := json.Unmarshal(buf.Bytes(), &req) // copies what it keeps out of buf
	deploymentName := x.arrival.Deployment
	if d == nil {
		deploymentName = req.Model
	}
	if x.batchLine {
		defer putBuf(buf) // req holds copies of what it keeps
	} else {
		h.keepLast(x, buf, deploymentName, req.Stream, opChat) // buf now belongs to LastRequest
	}
	if err != nil {
		h.writeError(x, http.StatusBadRequest, decodeErrorBody(err))
		return
	}
	x.arrival.Stream = req.Stream

	if d == nil {
		if req.Model == "" {
			h.writeError(x, http.StatusBadRequest, openAIError("Missing required parameter: 'model'.", "invalid_request_error", "model", "missing_required_parameter"))
			return
		}
		x.arrival.Deployment = req.Model
		var ok bool
		if d, ok = h.deployments[req.Model]; !ok {
			h.writeError(x, http.StatusNotFound, bodyDeploymentNotFound)
			return
		}
		x.w.Header()[hdrXMsDeploymentName] = []string{d.name}
	}
	if body := d.refuses(opChat, x.batchLine); body != nil {
		h.writeError(x, http.StatusBadRequest, body)
		return
	}

	if body := h.validate(x, d, &req); body != nil {
		h.writeError(x, http.StatusBadRequest, body)
		return
	}
	if x.batchLine && req.Stream {
		h.writeError(x, http.StatusBadRequest, bodyBatchStream)
		return
	}

	// Quota. A daily-quota exhaustion wins over the per-minute buckets.
	if d.exhausted.Load() {
		h.writeRateLimited(x, "token", 86400*time.Second)
		return
	}
	// Batch lines skip the per-minute quota: batch deployments are governed
	// by their enqueued-token quota, checked when the batch is created.
	if !x.batchLine {
		q := d.limiter.admit(h.now().UnixNano(), req.quotaCost(), *h.defaultLimit.Load())
		h.setRateLimitHeaders(x.w.Header(), q)
		if !q.ok {
			h.writeRateLimited(x, q.kind, q.wait)
			return
		}
	}

	faults := h.faults.Load()
	kind, slow, stall := h.drawFault(faults)
	if x.batchLine {
		// A line has no connection to reset and nothing to stall or slow.
		slow, stall = false, false
		if kind == faultReset {
			kind = faultNone
		}
	}
	switch kind {
	case fault429:
		h.writeRateLimited(x, "token", cmpOr(faults.RetryAfter, time.Second))
		return
	case faultDaily:
		h.writeRateLimited(x, "token", 86400*time.Second)
		return
	case fault500:
		h.writeError(x, http.StatusInternalServerError, serverErrorBody(false, x.requestID))
		return
	case fault503:
		h.writeError(x, http.StatusServiceUnavailable, serverErrorBody(true, x.requestID))
		return
	case faultReset:
		x.arrival.Status = StatusReset
		resetConnection(x.w)
		return
	}

	// From here on the request reached the "model": it pays the latency.
	delay := h.delay()
	if x.batchLine {
		delay = 0
	}
	if slow {
		delay += cmpOr(faults.SlowDelay, 2*time.Second)
	}
	if !h.sleep(x.r.Context(), delay) {
		x.arrival.Status = StatusClientClosed
		return
	}

	hdr := x.w.Header()
	hdr[hdrXRequestID] = []string{newUUID()}
	hdr[hdrXMsRegion] = []string{h.region}
	hdr[hdrXMsRaiInvoked] = []string{"true"}
	if h.promptWord != "" && req.mentions(h.promptWord) {
		// Headers of the recorded 400 prompt-filter response.
		hdr[hdrMsAzuremlModelErrorReason] = []string{"model_error"}
		hdr[hdrMsAzuremlModelErrorStatuscode] = []string{"400"}
		h.writeJSON(x, http.StatusBadRequest, bodyPromptFiltered)
		return
	}

	if stall && !req.Stream {
		h.stall(x)
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
		stallAfter := -1
		if stall {
			stallAfter = max(faults.StallAfter, 0)
		}
		h.stream(x, &meta, &rep, req.StreamOptions != nil && req.StreamOptions.IncludeUsage, stallAfter)
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

// mentions reports whether any message text contains word.
// textLength is the length in bytes of the messages' text.
func (r *chatRequest) textLength() int {
	n := 0
	for _, m := range r.Messages {
		n += len(m.text)
	}
	return n
}

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
	h.writeError(x, http.StatusTooManyRequests, rateLimitBody(x.op, x.apiVersion, kind, secs))
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
