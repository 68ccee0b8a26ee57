package azuretest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// ReasoningSummaryPrefix starts the reasoning summary a reasoning deployment
// returns when the request asks for one (reasoning.summary): the summary of
// a request whose last user message is P is ReasoningSummaryPrefix + P.
const ReasoningSummaryPrefix = "Reasoning about: "

// ExpectedReasoningSummary is the reasoning summary text answered to prompt.
func ExpectedReasoningSummary(prompt string) string { return ReasoningSummaryPrefix + prompt }

// DefaultStoredResponses is how many stored responses the emulator keeps
// (the newest); an older one answers 404 as an expired one would.
const DefaultStoredResponses = 10000

// responsesRequest is the part of a Responses API request the emulator reads.
type responsesRequest struct {
	Model           string          `json:"model"`
	Input           json.RawMessage `json:"input"`
	Instructions    *string         `json:"instructions"`
	Tools           json.RawMessage `json:"tools"`
	ToolChoice      json.RawMessage `json:"tool_choice"`
	Text            *responseText   `json:"text"`
	MaxOutputTokens *int            `json:"max_output_tokens"`
	Reasoning       *struct {
		Effort  *string `json:"effort"`
		Summary *string `json:"summary"`
	} `json:"reasoning"`
	Store              *bool           `json:"store"`
	Background         *bool           `json:"background"`
	Stream             bool            `json:"stream"`
	PreviousResponseID *string         `json:"previous_response_id"`
	Metadata           json.RawMessage `json:"metadata"`
	Temperature        json.RawMessage `json:"temperature"`
	TopP               json.RawMessage `json:"top_p"`
	ParallelToolCalls  *bool           `json:"parallel_tool_calls"`
	ServiceTier        *string         `json:"service_tier"`
	Truncation         *string         `json:"truncation"`
	User               json.RawMessage `json:"user"`
}

type responseText struct {
	Format json.RawMessage `json:"format"`
}

// responseInputItem is one item of the "input" array.
type responseInputItem struct {
	Type      string          `json:"type"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments string          `json:"arguments"`
	Output    json.RawMessage `json:"output"`
}

type responseInputPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Refusal  string `json:"refusal"`
	ImageURL string `json:"image_url"`
	FileID   string `json:"file_id"`
}

// responsesToChat translates a Responses request into the chat completions
// body the reply generator reads, so that both APIs answer alike: prev (the
// chat-form conversation of previous_response_id) and the input items as
// messages, instructions as a leading system message, function tools,
// tool_choice, text.format as response_format, max_output_tokens as
// max_completion_tokens and reasoning.effort. It also returns the
// conversation to store for chaining (without the instructions, which
// Responses does not carry over).
func responsesToChat(body []byte, prev []json.RawMessage) (chat []byte, conv []json.RawMessage, errBody []byte) {
	var rr responsesRequest
	if err := json.Unmarshal(body, &rr); err != nil {
		return nil, nil, decodeErrorBody(err)
	}
	conv = append(conv, prev...)
	in := bytes.TrimSpace(rr.Input)
	switch {
	case len(in) == 0 || bytes.Equal(in, []byte("null")):
		if len(prev) == 0 {
			return nil, nil, openAIError("Missing required parameter: 'input'.", "invalid_request_error", "input", "missing_required_parameter")
		}
	case in[0] == '"':
		var s string
		if json.Unmarshal(in, &s) != nil {
			return nil, nil, openAIError("Invalid 'input'.", "invalid_request_error", "input", "invalid_value")
		}
		conv = append(conv, chatMessageJSON("user", s))
	case in[0] == '[':
		var items []responseInputItem
		if json.Unmarshal(in, &items) != nil {
			return nil, nil, openAIError("Invalid type for 'input': expected a string or an array of input items.", "invalid_request_error", "input", "invalid_type")
		}
		for i, it := range items {
			m, err := inputItemToChat(it)
			if err != "" {
				return nil, nil, openAIError("Invalid 'input["+strconv.Itoa(i)+"]': "+err, "invalid_request_error", "input["+strconv.Itoa(i)+"]", "invalid_value")
			}
			if m != nil {
				conv = append(conv, m)
			}
		}
	default:
		return nil, nil, openAIError("Invalid type for 'input': expected a string or an array of input items.", "invalid_request_error", "input", "invalid_type")
	}

	if len(conv) == 0 {
		return nil, nil, openAIError("Invalid 'input': it has no message to answer.", "invalid_request_error", "input", "invalid_value")
	}
	b := append(make([]byte, 0, len(body)+64), `{"messages":[`...)
	n := 0
	if rr.Instructions != nil && *rr.Instructions != "" {
		b = append(b, chatMessageJSON("system", *rr.Instructions)...)
		n++
	}
	for _, m := range conv {
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, m...)
		n++
	}
	b = append(b, ']')
	if tools := responseToolsToChat(rr.Tools); tools != nil {
		b = append(b, `,"tools":`...)
		b = append(b, tools...)
	}
	if tc := responseToolChoiceToChat(rr.ToolChoice); tc != nil {
		b = append(b, `,"tool_choice":`...)
		b = append(b, tc...)
	}
	if rr.Text != nil && present(rr.Text.Format) {
		var f struct {
			Type   string          `json:"type"`
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		}
		if json.Unmarshal(rr.Text.Format, &f) == nil {
			switch f.Type {
			case "json_object":
				b = append(b, `,"response_format":{"type":"json_object"}`...)
			case "json_schema":
				b = append(b, `,"response_format":{"type":"json_schema","json_schema":{"name":`...)
				b = appendJSONString(b, f.Name)
				if present(f.Schema) {
					b = append(b, `,"schema":`...)
					b = appendCompact(b, f.Schema)
				}
				b = append(b, "}}"...)
			}
		}
	}
	if rr.MaxOutputTokens != nil {
		b = append(b, `,"max_completion_tokens":`...)
		b = strconv.AppendInt(b, int64(*rr.MaxOutputTokens), 10)
	}
	if rr.Reasoning != nil && rr.Reasoning.Effort != nil {
		b = append(b, `,"reasoning_effort":`...)
		b = appendJSONString(b, *rr.Reasoning.Effort)
	}
	for _, p := range []struct {
		name string
		raw  json.RawMessage
	}{{"temperature", rr.Temperature}, {"top_p", rr.TopP}} {
		if present(p.raw) {
			b = append(b, `,"`+p.name+`":`...)
			b = appendCompact(b, p.raw)
		}
	}
	return append(b, '}'), conv, nil
}

// chatMessageJSON renders {"role":role,"content":text}.
func chatMessageJSON(role, text string) json.RawMessage {
	b := append([]byte(`{"role":`), appendJSONString(nil, role)...)
	b = append(b, `,"content":`...)
	return append(appendJSONString(b, text), '}')
}

// inputItemToChat translates one input item; nil for items the reply does
// not read (reasoning, item references, …).
func inputItemToChat(it responseInputItem) (json.RawMessage, string) {
	switch it.Type {
	case "function_call":
		b := []byte(`{"role":"assistant","content":null,"tool_calls":[{"id":`)
		b = appendJSONString(b, it.CallID)
		b = append(b, `,"type":"function","function":{"name":`...)
		b = appendJSONString(b, it.Name)
		b = append(b, `,"arguments":`...)
		b = appendJSONString(b, it.Arguments)
		return append(b, "}}]}"...), ""
	case "function_call_output":
		out := string(bytes.TrimSpace(it.Output))
		var s string
		if json.Unmarshal(it.Output, &s) == nil {
			out = s
		}
		b := []byte(`{"role":"tool","tool_call_id":`)
		b = appendJSONString(b, it.CallID)
		b = append(b, `,"content":`...)
		return append(appendJSONString(b, out), '}'), ""
	case "", "message":
	default:
		return nil, ""
	}
	role := it.Role
	switch role {
	case "developer":
		role = "system"
	case "user", "system", "assistant":
	default:
		return nil, "expected a role of 'user', 'assistant', 'system' or 'developer'."
	}
	c := bytes.TrimSpace(it.Content)
	switch {
	case len(c) > 0 && c[0] == '"':
		var s string
		if json.Unmarshal(c, &s) != nil {
			return nil, "invalid content."
		}
		return chatMessageJSON(role, s), ""
	case len(c) > 0 && c[0] == '[':
		var parts []responseInputPart
		if json.Unmarshal(c, &parts) != nil {
			return nil, "invalid content parts."
		}
		b := append([]byte(`{"role":`), appendJSONString(nil, role)...)
		b = append(b, `,"content":[`...)
		n := 0
		for _, p := range parts {
			var part []byte
			switch p.Type {
			case "input_text", "output_text", "text":
				part = appendJSONString([]byte(`{"type":"text","text":`), p.Text)
				part = append(part, '}')
			case "refusal":
				part = appendJSONString([]byte(`{"type":"text","text":`), p.Refusal)
				part = append(part, '}')
			case "input_image":
				u := p.ImageURL
				if u == "" && p.FileID != "" {
					u = "file:" + p.FileID
				}
				part = appendJSONString([]byte(`{"type":"image_url","image_url":{"url":`), u)
				part = append(part, "}}"...)
			default:
				continue // files and audio are not read
			}
			if n > 0 {
				b = append(b, ',')
			}
			b = append(b, part...)
			n++
		}
		return append(b, "]}"...), ""
	}
	return nil, "expected content as a string or an array of content parts."
}

// responseToolsToChat converts function tools ({"type":"function","name",
// "parameters"}) to chat tools; other tool types are not emulated.
func responseToolsToChat(raw json.RawMessage) []byte {
	if !present(raw) {
		return nil
	}
	var tools []struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	}
	if json.Unmarshal(raw, &tools) != nil {
		return nil
	}
	b := []byte{'['}
	n := 0
	for _, t := range tools {
		if t.Type != "function" {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"type":"function","function":{"name":`...)
		b = appendJSONString(b, t.Name)
		if present(t.Parameters) {
			b = append(b, `,"parameters":`...)
			b = appendCompact(b, t.Parameters)
		}
		b = append(b, "}}"...)
		n++
	}
	if n == 0 {
		return nil
	}
	return append(b, ']')
}

func responseToolChoiceToChat(raw json.RawMessage) []byte {
	raw = bytes.TrimSpace(raw)
	if !present(raw) {
		return nil
	}
	if raw[0] == '"' {
		return raw
	}
	var tc struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &tc) != nil || tc.Type != "function" {
		return nil
	}
	b := []byte(`{"type":"function","function":{"name":`)
	return append(appendJSONString(b, tc.Name), "}}"...)
}

// parseResponsesMessages is LastRequest's view of a responses body.
func parseResponsesMessages(body []byte) []Message {
	chat, _, errBody := responsesToChat(body, nil)
	if errBody != nil {
		return nil
	}
	return parseMessages(chat)
}

// storedResponse is a response the emulator created; its final form is
// computed at creation, background mode only delays revealing it.
type storedResponse struct {
	mu      sync.Mutex
	id      string
	created int64
	model   string
	req     responsesRequest
	rep     reply
	prompt  int
	// promptChars is the length of the conversation's text, for the
	// content filter offsets.
	promptChars int
	// reasoning item (reasoning deployments), its summary ("" if none
	// was asked for)
	reasoningItem bool
	summary       string
	msgID, rsID   string
	fcID          string
	filteredText  string // the message text (see text)
	status        string // queued, in_progress, completed, incomplete, cancelled, failed
	final         string // status once done
	errCode       string // failed
	errMsg        string
	background    bool
	conv          []json.RawMessage // chat-form conversation, for chaining
	done          chan struct{}
	doneOnce      sync.Once
}

func (r *storedResponse) finish(status string) {
	r.doneOnce.Do(func() {
		r.status = status
		close(r.done)
	})
}

type responseStore struct {
	mu    sync.Mutex
	byID  map[string]*storedResponse
	order []string
	limit int
}

func (s *responseStore) init() {
	s.byID = make(map[string]*storedResponse)
	s.limit = DefaultStoredResponses
}

func (s *responseStore) put(r *storedResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[r.id] = r
	s.order = append(s.order, r.id)
	for len(s.order) > s.limit {
		delete(s.byID, s.order[0])
		s.order = s.order[1:]
	}
}

func (s *responseStore) get(id string) *storedResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

func (s *responseStore) remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[id]; !ok {
		return false
	}
	delete(s.byID, id)
	return true
}

// StoredResponses returns the ids of the stored responses, oldest first.
func (h *Handler) StoredResponses() []string {
	s := &h.api.responses
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.byID))
	for _, id := range s.order {
		if _, ok := s.byID[id]; ok {
			out = append(out, id)
		}
	}
	return out
}

func bodyResponseNotFound(id string) []byte {
	return openAIError("Response with id '"+id+"' not found.", "invalid_request_error", "", "")
}

// createResponse serves POST responses on both route families; the body's
// model is the deployment. The checks run in the chat order: body, model,
// deployment, validation, quota, faults, latency, prompt filter, stall.
func (h *Handler) createResponse(x *exchange) {
	x.op = "Responses_Create"
	var rr responsesRequest
	buf, err := h.readJSON(x, &rr)
	if buf == nil {
		return
	}
	// The body is read again below (responsesToChat), and the buffer is
	// about to belong to LastRequest, which a newer request may send back
	// to the pool at once: copy it first.
	body := bytes.Clone(buf.Bytes())
	h.record(x, buf, opResponses, rr.Model, rr.Stream)
	if err != nil {
		h.rejectJSON(x, err)
		return
	}
	x.arrival.Stream = rr.Stream
	d := h.bodyDeployment(x, rr.Model)
	if d == nil || !h.serves(x, d, opResponses) {
		return
	}
	store := rr.Store == nil || *rr.Store
	background := rr.Background != nil && *rr.Background
	if x.batchLine {
		if rr.Stream {
			h.fail(x, http.StatusBadRequest, bodyBatchStream)
			return
		}
		store, background = false, false
	}
	switch {
	case rr.MaxOutputTokens != nil && *rr.MaxOutputTokens < 16:
		h.fail(x, http.StatusBadRequest, openAIError("Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got "+strconv.Itoa(*rr.MaxOutputTokens)+" instead.", "invalid_request_error", "max_output_tokens", "integer_below_min_value"))
		return
	case background && !store:
		// Microsoft Learn, Responses how-to: "Background mode requires store=true."
		h.fail(x, http.StatusBadRequest, openAIError("Background mode requires 'store' to be true.", "invalid_request_error", "background", "invalid_value"))
		return
	case rr.Reasoning != nil && rr.Reasoning.Effort != nil && !d.reasoning:
		h.fail(x, http.StatusBadRequest, unsupportedParameterBody("reasoning.effort"))
		return
	}
	var prev []json.RawMessage
	if rr.PreviousResponseID != nil && *rr.PreviousResponseID != "" {
		p := h.api.responses.get(*rr.PreviousResponseID)
		if p == nil {
			h.fail(x, http.StatusBadRequest, openAIError("Previous response with id '"+*rr.PreviousResponseID+"' not found.", "invalid_request_error", "previous_response_id", "previous_response_not_found"))
			return
		}
		p.mu.Lock()
		prev = p.conv
		p.mu.Unlock()
	}
	chatBody, conv, errBody := responsesToChat(body, prev)
	if errBody != nil {
		h.fail(x, http.StatusBadRequest, errBody)
		return
	}
	var req chatRequest
	if err := json.Unmarshal(chatBody, &req); err != nil {
		h.fail(x, http.StatusBadRequest, decodeErrorBody(err))
		return
	}
	if errBody := h.validate(x, d, &req); errBody != nil {
		h.fail(x, http.StatusBadRequest, errBody)
		return
	}

	if !h.admit(x, d, req.quotaCost()) {
		return
	}
	// A stream that fails in the model reports it as an event: a 500 as
	// response.failed, a 503 as an error event.
	f, ok := h.reachModel(x, rr.Stream)
	if !ok {
		return
	}
	streamFailure := ""
	switch f.serverError {
	case fault500:
		streamFailure = "response.failed"
	case fault503:
		streamFailure = "error"
	}
	h.answerHeaders(x, opResponses)
	if h.filterPrompt(x, &req) {
		return
	}
	if f.stall && !rr.Stream {
		h.stall(x)
		return
	}

	r := &storedResponse{
		id:          "resp_" + newItemHex(),
		created:     h.now().Unix(),
		model:       d.model,
		req:         rr,
		rep:         h.generate(&req, d.reasoning),
		prompt:      req.promptTokens,
		promptChars: req.textLength(),
		msgID:       "msg_" + newItemHex(),
		background:  background,
		done:        make(chan struct{}),
	}
	if d.reasoning {
		r.reasoningItem, r.rsID = true, "rs_"+newItemHex()
		if rr.Reasoning != nil && rr.Reasoning.Summary != nil && *rr.Reasoning.Summary != "" {
			r.summary = ExpectedReasoningSummary(req.lastUserText())
		}
	}
	if r.rep.toolName != "" {
		r.fcID = "fc_" + newItemHex()
	}
	r.filteredText = r.text(h.completionWord)
	r.final = r.finalStatus()
	r.conv = append(conv, r.assistantJSON())
	if streamFailure == "response.failed" {
		r.final, r.errCode = "failed", "server_error"
		r.errMsg = "The server had an error while processing your request. Sorry about that!"
	}

	switch {
	case background:
		r.status = "queued"
		h.api.responses.put(r)
		h.api.goRun(func() { h.runBackground(r) })
		if rr.Stream {
			h.streamResponse(x, r, -1, -1, "")
			return
		}
		h.writeJSON(x, http.StatusOK, r.appendJSON(nil))
	case rr.Stream:
		if store {
			h.api.responses.put(r)
		}
		r.finish(r.final)
		h.streamResponse(x, r, -1, f.stallAfter(), streamFailure)
	default:
		r.finish(r.final)
		if store {
			h.api.responses.put(r)
		}
		h.writeJSON(x, http.StatusOK, r.appendJSON(nil))
	}
}

// finalStatus is "incomplete" for a reply cut by max_output_tokens or the
// content filter, else "completed".
func (r *storedResponse) finalStatus() string {
	if r.rep.finishReason == "length" || r.rep.finishReason == "content_filter" {
		return "incomplete"
	}
	return "completed"
}

// text is the message text: a filtered reply stops before the filter word,
// as a filtered chat stream does.
func (r *storedResponse) text(completionWord string) string {
	if r.rep.filtered {
		if i := strings.Index(r.rep.text, completionWord); i >= 0 {
			return r.rep.text[:i]
		}
	}
	return r.rep.text
}

// assistantJSON is the reply in chat form, for the chaining conversation.
func (r *storedResponse) assistantJSON() json.RawMessage {
	if r.rep.toolName != "" {
		b := []byte(`{"role":"assistant","content":null,"tool_calls":[{"id":`)
		b = appendJSONString(b, r.rep.toolCallID)
		b = append(b, `,"type":"function","function":{"name":`...)
		b = appendJSONString(b, r.rep.toolName)
		b = append(b, `,"arguments":`...)
		b = appendJSONString(b, r.rep.toolArgs)
		return append(b, "}}]}"...)
	}
	return chatMessageJSON("assistant", r.rep.text)
}

// runBackground reveals a background response: queued, then in_progress,
// then its final status, unless it is cancelled first.
func (h *Handler) runBackground(r *storedResponse) {
	a := h.api
	if a.pause(a.ctx, a.cfg.bgQueued) != nil {
		return
	}
	r.mu.Lock()
	if r.status == "queued" {
		r.status = "in_progress"
	}
	r.mu.Unlock()
	if a.pause(a.ctx, a.cfg.bgRun) != nil {
		return
	}
	r.mu.Lock()
	if r.status == "in_progress" {
		r.finish(r.final)
	}
	r.mu.Unlock()
}

// getResponse serves GET responses/{id}; with ?stream=true it replays the
// response's events after sequence number starting_after (Microsoft Learn,
// "Resume streaming from a specific point"), once the response is done.
func (h *Handler) getResponse(x *exchange, id string) {
	r := h.api.responses.get(id)
	if r == nil {
		h.writeError(x, http.StatusNotFound, bodyResponseNotFound(id))
		return
	}
	q := x.r.URL.Query()
	if q.Get("stream") != "true" {
		h.writeJSON(x, http.StatusOK, r.appendJSON(nil))
		return
	}
	after := -1
	if s := q.Get("starting_after"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			h.writeError(x, http.StatusBadRequest, openAIError("Invalid 'starting_after': expected a non-negative integer.", "invalid_request_error", "starting_after", "invalid_value"))
			return
		}
		after = n
	}
	select {
	case <-r.done:
	case <-x.r.Context().Done():
		x.arrival.Status = StatusClientClosed
		return
	case <-h.closed:
		x.arrival.Status = StatusReset
		return
	}
	h.streamResponse(x, r, after, -1, "")
}

func (h *Handler) deleteResponse(x *exchange, id string) {
	if !h.api.responses.remove(id) {
		h.writeError(x, http.StatusNotFound, bodyResponseNotFound(id))
		return
	}
	b := appendJSONString([]byte(`{"id":`), id)
	h.writeJSON(x, http.StatusOK, append(b, `,"object":"response.deleted","deleted":true}`...))
}

// cancelResponse serves POST responses/{id}/cancel: a queued or running
// background response turns "cancelled"; cancelling again returns the final
// object (Microsoft Learn: "Canceling is idempotent").
func (h *Handler) cancelResponse(x *exchange, id string) {
	r := h.api.responses.get(id)
	if r == nil {
		h.writeError(x, http.StatusNotFound, bodyResponseNotFound(id))
		return
	}
	if !r.background {
		h.writeError(x, http.StatusBadRequest, openAIError("Cannot cancel a synchronous response.", "invalid_request_error", "", ""))
		return
	}
	r.mu.Lock()
	if r.status == "queued" || r.status == "in_progress" {
		r.finish("cancelled")
	}
	r.mu.Unlock()
	h.writeJSON(x, http.StatusOK, r.appendJSON(nil))
}

// newItemHex is 48 hex digits, the length of Azure's response and item ids
// (aoai_responses_create_v1_gpt41nano.doc.json).
func newItemHex() string {
	return strings.ReplaceAll(newUUID(), "-", "")[:24] + strings.ReplaceAll(newUUID(), "-", "")[:24]
}

// appendJSON renders the response object with the keys in the order of
// aoai_responses_create_v1_gpt41nano.doc.json. A response that is not
// done has no output and null usage.
func (r *storedResponse) appendJSON(b []byte) []byte {
	r.mu.Lock()
	status := r.status
	r.mu.Unlock()
	return r.appendJSONStatus(b, status)
}

func (r *storedResponse) appendJSONStatus(b []byte, status string) []byte {
	rr := &r.req
	done := status == "completed" || status == "incomplete"
	b = append(b, `{"id":`...)
	b = appendJSONString(b, r.id)
	b = append(b, `,"created_at":`...)
	b = strconv.AppendInt(b, r.created, 10)
	b = append(b, ".0"...) // Azure sends a float
	b = append(b, `,"error":`...)
	if status == "failed" {
		b = append(b, `{"code":`...)
		b = appendJSONString(b, r.errCode)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, r.errMsg)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"incomplete_details":`...)
	if status == "incomplete" {
		reason := "max_output_tokens"
		if r.rep.filtered {
			reason = "content_filter"
		}
		b = append(b, `{"reason":`...)
		b = appendJSONString(b, reason)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"instructions":`...)
	if rr.Instructions != nil {
		b = appendJSONString(b, *rr.Instructions)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"metadata":`...)
	b = appendRawOr(b, rr.Metadata, "{}")
	b = append(b, `,"model":`...)
	b = appendJSONString(b, r.model)
	b = append(b, `,"object":"response","output":[`...)
	if done {
		b = r.appendOutput(b)
	}
	b = append(b, `],"parallel_tool_calls":`...)
	b = strconv.AppendBool(b, rr.ParallelToolCalls == nil || *rr.ParallelToolCalls)
	b = append(b, `,"temperature":`...)
	b = appendRawOr(b, rr.Temperature, "1.0")
	b = append(b, `,"tool_choice":`...)
	b = appendRawOr(b, rr.ToolChoice, `"auto"`)
	b = append(b, `,"tools":`...)
	b = appendRawOr(b, rr.Tools, "[]")
	b = append(b, `,"top_p":`...)
	b = appendRawOr(b, rr.TopP, "1.0")
	b = append(b, `,"background":`...)
	if rr.Background != nil {
		b = strconv.AppendBool(b, *rr.Background)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"max_output_tokens":`...)
	if rr.MaxOutputTokens != nil {
		b = strconv.AppendInt(b, int64(*rr.MaxOutputTokens), 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"previous_response_id":`...)
	if rr.PreviousResponseID != nil {
		b = appendJSONString(b, *rr.PreviousResponseID)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"reasoning":{"effort":`...)
	switch {
	case rr.Reasoning != nil && rr.Reasoning.Effort != nil:
		b = appendJSONString(b, *rr.Reasoning.Effort)
	case r.reasoningItem:
		b = append(b, `"medium"`...)
	default:
		b = append(b, "null"...)
	}
	b = append(b, `,"generate_summary":null,"summary":`...)
	if rr.Reasoning != nil && rr.Reasoning.Summary != nil {
		b = appendJSONString(b, *rr.Reasoning.Summary)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `},"service_tier":`...)
	tier := "default"
	if rr.ServiceTier != nil && *rr.ServiceTier != "auto" && *rr.ServiceTier != "" {
		tier = *rr.ServiceTier
	}
	b = appendJSONString(b, tier)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, status)
	b = append(b, `,"text":{"format":`...)
	if rr.Text != nil && present(rr.Text.Format) {
		b = appendCompact(b, rr.Text.Format)
	} else {
		b = append(b, `{"type":"text"}`...)
	}
	b = append(b, `},"truncation":`...)
	if rr.Truncation != nil {
		b = appendJSONString(b, *rr.Truncation)
	} else {
		b = append(b, `"disabled"`...)
	}
	b = append(b, `,"usage":`...)
	if done {
		b = r.appendUsage(b)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"user":`...)
	b = appendRawOr(b, rr.User, "null")
	b = append(b, `,"content_filters":`...)
	if done {
		b = r.appendContentFilters(b)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"store":`...)
	b = strconv.AppendBool(b, rr.Store == nil || *rr.Store)
	return append(b, '}')
}

// appendContentFilters renders Azure's content_filters of a done
// response: the prompt's results and the completion's, each
// {blocked, source_type, content_filter_results, content_filter_offsets}
// (Azure's v1 spec, AzureContentFilterForResponsesAPI; the reasoning
// models how-to shows the key). The results are the chat annotations; a
// completion stopped by the completion filter word is blocked. Offsets
// count the prompt's and the completion's text.
func (r *storedResponse) appendContentFilters(b []byte) []byte {
	entry := func(b []byte, source, results string, blocked bool, end int) []byte {
		b = append(b, `{"blocked":`...)
		b = strconv.AppendBool(b, blocked)
		b = append(b, `,"source_type":"`+source+`","content_filter_results":`...)
		b = append(b, results...)
		b = append(b, `,"content_filter_offsets":{"start_offset":0,"end_offset":`...)
		b = strconv.AppendInt(b, int64(end), 10)
		b = append(b, `,"check_offset":`...)
		b = strconv.AppendInt(b, int64(end), 10)
		return append(b, "}}"...)
	}
	b = append(b, '[')
	b = entry(b, "prompt", promptAnnotations, false, r.promptChars)
	b = append(b, ',')
	completion := choiceFilterResults
	if r.rep.filtered {
		completion = filteredFilterResults
	}
	b = entry(b, "completion", completion, r.rep.filtered, len(r.msgText()))
	return append(b, ']')
}

func appendRawOr(b []byte, raw json.RawMessage, def string) []byte {
	if present(raw) {
		return appendCompact(b, raw)
	}
	return append(b, def...)
}

func (r *storedResponse) appendUsage(b []byte) []byte {
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(r.prompt), 10)
	b = append(b, `,"input_tokens_details":{"cached_tokens":0},"output_tokens":`...)
	b = strconv.AppendInt(b, int64(r.rep.completion), 10)
	b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, int64(r.rep.reasoning), 10)
	b = append(b, `},"total_tokens":`...)
	b = strconv.AppendInt(b, int64(r.prompt+r.rep.completion), 10)
	return append(b, '}')
}

// appendOutput renders the output items.
func (r *storedResponse) appendOutput(b []byte) []byte {
	for i, k := range r.items() {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.appendItem(b, k, true)
	}
	return b
}

// Output item kinds, in output order.
const (
	itemReasoning = iota
	itemMessage
	itemFunctionCall
)

// items lists the kinds of the output items.
func (r *storedResponse) items() []int {
	var out []int
	if r.reasoningItem {
		out = append(out, itemReasoning)
	}
	switch {
	case r.rep.toolName != "":
		out = append(out, itemFunctionCall)
	case r.msgText() != "" || r.final == "completed":
		out = append(out, itemMessage)
	}
	return out
}

// msgText is the message's text (see text).
func (r *storedResponse) msgText() string { return r.filteredText }

// appendItem renders output item kind k, complete (done) or as first
// announced by response.output_item.added.
func (r *storedResponse) appendItem(b []byte, k int, done bool) []byte {
	switch k {
	case itemReasoning:
		b = append(b, `{"id":`...)
		b = appendJSONString(b, r.rsID)
		b = append(b, `,"summary":[`...)
		if done && r.summary != "" {
			b = append(b, `{"type":"summary_text","text":`...)
			b = appendJSONString(b, r.summary)
			b = append(b, '}')
		}
		return append(b, `],"type":"reasoning"}`...)
	case itemFunctionCall:
		b = append(b, `{"arguments":`...)
		if done {
			b = appendJSONString(b, r.rep.toolArgs)
		} else {
			b = append(b, `""`...)
		}
		b = append(b, `,"call_id":`...)
		b = appendJSONString(b, r.rep.toolCallID)
		b = append(b, `,"name":`...)
		b = appendJSONString(b, r.rep.toolName)
		b = append(b, `,"type":"function_call","id":`...)
		b = appendJSONString(b, r.fcID)
		b = append(b, `,"status":`...)
		if done {
			b = append(b, `"completed"}`...)
		} else {
			b = append(b, `"in_progress"}`...)
		}
		return b
	}
	b = append(b, `{"id":`...)
	b = appendJSONString(b, r.msgID)
	b = append(b, `,"content":[`...)
	if done {
		b = append(b, `{"annotations":[],"text":`...)
		b = appendJSONString(b, r.msgText())
		b = append(b, `,"type":"output_text"}`...)
	}
	b = append(b, `],"role":"assistant","status":`...)
	switch {
	case !done:
		b = append(b, `"in_progress"`...)
	case r.final == "incomplete":
		b = append(b, `"incomplete"`...)
	default:
		b = append(b, `"completed"`...)
	}
	return append(b, `,"type":"message"}`...)
}
