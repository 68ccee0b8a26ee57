package openai

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"net/http"
	"slices"
	"strings"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// streamResponses is Stream on the Responses API. The server sends
// semantic events ("event: <type>" and "data: {…}", each with a
// sequence_number), no "[DONE]":
//
//   - response.created / response.in_progress carry the response object
//     (its id and served model);
//   - response.output_text.delta → Chunk.Text (with its log-probabilities),
//     response.refusal.delta → Chunk.Refusal,
//     response.reasoning_summary_text.delta → Chunk.ReasoningSummary (parts
//     separated by a blank line, as Generate joins them);
//   - function calls arrive as response.output_item.added (call_id, name),
//     response.function_call_arguments.delta/.done and
//     response.output_item.done; they are yielded whole on the last chunk;
//   - response.completed or response.incomplete end the stream with the
//     final object: the last chunk carries FinishReason, Usage, the tool
//     calls, Azure's content filters, ResponseID, Status and ServiceTier;
//   - response.failed and error events end it with an *llm.Error.
//
// Other events (item and part boundaries, annotations, built-in tools)
// carry nothing deluge maps. A stream that ends before a final event is
// incomplete: its last element is an *llm.Error with CodeUnavailable.
func (p *Provider) streamResponses(ctx context.Context, req *llm.Request) iter.Seq2[*llm.Chunk, error] {
	return func(yield func(*llm.Chunk, error) bool) {
		buf := getBody()
		ep, le := p.prepareResponses(req, buf, true)
		if le != nil {
			putBody(buf)
			yield(nil, le)
			return
		}
		st := getState()
		defer putState(st)
		st.stream = true
		resp, err := ep.raw.do(ctx, st, http.MethodPost, ep.raw.create, buf.Bytes())
		putBody(buf)
		if err != nil {
			yield(nil, p.httpFailure(ctx, req.Model, ep, st, err))
			return
		}
		defer resp.Body.Close()
		sec := p.secrets(ep, st)
		a := respAssembler{streamMeta: streamMeta{header: resp.Header}}
		r := sseReader{r: bufio.NewReaderSize(resp.Body, 32<<10)}
		var ev wireRespEvent
		for {
			data, err := r.next()
			if err != nil {
				if errors.Is(err, io.EOF) {
					if !a.finished {
						yield(nil, p.truncated(ctx, req, ep, st, a.header))
					}
					return
				}
				yield(nil, p.classify(ctx, req.Model, ep, st, err))
				return
			}
			ev = wireRespEvent{}
			if err := st.dec.decode(data, &ev); err != nil {
				yield(nil, p.malformedEvent(req, st, sec, a.header, data, err))
				return
			}
			c, le := p.respEvent(&a, req, &ev, st.status)
			if le != nil {
				sec.cleanError(le)
				yield(nil, le)
				return
			}
			if c != nil {
				sec.chunk(c)
				if !yield(c, nil) {
					return
				}
			}
			if a.finished {
				return
			}
		}
	}
}

// wireRespEvent is one Responses API stream event, decoded in one pass.
// Delta is raw because its type depends on the event (a string for text,
// an object for some built-in tools').
type wireRespEvent struct {
	Type         string             `json:"type"`
	Delta        json.RawMessage    `json:"delta"`
	ItemID       string             `json:"item_id"`
	SummaryIndex int                `json:"summary_index"`
	Item         *wireRespItem      `json:"item"`
	Response     *wireRespBody      `json:"response"`
	Arguments    *string            `json:"arguments"`
	Logprobs     []llm.TokenLogprob `json:"logprobs"`
	// An error event: its fields, or (as some servers send it) an error
	// object.
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
	Error   *struct {
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
		Type    string          `json:"type"`
	} `json:"error"`
}

// deltaText returns a text delta.
func (ev *wireRespEvent) deltaText() string {
	d := ev.Delta
	if len(d) < 2 || d[0] != '"' {
		return ""
	}
	if bytes.IndexByte(d, '\\') < 0 {
		return string(d[1 : len(d)-1])
	}
	var s string
	if json.Unmarshal(d, &s) != nil {
		return ""
	}
	return s
}

// respAssembler turns Responses API events into chunks.
type respAssembler struct {
	streamMeta
	id       string
	finished bool
	// summary tells the reasoning summary part being streamed, to put a
	// separator between parts.
	summaryItem string
	summaryIdx  int
	summarySent bool
	calls       []*respCall
}

// respCall is a function call being streamed.
type respCall struct {
	itemID, callID, name string
	args                 strings.Builder
	done                 bool
}

// respEvent handles one event: the chunk to yield (nil for none), or the
// error that ends the stream.
func (p *Provider) respEvent(a *respAssembler, req *llm.Request, ev *wireRespEvent, status int) (*llm.Chunk, *llm.Error) {
	var c llm.Chunk
	switch ev.Type {
	case "response.created", "response.in_progress", "response.queued":
		if r := ev.Response; r != nil {
			if a.model == "" {
				a.model = r.Model
			}
			if a.id == "" {
				a.id = r.ID
			}
		}
		return nil, nil
	case "response.output_text.delta":
		c.Text = ev.deltaText()
		if len(ev.Logprobs) > 0 {
			c.Logprobs = normalizeLogprobs(ev.Logprobs)
		}
		if c.Text == "" && c.Logprobs == nil {
			return nil, nil
		}
	case "response.refusal.delta":
		if c.Refusal = ev.deltaText(); c.Refusal == "" {
			return nil, nil
		}
	case "response.reasoning_summary_text.delta":
		d := ev.deltaText()
		if d == "" {
			return nil, nil
		}
		if a.summarySent && (ev.ItemID != a.summaryItem || ev.SummaryIndex != a.summaryIdx) {
			d = summarySeparator + d
		}
		a.summaryItem, a.summaryIdx, a.summarySent = ev.ItemID, ev.SummaryIndex, true
		c.ReasoningSummary = d
	case "response.output_item.added", "response.output_item.done":
		if it := ev.Item; it != nil && it.Type == "function_call" {
			call := a.call(it.ID)
			call.callID, call.name = it.CallID, it.Name
			if ev.Type == "response.output_item.done" {
				call.args.Reset()
				call.args.WriteString(it.Arguments)
				call.done = true
			}
		}
		return nil, nil
	case "response.function_call_arguments.delta":
		if call := a.call(ev.ItemID); !call.done {
			call.args.WriteString(ev.deltaText())
		}
		return nil, nil
	case "response.function_call_arguments.done":
		if call := a.call(ev.ItemID); ev.Arguments != nil {
			call.args.Reset()
			call.args.WriteString(*ev.Arguments)
			call.done = true
		}
		return nil, nil
	case "response.completed", "response.incomplete":
		a.finished = true
		if ev.Response == nil {
			return nil, &llm.Error{Code: llm.CodeUnknown, Provider: p.name, Model: req.Model.ID, StatusCode: status,
				RequestID: requestID(a.header), Header: a.header, Message: "the stream's " + ev.Type + " event has no response object"}
		}
		p.finish(a, req, ev.Response, &c)
	case "response.failed":
		a.finished = true
		r := ev.Response
		if r == nil {
			r = &wireRespBody{Status: statusFailed}
		}
		r.Status = statusFailed
		return nil, p.responseFailure(req.Model, r, status, a.header)
	case "error":
		a.finished = true
		return nil, p.streamError(req, ev, status, a.header)
	default:
		return nil, nil
	}
	return a.decorate(&c), nil
}

// finish fills the last chunk from the final response object.
func (p *Provider) finish(a *respAssembler, req *llm.Request, r *wireRespBody, c *llm.Chunk) {
	if a.model == "" {
		a.model = r.Model
	}
	final := p.toResponsesResponse(req, r, a.header)
	// The final object's calls are authoritative; the streamed ones stand
	// in for a server that leaves the output out of it.
	c.ToolCalls = final.Message.ToolCalls()
	if len(c.ToolCalls) == 0 {
		c.ToolCalls = a.takeCalls()
	}
	c.FinishReason = final.FinishReason
	if c.FinishReason == "stop" && len(c.ToolCalls) > 0 {
		c.FinishReason = "tool_calls"
	}
	u := final.Usage
	c.Usage = &u
	c.ContentFilter = final.ContentFilter
	c.PromptFilter = final.PromptFilter
	c.ResponseID = final.ResponseID
	c.Status = final.Status
	c.ServiceTier = final.ServiceTier
}

// streamError is the error of an "error" event.
func (p *Provider) streamError(req *llm.Request, ev *wireRespEvent, status int, header http.Header) *llm.Error {
	f := failure{Code: rawString(ev.Code), Message: ev.Message}
	if e := ev.Error; e != nil {
		f.Code = cmpOr(f.Code, rawString(e.Code))
		f.Message = cmpOr(f.Message, e.Message)
		f.Type = e.Type
	}
	code := failedCode(f.Code, f.Message)
	if f.Type != "" {
		code = classifyFailure(&f)
	}
	msg := f.Message
	if msg == "" {
		msg = "the server ended the stream with an error"
	}
	if f.Code != "" {
		msg += " (" + f.Code + ")"
	}
	return &llm.Error{Code: code, Provider: p.name, Model: req.Model.ID, StatusCode: status, Header: header,
		RequestID: requestID(header), Message: msg}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// call returns the call streamed as item id, starting it if new.
func (a *respAssembler) call(id string) *respCall {
	for _, c := range a.calls {
		if c.itemID == id {
			return c
		}
	}
	c := &respCall{itemID: id}
	a.calls = append(a.calls, c)
	return c
}

func (a *respAssembler) takeCalls() []conversation.ToolCall {
	calls := slices.DeleteFunc(a.calls, func(c *respCall) bool { return c.name == "" && c.callID == "" })
	if len(calls) == 0 {
		return nil
	}
	out := make([]conversation.ToolCall, len(calls))
	for i, c := range calls {
		out[i] = conversation.ToolCall{ID: c.callID, Name: c.name, Arguments: c.args.String()}
	}
	a.calls = nil
	return out
}

// sseReader reads the data of server-sent events: the "data:" lines of an
// event joined by newlines, dispatched at the blank line that ends it (or
// at the end of the body). Other fields (event, id, retry) and comments are
// skipped: every Responses API event repeats its type in its data. The
// body it reads is bounded by the capture doer's sseLimiter.
type sseReader struct {
	r    *bufio.Reader
	line []byte
	data []byte
}

var dataField = []byte("data:")

// next returns the data of the next event; io.EOF at the end of the body.
// The slice is valid until the next call.
func (s *sseReader) next() ([]byte, error) {
	s.data = s.data[:0]
	have := false
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF && have && len(s.data) > 0 {
				return s.data, nil
			}
			return nil, err
		}
		if len(line) == 0 {
			if have && len(s.data) > 0 && !bytes.Equal(s.data, []byte("[DONE]")) {
				return s.data, nil
			}
			s.data, have = s.data[:0], false
			continue
		}
		if !bytes.HasPrefix(line, dataField) {
			continue
		}
		v := line[len(dataField):]
		if len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
		if have {
			s.data = append(s.data, '\n')
		}
		s.data = append(s.data, v...)
		have = true
	}
}

// readLine returns the next line without its end of line (\n or \r\n).
func (s *sseReader) readLine() ([]byte, error) {
	frag, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.line = append(s.line[:0], frag...)
		for err == bufio.ErrBufferFull {
			frag, err = s.r.ReadSlice('\n')
			s.line = append(s.line, frag...)
		}
		frag = s.line
	}
	if err != nil && !(err == io.EOF && len(frag) > 0) {
		return nil, err
	}
	frag = bytes.TrimSuffix(frag, []byte("\n"))
	return bytes.TrimSuffix(frag, []byte("\r")), nil
}
