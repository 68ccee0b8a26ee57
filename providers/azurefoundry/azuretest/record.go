package azuretest

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Request is a model request (chat completions, responses or embeddings)
// as the emulator received it; see LastRequest.
type Request struct {
	// Operation is OperationChat (also the serverless route),
	// OperationResponses, OperationEmbeddings or OperationMessages (Claude).
	Operation string
	Time      time.Time // arrival, on the handler's clock (WithClock)
	Path      string    // URL path as sent
	// APIVersion is the api-version the route accepted: the query value on
	// the classic route; on the v1 route "v1" when absent, else the value.
	APIVersion string
	// Deployment is the deployment name as requested: the path-unescaped
	// path segment on the classic route, the body's "model" on the v1 route
	// ("" when the body is not valid JSON). It need not exist.
	Deployment string
	Stream     bool   // the body's "stream"
	Body       []byte // the raw JSON body; a copy owned by the caller
	// Messages are the body's messages, parsed when LastRequest was
	// called; nil when the body is not valid JSON. For a responses request
	// they are its instructions (as a system message) and input items, in
	// chat form: input_text parts become "text" parts, input_image parts
	// "image_url" parts, function_call items assistant ToolCalls and
	// function_call_output items "tool" messages (the conversation of a
	// previous_response_id is not included). Embeddings requests have none.
	Messages []Message
	// Inputs are the texts of an embeddings request (token arrays as JSON).
	Inputs []string
}

// Message is one message of a recorded request, as the emulator understood it.
type Message struct {
	Role string
	// Content is the message text: a string content as sent, or the text
	// of its text parts joined by "\n" (what the reply generator reads).
	Content string
	// Parts are the content parts when content was an array, else nil.
	Parts []Part
	// Name is the optional "name" field.
	Name string
	// ToolCallID is the call a tool message answers.
	ToolCallID string
	// ToolCalls are an assistant message's tool calls.
	ToolCalls []ToolCall
}

// Part is one content part of a message.
type Part struct {
	Type     string // "text", "image_url", "input_image", …
	Text     string // text parts
	ImageURL string // image_url parts: image_url.url (a data: URL for inline data)
}

// ToolCall is one tool call of an assistant message.
type ToolCall struct {
	ID        string
	Type      string // "function"
	Name      string
	Arguments string // JSON text, as sent
}

// lastRecord is the newest chat request: its body stays in the pooled buffer
// it was read into, so recording costs no allocation. Guarded by
// Handler.lastMu.
type lastRecord struct {
	op         string        // opChat, opResponses or opEmbeddings
	buf        *bytes.Buffer // nil: none
	time       time.Time
	path       string
	apiVersion string
	deployment string
	stream     bool
}

// keepLast makes buf (a request body) the newest recorded request and
// returns the buffer it replaces to the pool. The handler must not use buf
// afterwards.
func (h *Handler) keepLast(x *exchange, buf *bytes.Buffer, deployment string, stream bool, op string) {
	h.lastMu.Lock()
	old := h.last.buf
	h.last = lastRecord{
		op:         op,
		buf:        buf,
		time:       x.arrival.Time,
		path:       x.arrival.Path,
		apiVersion: x.apiVersion,
		deployment: deployment,
		stream:     stream,
	}
	h.lastMu.Unlock()
	if old != nil {
		putBuf(old)
	}
}

func (h *Handler) forgetLast() {
	h.lastMu.Lock()
	old := h.last.buf
	h.last = lastRecord{}
	h.lastMu.Unlock()
	if old != nil {
		putBuf(old)
	}
}

// LastRequest returns the newest model request — chat completions,
// responses or embeddings, on either route family — whose body the emulator
// read, whatever its outcome: answered, refused by validation, quota or an
// injected fault — and false if there is none. Batch lines are not recorded.
// Requests refused before the body is read (routing, authentication,
// api-version, an unknown classic deployment) are not recorded. "Newest" is
// by the time the body was read. ResetStats forgets it.
//
// Recording keeps the body bytes only; the copy and the parsing of Messages
// happen here, so LastRequest costs the hot path nothing.
func (h *Handler) LastRequest() (Request, bool) {
	h.lastMu.Lock()
	l := h.last
	var body []byte
	if l.buf != nil {
		body = slices.Clone(l.buf.Bytes())
	}
	h.lastMu.Unlock()
	if l.buf == nil {
		return Request{}, false
	}
	r := Request{
		Operation:  l.op,
		Time:       l.time,
		Path:       l.path,
		APIVersion: l.apiVersion,
		Deployment: l.deployment,
		Stream:     l.stream,
		Body:       body,
	}
	switch l.op {
	case opResponses:
		r.Messages = parseResponsesMessages(body)
	case opEmbeddings:
		r.Inputs = parseEmbeddingInputs(body)
	default:
		r.Messages = parseMessagesFor(l.path, body)
	}
	return r, true
}

// LastMessages returns the messages of LastRequest, nil if there is none or
// its body is not valid JSON.
func (h *Handler) LastMessages() []Message {
	r, _ := h.LastRequest()
	return r.Messages
}

// Requests returns how many requests (any route, any outcome) have arrived
// since NewHandler or the last ResetStats. It counts on arrival, so once a
// client has its response the request is counted; Stats counts requests as
// their handling ends. It is a single atomic load.
func (h *Handler) Requests() int { return int(h.requests.Load()) }

// InFlight returns the number of requests being handled now: counted from
// arrival until the handler returns — after the response is written, or
// when a delay, a stall or an open stream ends because the client went away
// (or Close was called). Stats already includes a request once it is no
// longer in flight.
func (h *Handler) InFlight() int { return int(h.inFlight.Load()) }

// wireMessage is the part of a request message LastRequest reports.
type wireMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name"`
	ToolCallID string          `json:"tool_call_id"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

type wirePart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

// parseMessagesFor decodes the messages of a body received on path: the
// Anthropic route's in its own format, the others as chat completions.
func parseMessagesFor(path string, body []byte) []Message {
	if strings.TrimLeft(path, "/") == strings.TrimLeft(AnthropicPath, "/") {
		return parseAnthropicMessages(body)
	}
	return parseMessages(body)
}

// parseMessages decodes the messages of a request body leniently: a message
// whose content has an unexpected type keeps its role and an empty Content.
func parseMessages(body []byte) []Message {
	var req struct {
		Messages []wireMessage `json:"messages"`
	}
	if json.Unmarshal(body, &req) != nil {
		return nil
	}
	out := make([]Message, 0, len(req.Messages))
	for _, w := range req.Messages {
		m := Message{Role: w.Role, Name: w.Name, ToolCallID: w.ToolCallID}
		raw := bytes.TrimSpace(w.Content)
		switch {
		case len(raw) == 0:
		case raw[0] == '"':
			_ = json.Unmarshal(raw, &m.Content)
		case raw[0] == '[':
			var parts []wirePart
			if json.Unmarshal(raw, &parts) == nil {
				m.Parts = make([]Part, 0, len(parts))
				var texts []string
				for _, p := range parts {
					m.Parts = append(m.Parts, Part{Type: p.Type, Text: p.Text, ImageURL: p.ImageURL.URL})
					if p.Type == "text" {
						texts = append(texts, p.Text)
					}
				}
				m.Content = strings.Join(texts, "\n")
			}
		}
		for _, c := range w.ToolCalls {
			m.ToolCalls = append(m.ToolCalls, ToolCall{ID: c.ID, Type: c.Type, Name: c.Function.Name, Arguments: c.Function.Arguments})
		}
		out = append(out, m)
	}
	return out
}
