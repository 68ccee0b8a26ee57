package anthropic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"iter"
	"math"
	"net/http"
	"strings"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/httpguard"
	"github.com/deluge-go/deluge/llm"
)

// wireEvent is one server-sent event of a streamed reply. Which fields are
// set depends on Type.
type wireEvent struct {
	Type         string          `json:"type"`
	Message      *wireResponse   `json:"message"`       // message_start
	Index        int             `json:"index"`         // content_block_*
	ContentBlock *wireContent    `json:"content_block"` // content_block_start
	Delta        *wireDelta      `json:"delta"`         // content_block_delta, message_delta
	Usage        *wireDeltaUsage `json:"usage"`         // message_delta
	Error        *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"` // error
}

type wireDelta struct {
	Type        string           `json:"type"` // text_delta, input_json_delta, thinking_delta, signature_delta
	Text        string           `json:"text"`
	PartialJSON string           `json:"partial_json"`
	StopReason  string           `json:"stop_reason"` // message_delta
	StopDetails *wireStopDetails `json:"stop_details"`
}

// wireDeltaUsage is message_delta's usage: cumulative counts, each present
// only when the server sends it (output_tokens always; the prompt counts on
// newer servers).
type wireDeltaUsage struct {
	InputTokens              *int `json:"input_tokens"`
	OutputTokens             *int `json:"output_tokens"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
	OutputTokensDetails      *struct {
		ThinkingTokens int `json:"thinking_tokens"`
	} `json:"output_tokens_details"`
}

// Stream sends req with "stream": true and yields the reply as it arrives.
// The sequence follows llm.Streamer:
//
//   - text_delta events become Chunk.Text deltas; their concatenation is
//     Generate's Completion.
//   - A tool_use block's input arrives as input_json_delta fragments; each
//     call is assembled and yielded whole, with the others, on the chunk
//     carrying the finish reason. With JSON output forced through a tool,
//     the fragments are the reply's text and are yielded as Text.
//   - thinking and signature deltas, ping events and event types this
//     package does not know are skipped.
//   - The chunk with the finish reason (from message_delta) also carries
//     Usage: message_start's prompt counts updated by message_delta's
//     cumulative counts.
//   - The first chunk yielded carries RequestID, ServedModel and Header.
//
// An error event becomes an *llm.Error (overloaded_error: CodeUnavailable)
// ending the stream; so does a stream that ends before message_stop. An
// HTTP error before the stream starts is the same *llm.Error Generate
// returns. Breaking out of the loop closes the body, releasing the
// connection.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) iter.Seq2[*llm.Chunk, error] {
	return func(yield func(*llm.Chunk, error) bool) {
		if req == nil {
			yield(nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: p.name, Message: "nil request"})
			return
		}
		ep, err := p.endpointFor(req.Model)
		if err != nil {
			yield(nil, p.asError(req, err))
			return
		}
		w, jsonTool, err := p.buildRequest(req, true)
		if err != nil {
			yield(nil, err)
			return
		}
		ep = ep.forCall()
		resp, err := p.send(ctx, req, ep, &w)
		if err != nil {
			yield(nil, err)
			return
		}
		defer resp.Body.Close()
		sec := p.secrets(ep)
		a := assembler{p: p, req: req, ep: ep, header: resp.Header, jsonTool: jsonTool}
		var ev wireEvent
		err = readEvents(resp.Body, p.maxBody, func(data []byte) bool {
			ev = wireEvent{}
			if err := json.Unmarshal(data, &ev); err != nil {
				a.err = &llm.Error{Code: llm.CodeUnknown, Provider: p.name, Model: req.Model.ID, StatusCode: resp.StatusCode,
					RequestID: requestID(resp.Header), Header: resp.Header, Message: "malformed stream event: " + err.Error(), Err: err}
				p.redactError(a.err, ep)
				return false
			}
			c := a.event(&ev)
			if a.err != nil {
				return false
			}
			if c != nil {
				c = a.decorate(c)
				sec.Chunk(c)
			}
			if c != nil && !yield(c, nil) {
				a.stopped = true
				return false
			}
			return !a.done
		})
		switch {
		case a.stopped:
		case a.err != nil:
			yield(nil, a.err)
		case err != nil:
			yield(nil, p.transportError(ctx, req, ep, resp, err))
		case !a.done:
			e := &llm.Error{Code: llm.CodeUnavailable, Provider: p.name, Model: req.Model.ID, StatusCode: resp.StatusCode,
				RequestID: requestID(resp.Header), Header: resp.Header,
				Message: "the stream ended before message_stop: the reply is incomplete"}
			p.redactError(e, ep)
			if ctx.Err() != nil {
				e = p.transportError(ctx, req, ep, resp, ctx.Err())
			}
			yield(nil, e)
		}
	}
}

// readEvents calls fn with the data of each server-sent event in r until fn
// returns false or the body ends. It follows the SSE format: "data:" lines
// (several are joined with newlines), "event:" names (not needed: the data
// repeats the type), comments starting with ":", and a blank line ending
// each event. A line, or an event's data, longer than limit bytes ends the
// stream with a *httpguard.TooLargeError instead of growing a buffer
// without bound.
func readEvents(r io.Reader, limit int64, fn func(data []byte) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 16<<10), int(min(limit, math.MaxInt-1)))
	var data []byte
	pending := false
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if pending {
				pending = false
				if !fn(data) {
					return nil
				}
				data = data[:0]
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte{':'})
		value = bytes.TrimPrefix(value, []byte{' '})
		if string(field) == "data" {
			if pending {
				data = append(data, '\n')
			}
			if int64(len(data)+len(value)) > limit {
				return &httpguard.TooLargeError{Limit: limit, What: "stream event"}
			}
			data = append(data, value...)
			pending = true
		}
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return &httpguard.TooLargeError{Limit: limit, What: "stream line"}
		}
		return err
	}
	if pending {
		fn(data)
	}
	return nil
}

// assembler turns events into chunks.
type assembler struct {
	p        *Provider
	req      *llm.Request
	ep       *endpoint
	header   http.Header
	jsonTool bool

	model  string
	usage  wireUsage
	blocks map[int]*toolBlock
	calls  []conversation.ToolCall
	first  bool // the first chunk has been decorated

	done, stopped bool
	err           *llm.Error
}

// toolBlock is a tool_use block being assembled.
type toolBlock struct {
	id, name string
	input    strings.Builder
	json     bool // the JSON-output tool: fragments are yielded as text
}

// event applies one event and returns the chunk to yield, if any.
func (a *assembler) event(ev *wireEvent) *llm.Chunk {
	switch ev.Type {
	case "message_start":
		if m := ev.Message; m != nil {
			a.model = m.Model
			a.usage = m.Usage
		}
	case "content_block_start":
		b := ev.ContentBlock
		switch {
		case b == nil:
		case b.Type == "tool_use":
			if a.blocks == nil {
				a.blocks = map[int]*toolBlock{}
			}
			a.blocks[ev.Index] = &toolBlock{id: b.ID, name: b.Name, json: a.jsonTool && b.Name == jsonToolName}
		case b.Type == "text" && b.Text != "":
			// Anthropic starts text blocks empty; text here would be lost otherwise.
			return &llm.Chunk{Text: b.Text}
		}
	case "content_block_delta":
		d := ev.Delta
		if d == nil {
			return nil
		}
		switch d.Type {
		case "text_delta":
			if d.Text != "" {
				return &llm.Chunk{Text: d.Text}
			}
		case "input_json_delta":
			tb := a.blocks[ev.Index]
			if tb == nil {
				return nil
			}
			if tb.json {
				if d.PartialJSON != "" {
					return &llm.Chunk{Text: d.PartialJSON}
				}
				return nil
			}
			tb.input.WriteString(d.PartialJSON)
		}
	case "content_block_stop":
		if tb := a.blocks[ev.Index]; tb != nil {
			delete(a.blocks, ev.Index)
			if !tb.json {
				input := tb.input.String()
				if strings.TrimSpace(input) == "" {
					input = "{}"
				}
				a.calls = append(a.calls, conversation.ToolCall{ID: tb.id, Name: tb.name, Arguments: input})
			}
		}
	case "message_delta":
		if u := ev.Usage; u != nil {
			a.mergeUsage(u)
		}
		if d := ev.Delta; d != nil && d.StopReason != "" {
			c := &llm.Chunk{FinishReason: finishReason(d.StopReason), ToolCalls: a.calls}
			if a.jsonTool && d.StopReason == "tool_use" && len(a.calls) == 0 {
				c.FinishReason = "stop"
			}
			if sd := d.StopDetails; sd != nil && sd.Type == "refusal" {
				c.Refusal = sd.Explanation
			}
			a.calls = nil
			u := a.usage.usage()
			c.Usage = &u
			return c
		}
	case "message_stop":
		a.done = true
	case "error":
		typ, msg := "", "unknown error"
		if e := ev.Error; e != nil {
			typ, msg = e.Type, e.Message
		}
		a.err = a.p.streamError(a.req, a.ep, a.header, typ, msg)
	}
	return nil
}

// mergeUsage applies message_delta's cumulative counts.
func (a *assembler) mergeUsage(u *wireDeltaUsage) {
	if u.InputTokens != nil {
		a.usage.InputTokens = *u.InputTokens
	}
	if u.OutputTokens != nil {
		a.usage.OutputTokens = *u.OutputTokens
	}
	if u.CacheCreationInputTokens != nil {
		a.usage.CacheCreationInputTokens = *u.CacheCreationInputTokens
	}
	if u.CacheReadInputTokens != nil {
		a.usage.CacheReadInputTokens = *u.CacheReadInputTokens
	}
	if u.OutputTokensDetails != nil {
		a.usage.OutputTokensDetails = u.OutputTokensDetails
	}
}

// decorate puts the response metadata on the first chunk yielded.
func (a *assembler) decorate(c *llm.Chunk) *llm.Chunk {
	if !a.first {
		a.first = true
		c.RequestID = requestID(a.header)
		c.Header = a.header
		c.ServedModel = a.model
		c.Region = headerValue(a.header, headerAzureRegion)
	}
	return c
}
