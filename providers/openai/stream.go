package openai

import (
	"context"
	"errors"
	"io"
	"iter"
	"net/http"
	"slices"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// Stream sends req with "stream": true and stream_options.include_usage,
// and yields the reply as it arrives. The sequence follows llm.Streamer:
//
//   - Chunk.Text holds each delta; their concatenation is the completion.
//   - Tool calls arrive in fragments on the wire (index, id, name and
//     argument pieces); they are assembled and yielded once, whole, on the
//     chunk that carries the finish reason.
//   - Events with empty choices are tolerated: Azure's first event holds
//     only prompt_filter_results (carried into the next chunk yielded), and
//     usage comes on a final empty-choices event (or, with some servers, on
//     the finish chunk).
//   - The first chunk yielded carries RequestID, Region and Header; the
//     first one after the server named its model carries ServedModel.
//   - Content-filter annotations are yielded on the chunk they came with,
//     including Azure's annotation-only events of asynchronous filtering.
//
// The stream ends at "data: [DONE]" or at the end of the body (go-openai
// treats both alike). If it ends without any finish reason the reply is
// incomplete, and the last element is an *llm.Error with CodeUnavailable.
// An HTTP error before the stream starts is the same *llm.Error Generate
// returns. Breaking out of the loop closes the response body, which
// releases the connection.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) iter.Seq2[*llm.Chunk, error] {
	if req != nil && req.UsesResponses() {
		return p.streamResponses(ctx, req)
	}
	return func(yield func(*llm.Chunk, error) bool) {
		ep, creq, flags, err := p.prepare(req)
		if err != nil {
			yield(nil, err)
			return
		}
		creq.Stream = true
		creq.StreamOptions = &goopenai.StreamOptions{IncludeUsage: true}
		st := getState()
		defer putState(st)
		st.stream = true
		st.zeroTemp, st.zeroTopP = flags.zeroTemp, flags.zeroTopP
		stream, err := ep.client.CreateChatCompletionStream(withState(ctx, st), creq)
		if err != nil {
			yield(nil, p.classify(ctx, req.Model, ep, st, err))
			return
		}
		defer stream.Close()
		sec := p.secrets(ep, st)
		a := assembler{streamMeta: streamMeta{header: stream.Header()}}
		// One event at a time, decoded into the same variable: nothing of
		// an event outlives the chunk built from it.
		var ev wireChunk
		for {
			raw, err := stream.RecvRaw()
			if errors.Is(err, io.EOF) {
				if c := a.flush(); c != nil {
					sec.chunk(c)
					if !yield(c, nil) {
						return
					}
				}
				if !a.finished {
					yield(nil, p.truncated(ctx, req, ep, st, a.header))
				}
				return
			}
			if err != nil {
				yield(nil, p.classify(ctx, req.Model, ep, st, err))
				return
			}
			ev = wireChunk{}
			if err := st.dec.decode(raw, &ev); err != nil {
				yield(nil, p.malformedEvent(req, st, sec, a.header, raw, err))
				return
			}
			if c := a.event(&ev); c != nil {
				sec.chunk(c)
				if !yield(c, nil) {
					return
				}
			}
		}
	}
}

// truncated is the error for a stream that ended without a finish reason.
func (p *Provider) truncated(ctx context.Context, req *llm.Request, ep *endpoint, st *callState, header http.Header) error {
	if ctx.Err() != nil {
		return p.classify(ctx, req.Model, ep, st, ctx.Err())
	}
	e := &llm.Error{Code: llm.CodeUnavailable, Provider: p.name, Model: req.Model.ID, StatusCode: st.status,
		RequestID: requestID(header), Header: header,
		Message: "the stream ended before the model finished (no finish_reason): the reply is incomplete"}
	p.secrets(ep, st).cleanError(e)
	return e
}

// malformedEvent is the error for a stream event that does not decode
// (err), quoting the start of its data.
func (p *Provider) malformedEvent(req *llm.Request, st *callState, sec secrets, header http.Header, data []byte, err error) *llm.Error {
	e := &llm.Error{Code: llm.CodeUnknown, Provider: p.name, Model: req.Model.ID, StatusCode: st.status,
		RequestID: requestID(header), Header: header,
		Message: "malformed stream event: " + err.Error() + ": " + string(truncate(data, 120)), Err: err}
	sec.cleanError(e)
	return e
}

// wireChunk is one chat.completion.chunk event, decoded in one pass with
// Azure's annotations kept whole.
type wireChunk struct {
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content   string         `json:"content"`
			Refusal   string         `json:"refusal"`
			ToolCalls []wireToolCall `json:"tool_calls"`
		} `json:"delta"`
		Logprobs *struct {
			Content []llm.TokenLogprob `json:"content"`
		} `json:"logprobs"`
		FinishReason         string                    `json:"finish_reason"`
		ContentFilterResults *llm.ContentFilterResults `json:"content_filter_results"`
	} `json:"choices"`
	PromptFilterResults []wirePromptFilter `json:"prompt_filter_results"`
	PromptAnnotations   []wirePromptFilter `json:"prompt_annotations"`
	Usage               *wireUsage         `json:"usage"`
}

// assembler turns wire events into chunks.
type assembler struct {
	streamMeta
	finished bool
	prompt   []llm.ContentFilterResults // prompt filters not yet yielded
	tools    []*toolFragments
}

type toolFragments struct {
	index    int
	id, name string
	args     strings.Builder
}

// event returns the chunk for ev, or nil when ev carries nothing to yield
// yet (a role-only delta, a prompt-filter-only event).
func (a *assembler) event(ev *wireChunk) *llm.Chunk {
	if a.model == "" && ev.Model != "" {
		a.model = ev.Model
	}
	if pf := promptFilters(ev.PromptFilterResults, ev.PromptAnnotations); pf != nil {
		a.prompt = append(a.prompt, pf...)
	}
	var c llm.Chunk
	has := false
	for i := range ev.Choices {
		ch := &ev.Choices[i]
		if ch.Index != 0 {
			continue // deluge asks for one choice
		}
		if ch.Delta.Content != "" {
			c.Text += ch.Delta.Content
			has = true
		}
		if ch.Delta.Refusal != "" {
			c.Refusal += ch.Delta.Refusal
			has = true
		}
		for j := range ch.Delta.ToolCalls {
			a.addTool(&ch.Delta.ToolCalls[j])
		}
		if ch.Logprobs != nil && len(ch.Logprobs.Content) > 0 {
			c.Logprobs = append(c.Logprobs, normalizeLogprobs(ch.Logprobs.Content)...)
			has = true
		}
		if f := nonEmptyFilter(ch.ContentFilterResults); f != nil {
			c.ContentFilter = f
			has = true
		}
		if ch.FinishReason != "" && ch.FinishReason != string(goopenai.FinishReasonNull) {
			c.FinishReason = ch.FinishReason
			c.ToolCalls = a.takeTools()
			a.finished = true
			has = true
		}
	}
	if ev.Usage != nil {
		u := usage(ev.Usage)
		c.Usage = &u
		has = true
	}
	if !has {
		return nil
	}
	return a.decorate(&c)
}

// flush returns a last chunk for what is still pending at the end of the
// stream: tool calls never closed by a finish chunk, or prompt filters of a
// stream that yielded nothing after them.
func (a *assembler) flush() *llm.Chunk {
	var c llm.Chunk
	c.ToolCalls = a.takeTools()
	if len(c.ToolCalls) == 0 && len(a.prompt) == 0 {
		return nil
	}
	return a.decorate(&c)
}

func (a *assembler) decorate(c *llm.Chunk) *llm.Chunk {
	if len(a.prompt) > 0 {
		c.PromptFilter = a.prompt
		a.prompt = nil
	}
	return a.streamMeta.decorate(c)
}

// streamMeta is what a stream's chunks carry once: the reply's headers,
// request ID and region on the first, the served model on the first after
// the server named it (model).
type streamMeta struct {
	header    http.Header
	model     string
	metaSent  bool
	modelSent bool
}

func (m *streamMeta) decorate(c *llm.Chunk) *llm.Chunk {
	if !m.metaSent {
		m.metaSent = true
		c.Header = m.header
		c.RequestID = requestID(m.header)
		c.Region = headerValue(m.header, headerRegion)
	}
	if !m.modelSent && m.model != "" {
		m.modelSent = true
		c.ServedModel = m.model
	}
	return c
}

// addTool merges one tool-call fragment. Fragments name their call by
// index; a server that omits the index starts a new call with each ID.
func (a *assembler) addTool(tc *wireToolCall) {
	var f *toolFragments
	switch {
	case tc.Index != nil:
		for _, t := range a.tools {
			if t.index == *tc.Index {
				f = t
				break
			}
		}
		if f == nil {
			f = &toolFragments{index: *tc.Index}
			a.tools = append(a.tools, f)
		}
	case tc.ID != "" || len(a.tools) == 0:
		f = &toolFragments{index: len(a.tools)}
		a.tools = append(a.tools, f)
	default:
		f = a.tools[len(a.tools)-1]
	}
	if tc.ID != "" {
		f.id = tc.ID
	}
	// OpenAI sends the name once, on the first fragment; some compatible
	// servers repeat it, so the first one wins.
	if f.name == "" {
		f.name = tc.Function.Name
	}
	f.args.WriteString(tc.Function.Arguments)
}

func (a *assembler) takeTools() []conversation.ToolCall {
	if len(a.tools) == 0 {
		return nil
	}
	slices.SortStableFunc(a.tools, func(x, y *toolFragments) int { return x.index - y.index })
	out := make([]conversation.ToolCall, len(a.tools))
	for i, t := range a.tools {
		out[i] = conversation.ToolCall{ID: t.id, Name: t.name, Arguments: t.args.String()}
	}
	a.tools = nil
	return out
}
