package azuretest

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AnthropicPath is the route of Claude deployments on a Foundry resource:
// Anthropic's Messages API under /anthropic.
const AnthropicPath = "/anthropic/v1/messages"

// Anthropic response headers, canonical form.
const (
	hdrRequestID                      = "Request-Id"
	hdrAnthropicLimitRequests         = "Anthropic-Ratelimit-Requests-Limit"
	hdrAnthropicRemainingRequests     = "Anthropic-Ratelimit-Requests-Remaining"
	hdrAnthropicLimitTokens           = "Anthropic-Ratelimit-Tokens-Limit"
	hdrAnthropicRemainingTokens       = "Anthropic-Ratelimit-Tokens-Remaining"
	hdrAnthropicLimitInputTokens      = "Anthropic-Ratelimit-Input-Tokens-Limit"
	hdrAnthropicRemainingInputTokens  = "Anthropic-Ratelimit-Input-Tokens-Remaining"
	hdrAnthropicLimitOutputTokens     = "Anthropic-Ratelimit-Output-Tokens-Limit"
	hdrAnthropicRemainingOutputTokens = "Anthropic-Ratelimit-Output-Tokens-Remaining"
)

// IsClaudeModel reports whether a deployment's model is a Claude model,
// which the Anthropic route serves (and the OpenAI routes do not know).
func IsClaudeModel(model string) bool {
	return strings.HasPrefix(strings.ToLower(model), "claude")
}

// anthRequest is the part of a Messages API request the emulator reads.
type anthRequest struct {
	Model         string          `json:"model"`
	MaxTokens     *int            `json:"max_tokens"`
	Messages      []anthMessage   `json:"messages"`
	System        json.RawMessage `json:"system"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	StopSequences []string        `json:"stop_sequences"`
	Stream        bool            `json:"stream"`
	Tools         []anthTool      `json:"tools"`
	ToolChoice    *struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tool_choice"`
	OutputConfig *struct {
		Format *struct {
			Type   string          `json:"type"`
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	} `json:"output_config"`

	turns        []anthTurn // decoded messages
	system       string
	promptTokens int
}

type anthMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type anthBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	Source    *struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"source"`
}

type anthTool struct {
	Name        string          `json:"name"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// anthTurn is one decoded message: its text, images, tool uses (assistant)
// and tool results (user).
type anthTurn struct {
	role        string
	text        string
	parts       []Part
	images      int
	toolUses    []ToolCall
	toolResults []anthResult
}

type anthResult struct{ id, content string }

// decodeAnthropicContent reads a content field: a string, or an array of
// blocks. It reports a message for a field of another type.
func decodeAnthropicContent(raw json.RawMessage, role string) (anthTurn, string) {
	t := anthTurn{role: role}
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return t, "content: Field required"
	case raw[0] == '"':
		if json.Unmarshal(raw, &t.text) != nil {
			return t, "content: invalid string"
		}
		t.parts = []Part{{Type: "text", Text: t.text}}
		return t, ""
	case raw[0] != '[':
		return t, "content: Input should be a valid list"
	}
	var blocks []anthBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return t, "content: Input should be a valid list of content blocks"
	}
	var texts []string
	for _, b := range blocks {
		p := Part{Type: b.Type, Text: b.Text}
		switch b.Type {
		case "text":
			texts = append(texts, b.Text)
		case "image", "document":
			t.images++
			if b.Source != nil {
				p.ImageURL = b.Source.URL
			}
		case "tool_use":
			input := string(bytes.TrimSpace(b.Input))
			if input == "" {
				input = "{}"
			}
			t.toolUses = append(t.toolUses, ToolCall{ID: b.ID, Type: "tool_use", Name: b.Name, Arguments: input})
		case "tool_result":
			t.toolResults = append(t.toolResults, anthResult{id: b.ToolUseID, content: anthResultText(b.Content)})
		}
		t.parts = append(t.parts, p)
	}
	t.text = strings.Join(texts, "\n")
	return t, ""
}

// anthResultText is a tool_result's content: a string, or its text blocks.
func anthResultText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var blocks []anthBlock
	if json.Unmarshal(raw, &blocks) == nil {
		var texts []string
		for _, b := range blocks {
			if b.Type == "text" {
				texts = append(texts, b.Text)
			}
		}
		return strings.Join(texts, "\n")
	}
	return ""
}

// prepare decodes system and messages and counts the prompt tokens: 3, plus
// the system text, plus 3 per message and its text (85 per image or
// document, the tool uses' names and inputs, the tool results), plus the
// tools' JSON.
func (r *anthRequest) prepare() string {
	if sys := bytes.TrimSpace(r.System); len(sys) > 0 && !bytes.Equal(sys, []byte("null")) {
		t, msg := decodeAnthropicContent(sys, "system")
		if msg != "" {
			return "system: Input should be a valid string or list of text blocks"
		}
		r.system = t.text
	}
	r.turns = make([]anthTurn, 0, len(r.Messages))
	for i, m := range r.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return "messages." + strconv.Itoa(i) + ".role: Input should be 'user' or 'assistant'"
		}
		t, msg := decodeAnthropicContent(m.Content, m.Role)
		if msg != "" {
			return "messages." + strconv.Itoa(i) + "." + msg
		}
		r.turns = append(r.turns, t)
	}
	n := 3 + CountTokens(r.system)
	for _, t := range r.turns {
		n += 3 + CountTokens(t.text) + t.images*ImagePartTokens
		for _, u := range t.toolUses {
			n += CountTokens(u.Name) + CountTokens(u.Arguments)
		}
		for _, res := range t.toolResults {
			n += CountTokens(res.content)
		}
	}
	for _, tl := range r.Tools {
		n += CountTokens(tl.Name) + CountTokens(string(tl.InputSchema))
	}
	r.promptTokens = n
	return ""
}

// anthReply is a generated assistant turn.
type anthReply struct {
	text         string
	tool         *anthTool
	toolID       string
	toolInput    string
	stopReason   string
	stopSequence string
	output       int
}

// lastUserText is the text of the last user message ("" if none).
func (r *anthRequest) lastUserText() string {
	for i := len(r.turns) - 1; i >= 0; i-- {
		if r.turns[i].role == "user" {
			return r.turns[i].text
		}
	}
	return ""
}

// pickTool applies the emulator's tool convention to Anthropic's
// tool_choice: none never calls; {"type":"tool","name":N} calls N; any
// calls the tool the prompt names, else the first; auto calls a tool only
// when the last user message says "call <name>" or ToolCallTrigger.
func (r *anthRequest) pickTool() *anthTool {
	if len(r.Tools) == 0 {
		return nil
	}
	choice := "auto"
	if r.ToolChoice != nil && r.ToolChoice.Type != "" {
		choice = r.ToolChoice.Type
	}
	switch choice {
	case "none":
		return nil
	case "tool":
		for i := range r.Tools {
			if r.Tools[i].Name == r.ToolChoice.Name {
				return &r.Tools[i]
			}
		}
		return nil
	}
	if last := r.turns[len(r.turns)-1]; last.role == "user" && len(last.toolResults) == 0 {
		for i := range r.Tools {
			if containsCall(last.text, r.Tools[i].Name) {
				return &r.Tools[i]
			}
		}
		if strings.Contains(last.text, ToolCallTrigger) {
			return &r.Tools[0]
		}
	}
	if choice == "any" {
		return &r.Tools[0]
	}
	return nil
}

// anthropicGenerate computes the reply: a pure function of the request.
func (h *Handler) anthropicGenerate(r *anthRequest) anthReply {
	var rep anthReply
	budget := *r.MaxTokens
	if t := r.pickTool(); t != nil {
		rep.tool = t
		rep.toolInput = string(appendFromSchema(nil, t.InputSchema, 0))
		rep.toolID = anthToolID(t.Name, r.lastUserText())
		rep.stopReason = "tool_use"
		rep.output = CountTokens(t.Name) + CountTokens(rep.toolInput)
		return rep
	}
	last := r.turns[len(r.turns)-1]
	text := ExpectedReply(r.lastUserText())
	if n := len(last.toolResults); n > 0 && last.text == "" {
		text = ExpectedToolResultReply(last.toolResults[n-1].content)
	}
	if oc := r.OutputConfig; oc != nil && oc.Format != nil && oc.Format.Type == "json_schema" {
		text = string(appendFromSchema(nil, oc.Format.Schema, 0))
	}
	rep.stopReason = "end_turn"
	for _, s := range r.StopSequences {
		if i := strings.Index(text, s); s != "" && i >= 0 {
			text, rep.stopReason, rep.stopSequence = text[:i], "stop_sequence", s
		}
	}
	if CountTokens(text) > budget {
		text, rep.stopReason, rep.stopSequence = truncate(text, budget*4), "max_tokens", ""
	}
	if h.completionWord != "" {
		if i := strings.Index(text, h.completionWord); i >= 0 {
			// Claude ends a reply its safety classifiers stop with
			// stop_reason "refusal"; the text before stays.
			text, rep.stopReason, rep.stopSequence = text[:i], "refusal", ""
		}
	}
	rep.text = text
	rep.output = max(CountTokens(text), 1)
	return rep
}

// anthToolID is a deterministic tool_use id in Anthropic's format
// ("toolu_" + 24 characters).
func anthToolID(name, prompt string) string {
	h := fnv.New128a()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(prompt))
	sum := h.Sum(nil)
	b := make([]byte, 0, 30)
	b = append(b, "toolu_"...)
	for _, c := range sum[:12] {
		b = append(b, base62[int(c)%62], base62[int(c>>2)%62])
	}
	return string(b)
}

// newAnthropicID returns an id shaped like Anthropic's: prefix + 24 base62
// characters ("msg_…", "req_…").
func newAnthropicID(prefix string) string {
	b := make([]byte, 0, len(prefix)+24)
	b = append(b, prefix...)
	r := rand.Uint64()
	for range 24 {
		if r < 62 {
			r = rand.Uint64()
		}
		b = append(b, base62[r%62])
		r /= 62
	}
	return string(b)
}

// anthropic serves POST /anthropic/v1/messages: Claude deployments of the
// resource, in Anthropic's wire format. The order of checks follows the chat
// route: authentication, body, validation, deployment, quota, faults,
// latency, an injected stall, the reply.
func (h *Handler) anthropic(x *exchange) {
	x.dialect = dialectAnthropic
	if !h.checkMethod(x, http.MethodPost) || !h.authorizeAnthropic(x) {
		return
	}
	x.apiVersion = x.r.Header.Get("anthropic-version")
	x.w.Header()[hdrRequestID] = []string{newAnthropicID("req_")}

	var req anthRequest
	buf, err := h.readJSON(x, &req)
	if buf == nil {
		return
	}
	h.record(x, buf, opMessages, req.Model, req.Stream)
	if err != nil {
		h.rejectJSON(x, err)
		return
	}
	x.arrival.Stream = req.Stream
	x.arrival.Deployment = req.Model

	if msg := req.validate(); msg != "" {
		h.writeAnthropicError(x, http.StatusBadRequest, "invalid_request_error", msg)
		return
	}
	d, ok := h.deployments[req.Model]
	if !ok || !IsClaudeModel(d.model) {
		h.writeAnthropicError(x, http.StatusNotFound, "not_found_error", "model: "+req.Model)
		return
	}
	if !h.admit(x, d, req.promptTokens+*req.MaxTokens) {
		return
	}
	f, ok := h.reachModel(x, false)
	if !ok {
		return
	}
	if f.stall && !req.Stream {
		h.stall(x)
		return
	}
	rep := h.anthropicGenerate(&req)
	id := newAnthropicID("msg_")
	if req.Stream {
		h.anthropicStream(x, id, d.model, req.promptTokens, &rep, f.stallAfter())
		return
	}
	out := getBuf()
	defer putBuf(out)
	out.Write(appendAnthropicMessage(out.AvailableBuffer(), id, d.model, req.promptTokens, &rep))
	h.writeJSON(x, http.StatusOK, out.Bytes())
}

// validate returns the invalid_request_error message for a request the
// Messages API rejects before running the model, or "".
func (r *anthRequest) validate() string {
	switch {
	case r.Model == "":
		return "model: Field required"
	case r.MaxTokens == nil:
		return "max_tokens: Field required"
	case *r.MaxTokens < 1:
		return "max_tokens: Input should be greater than or equal to 1"
	case r.Messages == nil:
		return "messages: Field required"
	case len(r.Messages) == 0:
		return "messages: at least one message is required"
	case r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 1):
		return "temperature: Input should be less than or equal to 1"
	case r.Temperature != nil && r.TopP != nil:
		return "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
	}
	if msg := r.prepare(); msg != "" {
		return msg
	}
	for _, t := range r.turns {
		if t.role == "user" {
			return ""
		}
	}
	return "messages: the conversation must contain a user message"
}

// authorizeAnthropic checks x-api-key, then a bearer token. Authentication
// happens in Azure's front end, so a refusal has Azure's 401 bodies.
func (h *Handler) authorizeAnthropic(x *exchange) bool {
	if len(h.apiKeys) == 0 && len(h.bearerTokens) == 0 {
		return true
	}
	if key := x.r.Header.Get("x-api-key"); key != "" {
		if h.apiKeys[key] {
			return true
		}
		h.writeJSON(x, http.StatusUnauthorized, bodyUnauthorizedKey)
		return false
	}
	if auth := x.r.Header.Get("Authorization"); auth != "" {
		scheme, token, _ := strings.Cut(auth, " ")
		if strings.EqualFold(scheme, "Bearer") && h.bearerTokens[strings.TrimSpace(token)] {
			return true
		}
		h.writeJSON(x, http.StatusUnauthorized, bodyUnauthorizedBearer)
		return false
	}
	h.writeJSON(x, http.StatusUnauthorized, bodyUnauthorizedKey)
	return false
}

// writeAnthropicError writes Anthropic's error envelope.
func (h *Handler) writeAnthropicError(x *exchange, status int, typ, msg string) {
	b := make([]byte, 0, len(msg)+96)
	b = append(b, `{"type":"error","error":{"type":`...)
	b = appendJSONString(b, typ)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg)
	b = append(b, `},"request_id":`...)
	b = appendJSONString(b, headerOr(x.w.Header(), hdrRequestID))
	b = append(b, '}')
	h.writeJSON(x, status, b)
}

func headerOr(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// writeAnthropicRateLimited writes a 429 rate_limit_error with retry-after
// in whole seconds, rounded up, as Anthropic sends it.
func (h *Handler) writeAnthropicRateLimited(x *exchange, wait time.Duration) {
	ms, secs := retryAfterValues(wait)
	x.w.Header()[hdrRetryAfter] = []string{strconv.FormatInt(secs, 10)}
	x.arrival.RetryAfter = time.Duration(ms) * time.Millisecond
	msg := "This request would exceed the rate limit for this deployment. Please retry after " + strconv.FormatInt(secs, 10) + " seconds."
	h.writeAnthropicError(x, http.StatusTooManyRequests, "rate_limit_error", msg)
}

// setAnthropicRateLimitHeaders reports the quota under Anthropic's names:
// requests and tokens per minute, limits included as Anthropic sends them,
// the tokens pair also as input and output (the emulator counts one token
// budget).
func setAnthropicRateLimitHeaders(hdr http.Header, q quotaResult) {
	if q.limit.rpm > 0 {
		hdr[hdrAnthropicLimitRequests] = []string{strconv.Itoa(q.limit.rpm)}
		hdr[hdrAnthropicRemainingRequests] = []string{strconv.Itoa(q.remainReqMinute)}
	}
	if q.limit.tpm > 0 {
		lim, rem := []string{strconv.Itoa(q.limit.tpm)}, []string{strconv.Itoa(q.remainTok)}
		hdr[hdrAnthropicLimitTokens], hdr[hdrAnthropicRemainingTokens] = lim, rem
		hdr[hdrAnthropicLimitInputTokens], hdr[hdrAnthropicRemainingInputTokens] = lim, rem
		hdr[hdrAnthropicLimitOutputTokens], hdr[hdrAnthropicRemainingOutputTokens] = lim, rem
	}
}

// appendAnthropicMessage renders a non-stream Message, keys in the order
// of Anthropic's documented examples.
func appendAnthropicMessage(b []byte, id, model string, prompt int, rep *anthReply) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = appendJSONString(b, model)
	b = append(b, `,"content":[`...)
	if rep.tool != nil {
		b = append(b, `{"type":"tool_use","id":`...)
		b = appendJSONString(b, rep.toolID)
		b = append(b, `,"name":`...)
		b = appendJSONString(b, rep.tool.Name)
		b = append(b, `,"input":`...)
		b = append(b, rep.toolInput...)
		b = append(b, '}')
	} else if rep.text != "" {
		b = append(b, `{"type":"text","text":`...)
		b = appendJSONString(b, rep.text)
		b = append(b, '}')
	}
	b = append(b, `],"stop_reason":`...)
	b = appendJSONString(b, rep.stopReason)
	b = append(b, `,"stop_sequence":`...)
	b = appendNullableString(b, rep.stopSequence)
	b = append(b, `,"usage":`...)
	b = appendAnthropicUsage(b, prompt, rep.output)
	return append(b, '}')
}

func appendAnthropicUsage(b []byte, input, output int) []byte {
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(input), 10)
	b = append(b, `,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":`...)
	b = strconv.AppendInt(b, int64(output), 10)
	return append(b, '}')
}

// anthropicStream writes the reply as Anthropic's event sequence:
// message_start (empty content, the prompt's usage), content_block_start, a
// ping, the deltas (SplitReply pieces of text; 8-byte input_json_delta
// pieces after an empty one for a tool_use), content_block_stop,
// message_delta (stop_reason, cumulative output_tokens), message_stop. Each
// event is an "event:" line and a "data:" line, flushed. With stallAfter >=
// 0 it stalls after that many deltas (see Faults.RateStall).
func (h *Handler) anthropicStream(x *exchange, id, model string, prompt int, rep *anthReply, stallAfter int) {
	startSSE(x, "text/event-stream; charset=utf-8", "no-cache")
	ev := make([]byte, 0, 1024) // reused for every event
	send := func(name string, data func(b []byte) []byte) bool {
		b := append(ev[:0], "event: "...)
		b = append(b, name...)
		b = append(b, "\ndata: "...)
		b = data(b)
		ev = append(b, "\n\n"...)
		return sendEvent(x, ev)
	}
	if !send("message_start", func(b []byte) []byte {
		b = append(b, `{"type":"message_start","message":{"id":`...)
		b = appendJSONString(b, id)
		b = append(b, `,"type":"message","role":"assistant","model":`...)
		b = appendJSONString(b, model)
		b = append(b, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
		b = appendAnthropicUsage(b, prompt, 1)
		return append(b, "}}"...)
	}) {
		return
	}
	var pieces []string
	if rep.tool != nil {
		pieces = append([]string{""}, splitFixed(rep.toolInput, 8)...)
	} else {
		pieces = SplitReply(rep.text)
	}
	if rep.tool != nil || len(pieces) > 0 || stallAfter >= 0 {
		if !send("content_block_start", func(b []byte) []byte {
			if rep.tool != nil {
				b = append(b, `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":`...)
				b = appendJSONString(b, rep.toolID)
				b = append(b, `,"name":`...)
				b = appendJSONString(b, rep.tool.Name)
				return append(b, `,"input":{}}}`...)
			}
			return append(b, `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`...)
		}) {
			return
		}
		if !send("ping", func(b []byte) []byte { return append(b, `{"type": "ping"}`...) }) {
			return
		}
		for i, piece := range pieces {
			if i == stallAfter {
				h.stall(x)
				return
			}
			if !send("content_block_delta", func(b []byte) []byte {
				if rep.tool != nil {
					b = append(b, `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":`...)
				} else {
					b = append(b, `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`...)
				}
				b = appendJSONString(b, piece)
				return append(b, "}}"...)
			}) {
				return
			}
		}
		if stallAfter >= 0 {
			h.stall(x)
			return
		}
		if !send("content_block_stop", func(b []byte) []byte {
			return append(b, `{"type":"content_block_stop","index":0}`...)
		}) {
			return
		}
	}
	if !send("message_delta", func(b []byte) []byte {
		b = append(b, `{"type":"message_delta","delta":{"stop_reason":`...)
		b = appendJSONString(b, rep.stopReason)
		b = append(b, `,"stop_sequence":`...)
		b = appendNullableString(b, rep.stopSequence)
		b = append(b, `},"usage":{"output_tokens":`...)
		b = strconv.AppendInt(b, int64(rep.output), 10)
		return append(b, "}}"...)
	}) {
		return
	}
	send("message_stop", func(b []byte) []byte { return append(b, `{"type":"message_stop"}`...) })
}

// parseAnthropicMessages reports a Messages API body's conversation in the
// emulator's Message form, for LastRequest: the system prompt as a first
// "system" message, tool_use blocks as ToolCalls of the assistant message,
// and each tool_result as a "tool" message (ToolCallID, Content) followed by
// the rest of its user turn, if any.
func parseAnthropicMessages(body []byte) []Message {
	var req anthRequest
	if json.Unmarshal(body, &req) != nil || req.prepare() != "" {
		return nil
	}
	out := make([]Message, 0, len(req.turns)+1)
	if req.system != "" {
		out = append(out, Message{Role: "system", Content: req.system, Parts: []Part{{Type: "text", Text: req.system}}})
	}
	for _, t := range req.turns {
		for _, res := range t.toolResults {
			out = append(out, Message{Role: "tool", ToolCallID: res.id, Content: res.content})
		}
		if len(t.toolResults) > 0 && t.text == "" && t.images == 0 {
			continue
		}
		var parts []Part
		for _, p := range t.parts {
			if p.Type != "tool_result" && p.Type != "tool_use" {
				parts = append(parts, p)
			}
		}
		out = append(out, Message{Role: t.role, Content: t.text, Parts: parts, ToolCalls: t.toolUses})
	}
	return out
}
