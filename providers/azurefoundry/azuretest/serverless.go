package azuretest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ServerlessPath is the chat route of a serverless (models-as-a-service)
// endpoint, https://{name}.{region}.models.ai.azure.com/chat/completions:
// one model per endpoint, no deployment in the path.
const ServerlessPath = "/chat/completions"

// bodyServerlessUnauthorized is a serverless endpoint's 401
// (fixture modelinference_serverless_error_401.recording.json): not the
// OpenAI envelope.
var bodyServerlessUnauthorized = []byte(`{"statusCode":401,"message":"Auth token validation failed. Please provide a valid key or a valid AAD token"}`)

const hdrXMsErrorReason = "X-Ms-Error-Reason"

// WithServerless makes the handler also act as the serverless endpoint of
// model (e.g. "mistral-large-2411"): POST /chat/completions answers for
// that model whatever the body's "model" says, as the recordings in
// fixtures/azure (modelinference_serverless_*) show: no content-filter
// annotations in the body, usage on the finish chunk of a stream (no
// stream_options needed, no prompt-annotation event), a 401 body of its
// own ({"statusCode":401,…} with x-ms-error-reason). The key goes in
// api-key or as "Authorization: Bearer <key>"; a configured Entra ID token
// is accepted as a bearer too. api-version may be absent or any value.
//
// The model is also a deployment of the same name, so WithRateLimit,
// SetFaults, Stats and LastRequest work for it as for the others.
func WithServerless(model string) Option {
	return func(c *config) {
		c.serverless = model
		WithDeployment(model, model)(c)
	}
}

// serverlessChat serves POST /chat/completions on a serverless endpoint.
func (h *Handler) serverlessChat(x *exchange) {
	if !h.checkMethod(x, http.MethodPost) || !h.authorizeServerless(x) {
		return
	}
	x.apiVersion = x.r.URL.Query().Get("api-version")
	d := h.deployments[h.serverless]
	x.arrival.Deployment = d.name

	buf := getBuf()
	if _, err := buf.ReadFrom(http.MaxBytesReader(x.w, x.r.Body, maxBodyBytes)); err != nil {
		putBuf(buf)
		h.writeJSON(x, http.StatusBadRequest, bodyMalformedJSON)
		return
	}
	var req chatRequest
	err := json.Unmarshal(buf.Bytes(), &req)
	h.keepLast(x, buf, d.name, req.Stream, opChat)
	if err != nil {
		h.writeJSON(x, http.StatusBadRequest, decodeErrorBody(err))
		return
	}
	x.arrival.Stream = req.Stream
	x.v1 = true // no dated-version rules
	if body := h.validate(x, d, &req); body != nil {
		h.writeJSON(x, http.StatusBadRequest, body)
		return
	}
	if d.exhausted.Load() {
		h.writeRateLimited(x, "token", 86400*time.Second)
		return
	}
	q := d.limiter.admit(h.now().UnixNano(), req.quotaCost(), *h.defaultLimit.Load())
	h.setRateLimitHeaders(x.w.Header(), q)
	if !q.ok {
		h.writeRateLimited(x, q.kind, q.wait)
		return
	}
	faults := h.faults.Load()
	kind, slow, stall := h.drawFault(faults)
	switch kind {
	case fault429:
		h.writeRateLimited(x, "token", cmpOr(faults.RetryAfter, time.Second))
		return
	case faultDaily:
		h.writeRateLimited(x, "token", 86400*time.Second)
		return
	case fault500:
		h.writeJSON(x, http.StatusInternalServerError, serverErrorBody(false, x.requestID))
		return
	case fault503:
		h.writeJSON(x, http.StatusServiceUnavailable, serverErrorBody(true, x.requestID))
		return
	case faultReset:
		x.arrival.Status = StatusReset
		resetConnection(x.w)
		return
	}
	delay := h.delay()
	if slow {
		delay += cmpOr(faults.SlowDelay, 2*time.Second)
	}
	if !h.sleep(x.r.Context(), delay) {
		x.arrival.Status = StatusClientClosed
		return
	}
	hdr := x.w.Header()
	hdr[hdrXRequestID] = []string{newUUID()}
	hdr[hdrXMsRaiInvoked] = []string{"true"}
	if h.promptWord != "" && req.mentions(h.promptWord) {
		h.writeJSON(x, http.StatusBadRequest, bodyPromptFiltered)
		return
	}
	if stall && !req.Stream {
		h.stall(x)
		return
	}
	rep := h.generate(&req, d.reasoning)
	meta := responseMeta{id: newServerlessID(), created: h.now().Unix(), model: d.model, prompt: req.promptTokens}
	if req.Stream {
		stallAfter := -1
		if stall {
			stallAfter = max(faults.StallAfter, 0)
		}
		h.serverlessStream(x, &meta, &rep, stallAfter)
		return
	}
	out := getBuf()
	defer putBuf(out)
	out.Write(appendServerlessCompletion(out.AvailableBuffer(), &meta, &rep))
	h.writeJSON(x, http.StatusOK, out.Bytes())
}

// authorizeServerless accepts a configured key in api-key or as a bearer
// token, or a configured Entra ID token as a bearer.
func (h *Handler) authorizeServerless(x *exchange) bool {
	if len(h.apiKeys) == 0 && len(h.bearerTokens) == 0 {
		return true
	}
	cred := x.r.Header.Get("api-key")
	if cred == "" {
		cred, _ = bearerToken(x.r.Header.Get("Authorization"))
	}
	if cred != "" && (h.apiKeys[cred] || h.bearerTokens[cred]) {
		return true
	}
	x.w.Header()[hdrXMsErrorReason] = []string{"Invalid JWT."}
	h.writeJSON(x, http.StatusUnauthorized, bodyServerlessUnauthorized)
	return false
}

// bearerToken returns the token of "Bearer <token>".
func bearerToken(auth string) (string, bool) {
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// newServerlessID is a 32-hex id, as the serverless stream recording has.
func newServerlessID() string {
	u := newUUID()
	b := make([]byte, 0, 32)
	for i := range len(u) {
		if u[i] != '-' {
			b = append(b, u[i])
		}
	}
	return string(b)
}

// appendServerlessCompletion renders a chat.completion in the layout of the
// serverless recording: no annotations, no system_fingerprint, tool_calls
// null when there are none.
func appendServerlessCompletion(b []byte, m *responseMeta, rep *reply) []byte {
	b = append(b, `{"choices":[{"finish_reason":`...)
	b = appendJSONString(b, rep.finishReason)
	b = append(b, `,"index":0,"message":{"content":`...)
	if rep.toolName != "" || rep.filtered {
		b = append(b, "null"...)
	} else {
		b = appendJSONString(b, rep.text)
	}
	b = append(b, `,"role":"assistant","tool_calls":`...)
	if rep.toolName != "" {
		b = append(b, `[{"function":{"arguments":`...)
		b = appendJSONString(b, rep.toolArgs)
		b = append(b, `,"name":`...)
		b = appendJSONString(b, rep.toolName)
		b = append(b, `},"id":`...)
		b = appendJSONString(b, rep.toolCallID)
		b = append(b, `,"type":"function"}]`...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `}}],"created":`...)
	b = strconv.AppendInt(b, m.created, 10)
	b = append(b, `,"id":`...)
	b = appendJSONString(b, m.id)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, m.model)
	b = append(b, `,"object":"chat.completion","usage":`...)
	b = appendServerlessUsage(b, m.prompt, rep.completion)
	return append(b, '}')
}

func appendServerlessUsage(b []byte, prompt, completion int) []byte {
	b = append(b, `{"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(completion), 10)
	b = append(b, `,"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(prompt+completion), 10)
	return append(b, '}')
}

// serverlessStream writes the layout of the serverless stream recording: a
// role chunk with empty content, one chunk per piece, a finish chunk with
// empty content that also carries usage, then [DONE]. Tool calls stream as
// OpenAI tool_call deltas.
func (h *Handler) serverlessStream(x *exchange, m *responseMeta, rep *reply, stallAfter int) {
	hdr := x.w.Header()
	hdr[hdrContentType] = []string{"text/event-stream; charset=utf-8"}
	x.arrival.Status = http.StatusOK
	x.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(x.w)
	ctx := x.r.Context()
	ev := make([]byte, 0, 512)
	send := func(delta func(b []byte) []byte, finish string, usage bool) bool {
		if ctx.Err() != nil {
			x.arrival.Status = StatusClientClosed
			return false
		}
		b := append(ev[:0], `data: {"choices":[{"delta":`...)
		b = delta(b)
		b = append(b, `,"finish_reason":`...)
		b = appendNullableString(b, finish)
		b = append(b, `,"index":0,"logprobs":null}],"created":`...)
		b = strconv.AppendInt(b, m.created, 10)
		b = append(b, `,"id":`...)
		b = appendJSONString(b, m.id)
		b = append(b, `,"model":`...)
		b = appendJSONString(b, m.model)
		b = append(b, `,"object":"chat.completion.chunk"`...)
		if usage {
			b = append(b, `,"usage":`...)
			b = appendServerlessUsage(b, m.prompt, rep.completion)
		}
		ev = append(b, "}\n\n"...)
		if _, err := x.w.Write(ev); err != nil {
			x.arrival.Status = StatusClientClosed
			return false
		}
		_ = rc.Flush()
		return true
	}
	var pieces []string
	if rep.toolName != "" {
		if !send(func(b []byte) []byte {
			b = append(b, `{"content":null,"role":"assistant","tool_calls":[{"function":{"arguments":"","name":`...)
			b = appendJSONString(b, rep.toolName)
			b = append(b, `},"id":`...)
			b = appendJSONString(b, rep.toolCallID)
			return append(b, `,"index":0,"type":"function"}]}`...)
		}, "", false) {
			return
		}
		pieces = splitFixed(rep.toolArgs, 8)
	} else {
		if !send(func(b []byte) []byte { return append(b, `{"content":"","role":"assistant"}`...) }, "", false) {
			return
		}
		if !rep.filtered {
			pieces = SplitReply(rep.text)
		}
	}
	for i, piece := range pieces {
		if i == stallAfter {
			h.stall(x)
			return
		}
		if !send(func(b []byte) []byte {
			if rep.toolName != "" {
				b = append(b, `{"tool_calls":[{"function":{"arguments":`...)
				b = appendJSONString(b, piece)
				return append(b, `},"index":0}]}`...)
			}
			b = append(b, `{"content":`...)
			b = appendJSONString(b, piece)
			return append(b, '}')
		}, "", false) {
			return
		}
	}
	if stallAfter >= 0 {
		h.stall(x)
		return
	}
	if !send(func(b []byte) []byte { return append(b, `{"content":""}`...) }, rep.finishReason, true) {
		return
	}
	if ctx.Err() == nil {
		_, _ = x.w.Write(streamDone)
		_ = rc.Flush()
	}
}
