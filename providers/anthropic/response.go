package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/httpguard"
	"github.com/deluge-go/deluge/llm"
)

// Header names read or written on every call, in canonical form so that they
// index http.Header directly.
const (
	headerAPIKey           = "X-Api-Key"
	headerAuthorization    = "Authorization"
	headerVersion          = "Anthropic-Version"
	headerContentType      = "Content-Type"
	headerAccept           = "Accept"
	headerRequestID        = "Request-Id"
	headerAPIMRequestID    = "Apim-Request-Id"
	headerXRequestID       = "X-Request-Id"
	headerRetryAfter       = "Retry-After"
	headerRetryAfterMS     = "Retry-After-Ms"
	headerShouldRetry      = "X-Should-Retry"
	headerAzureRegion      = "X-Ms-Region"
	contentTypeJSON        = "application/json"
	contentTypeEventStream = "text/event-stream"
)

// wireResponse is a Message object: the reply of POST /v1/messages, and the
// message of a stream's message_start event.
type wireResponse struct {
	ID          string           `json:"id"`
	Model       string           `json:"model"`
	Content     []wireContent    `json:"content"`
	StopReason  string           `json:"stop_reason"`
	StopDetails *wireStopDetails `json:"stop_details"`
	Usage       wireUsage        `json:"usage"`
}

// wireContent is one content block of a reply.
type wireContent struct {
	Type  string          `json:"type"`
	Text  string          `json:"text"`
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

type wireStopDetails struct {
	Type        string `json:"type"`
	Category    string `json:"category"`
	Explanation string `json:"explanation"`
}

// wireUsage is a reply's usage. input_tokens counts only the prompt tokens
// neither read from nor written to the cache.
type wireUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokensDetails      *struct {
		ThinkingTokens int `json:"thinking_tokens"`
	} `json:"output_tokens_details"`
}

// usage maps Anthropic's usage to llm.Usage, whose InputTokens counts the
// whole prompt: Anthropic's input_tokens plus cache reads plus cache writes.
func (u *wireUsage) usage() llm.Usage {
	out := llm.Usage{
		InputTokens:           u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens,
		OutputTokens:          u.OutputTokens,
		CachedInputTokens:     u.CacheReadInputTokens,
		CacheWriteInputTokens: u.CacheCreationInputTokens,
	}
	if d := u.OutputTokensDetails; d != nil {
		out.ReasoningTokens = d.ThinkingTokens
	}
	return out
}

// finishReason maps a stop_reason to llm's finish reasons. pause_turn (a
// server tool paused a long turn: send the reply back to continue) and
// unknown reasons pass through unchanged.
func finishReason(stop string) string {
	switch stop {
	case "end_turn", "stop_sequence":
		return "stop"
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	return stop
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Generate sends req to POST /v1/messages and returns the reply: text
// blocks joined as Completion, tool_use blocks as tool calls, the finish
// reason, usage (cache reads and writes included), the served model, the
// request ID and the headers. Thinking blocks are not returned (llm has no
// place for them); their tokens count in Usage. It sends exactly one HTTP
// request; errors are *llm.Error.
func (p *Provider) Generate(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	if req == nil {
		return nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: p.name, Message: "nil request"}
	}
	ep, err := p.endpointFor(req.Model)
	if err != nil {
		return nil, p.asError(req, err)
	}
	w, jsonTool, err := p.buildRequest(req, false)
	if err != nil {
		return nil, err
	}
	ep = ep.forCall()
	resp, err := p.send(ctx, req, ep, &w)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= httpguard.MaxPooledBuffer {
			bufPool.Put(buf)
		}
	}()
	body, err := httpguard.ReadBody(buf, resp.Body, resp.ContentLength, p.maxBody)
	if err != nil {
		return nil, p.transportError(ctx, req, ep, resp, err)
	}
	var wr wireResponse
	if err := json.Unmarshal(body, &wr); err != nil {
		e := &llm.Error{Code: llm.CodeUnknown, Provider: p.name, Model: req.Model.ID, StatusCode: resp.StatusCode,
			RequestID: requestID(resp.Header), Header: resp.Header,
			Message: "the reply is not a Messages API object: " + err.Error(), Err: err}
		p.redactError(e, ep)
		return nil, e
	}
	out := p.toResponse(req, &wr, resp.Header, jsonTool)
	p.secrets(ep).Response(out)
	return out, nil
}

// toResponse builds the llm.Response of a decoded reply.
func (p *Provider) toResponse(req *llm.Request, wr *wireResponse, h http.Header, jsonTool bool) *llm.Response {
	out := &llm.Response{
		Model:        req.Model.ID,
		Provider:     p.name,
		ServedModel:  wr.Model,
		FinishReason: finishReason(wr.StopReason),
		Usage:        wr.Usage.usage(),
		RequestID:    requestID(h),
		Header:       h,
		Region:       headerValue(h, headerAzureRegion),
	}
	out.Message.Role = conversation.RoleAssistant
	var text []byte
	for _, b := range wr.Content {
		switch b.Type {
		case "text":
			text = append(text, b.Text...)
		case "tool_use":
			input := string(b.Input)
			if input == "" {
				input = "{}"
			}
			if jsonTool && b.Name == jsonToolName {
				text = append(text, input...)
				continue
			}
			out.Message.Parts = append(out.Message.Parts, conversation.Call(b.ID, b.Name, input))
		}
	}
	if jsonTool && wr.StopReason == "tool_use" {
		out.FinishReason = "stop"
	}
	out.Completion = string(text)
	if out.Completion != "" {
		out.Message.Parts = append([]conversation.Part{conversation.Text(out.Completion)}, out.Message.Parts...)
	}
	if d := wr.StopDetails; d != nil && d.Type == "refusal" {
		out.Refusal = d.Explanation
	}
	return out
}

// send marshals w, sends it once and returns the 2xx response; any other
// outcome is an *llm.Error.
func (p *Provider) send(ctx context.Context, req *llm.Request, ep *endpoint, w *wireRequest) (*http.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, p.transportError(ctx, req, ep, nil, err)
	}
	body, err := json.Marshal(w)
	if err != nil {
		return nil, p.invalid(req, "encoding the request: "+err.Error())
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(body))
	if err != nil {
		return nil, p.invalid(req, "building the request: "+err.Error())
	}
	hr.Header[headerContentType] = []string{contentTypeJSON}
	hr.Header[headerVersion] = []string{p.version}
	if w.Stream {
		hr.Header[headerAccept] = []string{contentTypeEventStream}
	} else {
		hr.Header[headerAccept] = []string{contentTypeJSON}
	}
	if ep.auth != nil {
		if err := ep.auth(hr); err != nil {
			return nil, p.authError(ctx, req, ep, err)
		}
	}
	resp, err := p.client.Do(hr)
	ep.creds = carried(hr.Header)
	if err != nil {
		return nil, p.transportError(ctx, req, ep, nil, err)
	}
	if rerr := httpguard.CheckRedirect(hr, resp); rerr != nil {
		// Not read: the connection is dropped rather than drained.
		resp.Body.Close()
		return nil, p.redirectError(req, ep, resp, rerr)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf) // at most MaxErrorBody
	raw, cut, _ := httpguard.ReadErrorBody(buf, resp.Body, p.maxBody)
	e := p.httpError(req, ep, resp.StatusCode, resp.Header, raw)
	if cut {
		e.Message += fmt.Sprintf(" (the error body was longer than %d bytes; only its start was read)", min(int64(httpguard.MaxErrorBody), p.maxBody))
	}
	return nil, e
}

// carried returns the credentials a request carried: x-api-key and the
// bearer token, as Authenticate (or the provider) set them.
func carried(h http.Header) [2]string {
	var c [2]string
	if v := h[headerAPIKey]; len(v) > 0 {
		c[0] = v[0]
	}
	if v := h[headerAuthorization]; len(v) > 0 {
		a := v[0]
		if len(a) > len("Bearer ") && strings.EqualFold(a[:len("Bearer ")], "Bearer ") {
			a = a[len("Bearer "):]
		}
		c[1] = a
	}
	return c
}

// headerValue is h.Get(key) for a key already in canonical form.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// requestID returns the ID to quote to support: Anthropic's request-id,
// else Azure's apim-request-id, else x-request-id.
func requestID(h http.Header) string {
	for _, k := range [...]string{headerRequestID, headerAPIMRequestID, headerXRequestID} {
		if v := headerValue(h, k); v != "" {
			return v
		}
	}
	return ""
}
