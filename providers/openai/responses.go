package openai

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// The Responses API serializer. One serializer serves OpenAI
// (api.openai.com/v1/responses) and Azure ({endpoint}/openai/v1/responses,
// or {endpoint}/openai/responses?api-version=… on the classic family, the
// deployment being the body's model on both): the azure-foundry provider
// configures it as it configures the chat one. See the package
// documentation ("The Responses API") for why its wire types are written
// by hand.

// bodyPool recycles request bodies.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody bounds the request buffer kept between calls.
const maxPooledBody = 1 << 20

func getBody() *bytes.Buffer { return bodyPool.Get().(*bytes.Buffer) }

func putBody(b *bytes.Buffer) {
	if b.Cap() > maxPooledBody {
		return
	}
	b.Reset()
	bodyPool.Put(b)
}

// prepareResponses routes and serializes a Responses API request into buf.
func (p *Provider) prepareResponses(req *llm.Request, buf *bytes.Buffer, stream bool) (*endpoint, *llm.Error) {
	if req.Model.APISpec == registry.APISpecEmbeddings {
		return nil, p.embeddingsModelError(req.Model)
	}
	ep, le := p.endpointOf(req.Model)
	if le != nil {
		return nil, le
	}
	if stream && req.Background {
		return nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: p.name, Model: req.Model.ID,
			Message: "a Stream cannot run in the background: leave out WithBackground, or call Generate"}
	}
	r, err := buildResponsesRequest(req, p.wireName(req.Model))
	if err == nil {
		r.Stream = stream
		err = marshalResponses(buf, r)
	}
	if err != nil {
		return nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: p.name, Model: req.Model.ID,
			Message: "cannot serialize the request: " + err.Error(), Err: err}
	}
	return ep, nil
}

// endpointOf returns the endpoint serving m, or the error of a missing
// configuration.
func (p *Provider) endpointOf(m registry.Model) (*endpoint, *llm.Error) {
	ep, err := p.endpointFor(m)
	if err != nil {
		var le *llm.Error
		if !errors.As(err, &le) {
			// The endpoint was built without credentials (no OPENAI_API_KEY).
			le = &llm.Error{Code: llm.CodeAuthentication, Provider: p.name, Model: m.ID, Message: err.Error()}
		}
		return nil, le
	}
	return ep, nil
}

// generateResponses is Generate on the Responses API.
func (p *Provider) generateResponses(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	buf := getBody()
	defer putBody(buf)
	ep, le := p.prepareResponses(req, buf, false)
	if le != nil {
		return nil, le
	}
	st := getState()
	defer putState(st)
	resp, err := ep.raw.do(ctx, st, http.MethodPost, ep.raw.create, buf.Bytes())
	if err != nil {
		return nil, p.httpFailure(ctx, req.Model, ep, st, err)
	}
	resp.Body.Close() // the capture doer has read it into st.body
	return p.responsesReply(req, ep, st)
}

// responsesReply decodes a response object read into st (a create or a
// poll) into an llm.Response, or the error it reports.
func (p *Provider) responsesReply(req *llm.Request, ep *endpoint, st *callState) (*llm.Response, error) {
	var w wireRespBody
	if err := st.dec.decode(st.body, &w); err != nil {
		e := &llm.Error{Code: llm.CodeUnknown, Provider: p.name, Model: req.Model.ID, StatusCode: st.status,
			RequestID: requestID(st.header), Header: st.header, Err: err,
			Message: "cannot decode the server's reply (is the base URL an OpenAI-compatible API serving the Responses API?): " + err.Error()}
		p.secrets(ep, st).cleanError(e)
		return nil, e
	}
	sec := p.secrets(ep, st)
	if le := p.responseFailure(req.Model, &w, st.status, st.header); le != nil {
		sec.cleanError(le)
		return nil, le
	}
	resp := p.toResponsesResponse(req, &w, st.header)
	sec.response(resp)
	return resp, nil
}

// wireRespBody is a Responses API response object, decoded in one pass:
// what deluge maps, Azure's content_filters included.
type wireRespBody struct {
	ID                string `json:"id"`
	Model             string `json:"model"`
	Status            string `json:"status"`
	ServiceTier       string `json:"service_tier"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Error          *wireRespError          `json:"error"`
	Output         []wireRespItem          `json:"output"`
	Usage          *wireRespUsage          `json:"usage"`
	ContentFilters []wireRespContentFilter `json:"content_filters"`
}

type wireRespError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// wireRespItem is one output item: a message (content parts), a reasoning
// item (summary parts), a function call (call_id, name, arguments); other
// types (tool calls of built-in tools) are not mapped.
type wireRespItem struct {
	Type      string         `json:"type"`
	ID        string         `json:"id"`
	Content   []wireRespPart `json:"content"`
	Summary   []wireRespPart `json:"summary"`
	CallID    string         `json:"call_id"`
	Name      string         `json:"name"`
	Arguments string         `json:"arguments"`
}

// wireRespPart is a content part (output_text, refusal) or a summary part
// (summary_text).
type wireRespPart struct {
	Type     string             `json:"type"`
	Text     string             `json:"text"`
	Refusal  string             `json:"refusal"`
	Logprobs []llm.TokenLogprob `json:"logprobs"`
}

type wireRespUsage struct {
	InputTokens        int `json:"input_tokens"`
	OutputTokens       int `json:"output_tokens"`
	InputTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokensDetails *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

// wireRespContentFilter is one entry of Azure's content_filters: the
// results for the prompt or the completion ("source_type"), and whether
// they blocked it (Azure's v1 spec, AzureContentFilterForResponsesAPI).
type wireRespContentFilter struct {
	Blocked              bool                      `json:"blocked"`
	SourceType           string                    `json:"source_type"`
	ContentFilterResults *llm.ContentFilterResults `json:"content_filter_results"`
}

func (u *wireRespUsage) usage() llm.Usage {
	if u == nil {
		return llm.Usage{}
	}
	out := llm.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens}
	if d := u.InputTokensDetails; d != nil {
		out.CachedInputTokens = d.CachedTokens
	}
	if d := u.OutputTokensDetails; d != nil {
		out.ReasoningTokens = d.ReasoningTokens
	}
	return out
}

// Statuses of a response object.
const (
	statusCompleted  = "completed"
	statusIncomplete = "incomplete"
	statusFailed     = "failed"
	statusCancelled  = "cancelled"
	statusQueued     = "queued"
	statusInProgress = "in_progress"
)

// responseFailure is the error of a response object whose status says the
// request failed or was cancelled on the server; nil otherwise. status is
// the HTTP status that carried it (200), as llm.Poller documents.
func (p *Provider) responseFailure(m registry.Model, w *wireRespBody, status int, header http.Header) *llm.Error {
	switch w.Status {
	case statusFailed:
		var code, msg string
		if w.Error != nil {
			code, msg = w.Error.Code, w.Error.Message
		}
		e := &llm.Error{Provider: p.name, Model: m.ID, StatusCode: status, Header: header, RequestID: requestID(header)}
		e.Code = failedCode(code, msg)
		e.Message = "the response failed on the server"
		if code != "" {
			e.Message += " (" + code + ")"
		}
		if msg != "" {
			e.Message += ": " + msg
		}
		return e
	case statusCancelled:
		return &llm.Error{Code: llm.CodeCanceled, Provider: p.name, Model: m.ID, StatusCode: status, Header: header, RequestID: requestID(header),
			Message: "the response " + w.ID + " was cancelled on the server"}
	}
	return nil
}

// failedCode classifies the error of a failed response (or a stream's
// error event), whose codes are the Responses API's: server_error,
// rate_limit_exceeded, invalid_prompt, vector_store_timeout, the image
// errors, … .
func failedCode(code, msg string) llm.Code {
	switch code {
	case "invalid_prompt":
		return llm.CodeInvalidRequest
	case "vector_store_timeout":
		return llm.CodeTimeout
	}
	if strings.HasPrefix(code, "image_") || strings.HasPrefix(code, "invalid_image") || strings.HasSuffix(code, "_image") {
		return llm.CodeInvalidRequest
	}
	f := failure{Code: code, Message: msg}
	return classifyFailure(&f)
}

// toResponsesResponse maps a complete (or pending) response object.
func (p *Provider) toResponsesResponse(req *llm.Request, w *wireRespBody, header http.Header) *llm.Response {
	var (
		text, refusal, summary strings.Builder
		lps                    []llm.TokenLogprob
		calls                  []conversation.Part
	)
	for i := range w.Output {
		it := &w.Output[i]
		switch it.Type {
		case "message":
			for j := range it.Content {
				c := &it.Content[j]
				switch c.Type {
				case "output_text":
					text.WriteString(c.Text)
					lps = append(lps, c.Logprobs...)
				case "refusal":
					refusal.WriteString(c.Refusal)
				}
			}
		case "reasoning":
			for j := range it.Summary {
				if s := it.Summary[j].Text; s != "" {
					if summary.Len() > 0 {
						summary.WriteString(summarySeparator)
					}
					summary.WriteString(s)
				}
			}
		case "function_call":
			calls = append(calls, conversation.Call(it.CallID, it.Name, it.Arguments))
		}
	}
	out := &llm.Response{
		Model:            req.Model.ID,
		Provider:         p.name,
		Region:           headerValue(header, headerRegion),
		ServedModel:      w.Model,
		Completion:       text.String(),
		Refusal:          refusal.String(),
		ReasoningSummary: summary.String(),
		FinishReason:     finishReason(w.Status, w.IncompleteDetails, len(calls) > 0),
		Usage:            w.Usage.usage(),
		RequestID:        requestID(header),
		ResponseID:       w.ID,
		Status:           w.Status,
		ServiceTier:      w.ServiceTier,
		Header:           header,
	}
	out.Message.Role = conversation.RoleAssistant
	if out.Completion != "" || len(calls) > 0 {
		out.Message.Parts = make([]conversation.Part, 0, 1+len(calls))
		if out.Completion != "" {
			out.Message.Parts = append(out.Message.Parts, conversation.Text(out.Completion))
		}
		out.Message.Parts = append(out.Message.Parts, calls...)
	}
	if len(lps) > 0 {
		out.Logprobs = normalizeLogprobs(lps)
	}
	var blocked bool
	out.PromptFilter, out.ContentFilter, blocked = contentFilters(w.ContentFilters)
	if blocked && out.FinishReason != llm.FinishContentFilter && w.Status != statusQueued && w.Status != statusInProgress {
		out.FinishReason = llm.FinishContentFilter
	}
	return out
}

// summarySeparator joins the parts of a reasoning summary.
const summarySeparator = "\n\n"

// finishReason maps a response's status to chat's finish reasons, which
// llm.Response uses for every API: "stop", "tool_calls", "length" (cut by
// max_output_tokens), "content_filter"; "" for a response not done.
func finishReason(status string, inc *struct {
	Reason string `json:"reason"`
}, calls bool) string {
	switch status {
	case statusCompleted:
		if calls {
			return "tool_calls"
		}
		return "stop"
	case statusIncomplete:
		reason := ""
		if inc != nil {
			reason = inc.Reason
		}
		switch reason {
		case "max_output_tokens":
			return "length"
		case "content_filter":
			return llm.FinishContentFilter
		case "":
			return "length"
		}
		return reason
	}
	return ""
}

// contentFilters splits Azure's content_filters into the prompt's results
// and the completion's (the last non-empty one), and reports whether the
// completion was blocked.
func contentFilters(fs []wireRespContentFilter) (prompt []llm.ContentFilterResults, completion *llm.ContentFilterResults, blocked bool) {
	for i := range fs {
		f := &fs[i]
		switch f.SourceType {
		case "prompt":
			if f.ContentFilterResults != nil {
				prompt = append(prompt, *f.ContentFilterResults)
			}
		default: // "completion"
			if r := nonEmptyFilter(f.ContentFilterResults); r != nil {
				completion = r
			}
			blocked = blocked || f.Blocked
		}
	}
	return prompt, completion, blocked
}

// embeddingsModelError is the error of a chat or Responses call to an
// embeddings model.
func (p *Provider) embeddingsModelError(m registry.Model) *llm.Error {
	return &llm.Error{Code: llm.CodeInvalidRequest, Provider: p.name, Model: m.ID,
		Message: "model " + m.ID + " is an embeddings model: call Client.Embed, not Generate or Stream"}
}
