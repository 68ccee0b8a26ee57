package openai

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// Generate sends req to the chat completions endpoint and returns the first
// choice. It does not retry: retries, rate limiting and cost are the
// llm.Client's job, so Response.Cost, Attempts and Latency are left zero.
// Errors are *llm.Error.
func (p *Provider) Generate(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	if req != nil && req.UsesResponses() {
		return p.generateResponses(ctx, req)
	}
	ep, creq, flags, err := p.prepare(req)
	if err != nil {
		return nil, err
	}
	st := getState()
	defer putState(st)
	st.zeroTemp, st.zeroTopP = flags.zeroTemp, flags.zeroTopP
	if _, err := ep.client.CreateChatCompletion(withState(ctx, st), creq); err != nil {
		return nil, p.classify(ctx, req.Model, ep, st, err)
	}
	var w wireResponse
	err = st.dec.decode(st.body, &w)
	if err == nil {
		err = w.decodeContent()
	}
	if err != nil {
		e := &llm.Error{Code: llm.CodeUnknown, Provider: p.name, Model: req.Model.ID, StatusCode: st.status,
			RequestID: requestID(st.header), Header: st.header, Err: err,
			Message: "cannot decode the server's reply (is the base URL an OpenAI-compatible API?): " + err.Error()}
		p.secrets(ep, st).cleanError(e)
		return nil, e
	}
	resp, le := p.toResponse(req, &w, st)
	sec := p.secrets(ep, st)
	if le != nil {
		sec.cleanError(le)
		return nil, le
	}
	sec.response(resp)
	return resp, nil
}

// prepare routes and serializes a request.
func (p *Provider) prepare(req *llm.Request) (*endpoint, goopenai.ChatCompletionRequest, wireFlags, error) {
	if req == nil {
		return nil, goopenai.ChatCompletionRequest{}, wireFlags{}, &llm.Error{Code: llm.CodeInvalidRequest, Provider: p.name, Message: "nil request"}
	}
	switch req.Model.APISpec {
	case registry.APISpecResponses:
		// Only a call that asked for chat completions gets here.
		return nil, goopenai.ChatCompletionRequest{}, wireFlags{}, &llm.Error{Code: llm.CodeInvalidRequest, Provider: p.name, Model: req.Model.ID,
			Message: "model " + req.Model.ID + " is served only by the Responses API: leave out llm.WithAPI(llm.APIChat)"}
	case registry.APISpecEmbeddings:
		return nil, goopenai.ChatCompletionRequest{}, wireFlags{}, p.embeddingsModelError(req.Model)
	}
	ep, err := p.endpointFor(req.Model)
	if err != nil {
		var le *llm.Error
		if !errors.As(err, &le) {
			// The endpoint was built without credentials (no OPENAI_API_KEY).
			le = &llm.Error{Code: llm.CodeAuthentication, Provider: p.name, Model: req.Model.ID, Message: err.Error()}
		}
		return nil, goopenai.ChatCompletionRequest{}, wireFlags{}, le
	}
	creq, flags, err := buildRequest(req, p.wireName(req.Model))
	if err != nil {
		return nil, goopenai.ChatCompletionRequest{}, wireFlags{}, &llm.Error{Code: llm.CodeInvalidRequest, Provider: p.name, Model: req.Model.ID,
			Message: "cannot serialize the request: " + err.Error(), Err: err}
	}
	return ep, creq, flags, nil
}

// wireResponse is a chat.completion body, decoded in one pass with Azure's
// annotations kept whole.
type wireResponse struct {
	Model   string `json:"model"`
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			// Content is a string, null or an array of parts; decodeContent
			// turns it into text.
			Content   any            `json:"content"`
			Refusal   string         `json:"refusal"`
			ToolCalls []wireToolCall `json:"tool_calls"`
			text      string
		} `json:"message"`
		// Text is the reply of the legacy completions shape, which some
		// servers (and Azure's documentation) use.
		Text     string `json:"text"`
		Logprobs *struct {
			Content []llm.TokenLogprob `json:"content"`
		} `json:"logprobs"`
		FinishReason         string                    `json:"finish_reason"`
		ContentFilterResults *llm.ContentFilterResults `json:"content_filter_results"`
	} `json:"choices"`
	Usage               *wireUsage         `json:"usage"`
	PromptFilterResults []wirePromptFilter `json:"prompt_filter_results"`
	// PromptAnnotations is the pre-2023-10 name of prompt_filter_results.
	PromptAnnotations []wirePromptFilter `json:"prompt_annotations"`
}

type wireToolCall struct {
	Index    *int   `json:"index"`
	ID       string `json:"id"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type wireUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

// contentText returns a message's content, decoded as any: a string, null,
// or (from some compatible servers) an array of parts whose text is
// concatenated. Decoding the field as any lets encoding/json unquote the
// usual string in the pass that scans the reply; a field type with its own
// UnmarshalJSON would have the largest field of every reply scanned three
// times. Other shapes read as no text, as before; an array whose parts are
// not objects with a string "text" is an error, as it was when the parts
// were decoded into a typed slice.
func contentText(v any) (string, error) {
	switch c := v.(type) {
	case string:
		return c, nil
	case []any:
		var b strings.Builder
		for i, part := range c {
			switch p := part.(type) {
			case nil:
			case map[string]any:
				switch t := p["text"].(type) {
				case nil:
				case string:
					b.WriteString(t)
				default:
					return "", fmt.Errorf("message.content[%d].text: want a string, got %s", i, jsonKind(t))
				}
			default:
				return "", fmt.Errorf("message.content[%d]: want an object, got %s", i, jsonKind(p))
			}
		}
		return b.String(), nil
	}
	return "", nil
}

// jsonKind names the JSON type of a value decoded as any.
func jsonKind(v any) string {
	switch v.(type) {
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "null"
}

// decodeContent converts every choice's content to text.
func (w *wireResponse) decodeContent() error {
	for i := range w.Choices {
		m := &w.Choices[i].Message
		text, err := contentText(m.Content)
		if err != nil {
			return err
		}
		m.text, m.Content = text, nil
	}
	return nil
}

func (p *Provider) toResponse(req *llm.Request, w *wireResponse, st *callState) (*llm.Response, *llm.Error) {
	header := st.header
	if len(w.Choices) == 0 {
		return nil, &llm.Error{Code: llm.CodeUnknown, Provider: p.name, Model: req.Model.ID, StatusCode: st.status,
			RequestID: requestID(header), Header: header, Message: "the server returned no choices", Err: errNoChoices}
	}
	ch := &w.Choices[0]
	text := ch.Message.text
	if text == "" {
		text = ch.Text
	}
	out := &llm.Response{
		Model:         req.Model.ID,
		Provider:      p.name,
		Region:        headerValue(header, headerRegion),
		ServedModel:   w.Model,
		Completion:    text,
		Message:       assistantReply(text, ch.Message.ToolCalls),
		FinishReason:  ch.FinishReason,
		Refusal:       ch.Message.Refusal,
		Usage:         usage(w.Usage),
		ContentFilter: nonEmptyFilter(ch.ContentFilterResults),
		PromptFilter:  promptFilters(w.PromptFilterResults, w.PromptAnnotations),
		RequestID:     requestID(header),
		Header:        header,
	}
	if lp := ch.Logprobs; lp != nil && len(lp.Content) > 0 {
		out.Logprobs = normalizeLogprobs(lp.Content)
	}
	return out, nil
}

// normalizeLogprobs makes empty alternative lists nil, so that a reply
// reads the same whether it was streamed or not.
func normalizeLogprobs(lps []llm.TokenLogprob) []llm.TokenLogprob {
	for i := range lps {
		if len(lps[i].TopLogprobs) == 0 {
			lps[i].TopLogprobs = nil
		}
	}
	return lps
}

// assistantReply builds the reply message: text first, then tool calls.
func assistantReply(text string, calls []wireToolCall) conversation.Message {
	msg := conversation.Message{Role: conversation.RoleAssistant}
	n := len(calls)
	if text != "" {
		n++
	}
	if n == 0 {
		return msg
	}
	msg.Parts = make([]conversation.Part, 0, n)
	if text != "" {
		msg.Parts = append(msg.Parts, conversation.Text(text))
	}
	for _, c := range calls {
		msg.Parts = append(msg.Parts, conversation.Call(c.ID, c.Function.Name, c.Function.Arguments))
	}
	return msg
}

func usage(u *wireUsage) llm.Usage {
	if u == nil {
		return llm.Usage{}
	}
	out := llm.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil {
		out.CachedInputTokens = d.CachedTokens
	}
	if d := u.CompletionTokensDetails; d != nil {
		out.ReasoningTokens = d.ReasoningTokens
	}
	return out
}

// Response headers read on every call, in canonical form so that they index
// http.Header directly (http.Header.Get would canonicalise the key each
// time, and allocate a copy of a lower-case one).
const (
	headerAPIMRequestID = "Apim-Request-Id"
	headerRequestID     = "X-Request-Id"
	headerRegion        = "X-Ms-Region"
	headerRetryAfterMS  = "Retry-After-Ms"
	headerRetryAfter    = "Retry-After"
)

// headerValue is h.Get(key) for a key already in canonical form.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// requestID returns the ID to quote to support: Azure's apim-request-id,
// else the x-request-id both OpenAI and Azure send.
func requestID(h http.Header) string {
	if id := headerValue(h, headerAPIMRequestID); id != "" {
		return id
	}
	return headerValue(h, headerRequestID)
}

// wirePromptFilter is one entry of prompt_filter_results.
type wirePromptFilter struct {
	PromptIndex          int                      `json:"prompt_index"`
	ContentFilterResults llm.ContentFilterResults `json:"content_filter_results"`
}

func promptFilters(results, legacy []wirePromptFilter) []llm.ContentFilterResults {
	src := results
	if len(src) == 0 {
		src = legacy
	}
	if len(src) == 0 {
		return nil
	}
	out := make([]llm.ContentFilterResults, len(src))
	for i, f := range src {
		out[i] = f.ContentFilterResults
		out[i].PromptIndex = f.PromptIndex
	}
	return out
}

// nonEmptyFilter returns nil for an absent or empty ({}) annotation, which
// Azure sends on role and finish chunks.
func nonEmptyFilter(f *llm.ContentFilterResults) *llm.ContentFilterResults {
	if f.IsZero() {
		return nil
	}
	return f
}
