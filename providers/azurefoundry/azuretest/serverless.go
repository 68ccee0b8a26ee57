package azuretest

import (
	"net/http"
	"strconv"
	"strings"
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
	x.dialect = dialectServerless
	if !h.checkMethod(x, http.MethodPost) || !h.authorizeServerless(x) {
		return
	}
	x.apiVersion = x.r.URL.Query().Get("api-version")
	x.v1 = true // no dated-version rules
	d := h.deployments[h.serverless]
	x.arrival.Deployment = d.name

	var req chatRequest
	buf, err := h.readJSON(x, &req)
	if buf == nil {
		return
	}
	h.record(x, buf, opChat, d.name, req.Stream)
	if err != nil {
		h.rejectJSON(x, err)
		return
	}
	x.arrival.Stream = req.Stream
	if body := h.validate(x, d, &req); body != nil {
		h.fail(x, http.StatusBadRequest, body)
		return
	}
	f, ok := h.reachChatModel(x, d, &req)
	if !ok {
		return
	}
	rep := h.generate(&req, d.reasoning)
	meta := responseMeta{id: newServerlessID(), created: h.now().Unix(), model: d.model, prompt: req.promptTokens}
	if req.Stream {
		h.serverlessStream(x, &meta, &rep, f.stallAfter())
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
	startSSE(x, "text/event-stream; charset=utf-8", "")
	ev := make([]byte, 0, 1024) // reused for every event
	send := func(delta func(b []byte) []byte, finish string, usage bool) bool {
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
		return sendEvent(x, ev)
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
	sendEvent(x, streamDone)
}
