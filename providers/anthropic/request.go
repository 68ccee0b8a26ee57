package anthropic

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// jsonToolName is the tool a request asking for JSON output (without a
// strict schema) forces the model to call; its input is the JSON reply.
const jsonToolName = "json_response"

// wireRequest is the body of POST /v1/messages. Pointers tell an explicit
// zero from an unset value.
type wireRequest struct {
	Model         string            `json:"model"`
	MaxTokens     int               `json:"max_tokens"`
	System        []wireBlock       `json:"system,omitempty"`
	Messages      []wireMessage     `json:"messages"`
	Temperature   *float64          `json:"temperature,omitempty"`
	TopP          *float64          `json:"top_p,omitempty"`
	StopSequences []string          `json:"stop_sequences,omitempty"`
	Tools         []wireTool        `json:"tools,omitempty"`
	ToolChoice    *wireToolChoice   `json:"tool_choice,omitempty"`
	OutputConfig  *wireOutputConfig `json:"output_config,omitempty"`
	Metadata      *wireMetadata     `json:"metadata,omitempty"`
	Stream        bool              `json:"stream,omitempty"`
}

type wireMessage struct {
	Role    string      `json:"role"`
	Content []wireBlock `json:"content"`
}

// wireBlock is one content block of a request: text, image, document,
// tool_use or tool_result. Only the fields of its type are set.
type wireBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	Source    *wireSource     `json:"source,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   *string         `json:"content,omitempty"`
	Title     string          `json:"title,omitempty"`
}

// wireSource is an image or document source: base64 data, a URL, or plain
// text (documents).
type wireSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type wireTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
	Strict      bool            `json:"strict,omitempty"`
}

type wireToolChoice struct {
	Type string `json:"type"` // auto, any, tool, none
	Name string `json:"name,omitempty"`
}

type wireOutputConfig struct {
	Format *wireFormat `json:"format,omitempty"`
}

type wireFormat struct {
	Type   string          `json:"type"` // json_schema
	Schema json.RawMessage `json:"schema"`
}

type wireMetadata struct {
	UserID string `json:"user_id,omitempty"`
}

// emptyObjectSchema is the input schema of a tool without parameters, and
// the schema of the JSON-output tool for plain JSON mode.
var emptyObjectSchema = json.RawMessage(`{"type":"object","properties":{}}`)

// buildRequest maps req to the wire. jsonTool reports that the request
// forces the JSON-output tool, whose input is then the reply's text.
func (p *Provider) buildRequest(req *llm.Request, stream bool) (w wireRequest, jsonTool bool, err error) {
	m := req.Model
	w.Model = p.wireName(m)
	w.Stream = stream
	w.MaxTokens = req.MaxNewTokens
	if w.MaxTokens <= 0 {
		w.MaxTokens = DefaultMaxTokens
		if m.MaxOutputTokens > 0 {
			w.MaxTokens = min(w.MaxTokens, m.MaxOutputTokens)
		}
	}
	s := &req.Sampling
	if t := s.Temperature; t != nil {
		if *t < 0 || *t > 1 || math.IsNaN(*t) {
			return w, false, p.invalid(req, fmt.Sprintf("temperature %v is outside Anthropic's range 0–1: lower it (OpenAI's 0–2 scale does not apply)", *t))
		}
		w.Temperature = t
	}
	// Current Claude models take temperature or top_p, not both: with both
	// set, temperature wins and top_p is dropped, so one option set serves
	// every model.
	if s.TopP != nil && s.Temperature == nil {
		w.TopP = s.TopP
	}
	if len(s.Stop) > 0 {
		w.StopSequences = s.Stop
	}
	if s.User != "" {
		w.Metadata = &wireMetadata{UserID: s.User}
	}
	for _, t := range s.Tools {
		schema := json.RawMessage(t.Parameters)
		if len(schema) == 0 {
			schema = emptyObjectSchema
		} else if !json.Valid(schema) {
			return w, false, p.invalid(req, fmt.Sprintf("tool %q: parameters are not valid JSON", t.Name))
		}
		w.Tools = append(w.Tools, wireTool{Name: t.Name, Description: t.Description, InputSchema: schema, Strict: t.Strict})
	}
	if len(w.Tools) > 0 {
		switch s.ToolChoice {
		case "", "auto":
		case "none":
			w.ToolChoice = &wireToolChoice{Type: "none"}
		case "required":
			w.ToolChoice = &wireToolChoice{Type: "any"}
		default:
			w.ToolChoice = &wireToolChoice{Type: "tool", Name: s.ToolChoice}
		}
	}
	if f := s.ResponseFormat; f != nil {
		if jsonTool, err = p.jsonOutput(req, &w, f); err != nil {
			return w, false, err
		}
	}
	if err := p.messages(req, &w); err != nil {
		return w, false, err
	}
	return w, jsonTool, nil
}

// jsonOutput asks for JSON. A strict JSON schema uses Anthropic's structured
// outputs (output_config.format), which constrain decoding to the schema;
// plain JSON mode and non-strict schemas force a tool whose input schema is
// the wanted shape, which every Claude model supports. The tool's input is
// then returned as the reply's text.
func (p *Provider) jsonOutput(req *llm.Request, w *wireRequest, f *llm.ResponseFormat) (bool, error) {
	schema := json.RawMessage(f.Schema)
	switch f.Type {
	case llm.FormatJSONSchema:
		if len(schema) == 0 || !json.Valid(schema) {
			return false, p.invalid(req, "JSON schema response format without a valid schema")
		}
		if f.Strict {
			w.OutputConfig = &wireOutputConfig{Format: &wireFormat{Type: "json_schema", Schema: schema}}
			return false, nil
		}
	case llm.FormatJSONObject:
		schema = json.RawMessage(`{"type":"object"}`)
	default:
		return false, p.invalid(req, fmt.Sprintf("unknown response format %q (want %q or %q)", f.Type, llm.FormatJSONObject, llm.FormatJSONSchema))
	}
	if len(w.Tools) > 0 {
		return false, p.invalid(req, "JSON output together with tools: Anthropic has no JSON mode, and deluge forces a tool to get JSON; use a strict JSON schema (structured outputs) or drop the tools")
	}
	desc := "Reply by calling this tool; its input is your whole answer, as JSON."
	w.Tools = []wireTool{{Name: jsonToolName, Description: desc, InputSchema: schema}}
	w.ToolChoice = &wireToolChoice{Type: "tool", Name: jsonToolName}
	return true, nil
}

// messages maps the conversation: system messages go to the top-level
// system field, in order; tool results go into user messages (Anthropic
// has no tool role), consecutive ones merged into one, followed by any user
// content that comes next, since tool_result blocks must lead the user turn
// that answers the assistant's tool_use blocks.
func (p *Provider) messages(req *llm.Request, w *wireRequest) error {
	w.Messages = make([]wireMessage, 0, len(req.Messages))
	mergeUser := false // the last wire message is a user turn holding tool results
	for i, msg := range req.Messages {
		switch msg.Role {
		case conversation.RoleSystem:
			for _, part := range msg.Parts {
				if part.Type == conversation.PartText && part.Text != "" {
					w.System = append(w.System, wireBlock{Type: "text", Text: part.Text})
				}
			}
			continue
		case conversation.RoleTool:
			blocks := make([]wireBlock, 0, len(msg.Parts))
			for _, part := range msg.Parts {
				if part.Type == conversation.PartToolResult && part.ToolResult != nil {
					b := wireBlock{Type: "tool_result", ToolUseID: part.ToolResult.CallID}
					if content := part.ToolResult.Content; content != "" { // an empty result is sent without content
						b.Content = &content
					}
					blocks = append(blocks, b)
				}
			}
			if mergeUser {
				last := &w.Messages[len(w.Messages)-1]
				last.Content = append(last.Content, blocks...)
			} else {
				w.Messages = append(w.Messages, wireMessage{Role: "user", Content: blocks})
			}
			mergeUser = true
			continue
		}
		blocks, err := p.blocks(req, i, msg)
		if err != nil {
			return err
		}
		if len(blocks) == 0 {
			// Anthropic rejects empty turns (an assistant message holding
			// nothing but a refusal, say).
			mergeUser = false
			continue
		}
		if msg.Role == conversation.RoleUser && mergeUser {
			last := &w.Messages[len(w.Messages)-1]
			last.Content = append(last.Content, blocks...)
			mergeUser = false
			continue
		}
		w.Messages = append(w.Messages, wireMessage{Role: string(msg.Role), Content: blocks})
		mergeUser = false
	}
	if len(w.Messages) == 0 {
		return p.invalid(req, "the conversation has no user message: Anthropic needs at least one (system messages go to the system prompt)")
	}
	return nil
}

// blocks maps the parts of a user or assistant message.
func (p *Provider) blocks(req *llm.Request, i int, msg conversation.Message) ([]wireBlock, error) {
	if msg.Role != conversation.RoleUser && msg.Role != conversation.RoleAssistant {
		return nil, p.invalid(req, fmt.Sprintf("message %d has role %q, which Anthropic does not take", i, msg.Role))
	}
	out := make([]wireBlock, 0, len(msg.Parts))
	for j, part := range msg.Parts {
		switch part.Type {
		case conversation.PartText:
			if part.Text != "" { // empty text blocks are rejected
				out = append(out, wireBlock{Type: "text", Text: part.Text})
			}
		case conversation.PartImage:
			src, err := imageSource(part)
			if err != nil {
				return nil, p.invalid(req, fmt.Sprintf("message %d part %d: %v", i, j, err))
			}
			out = append(out, wireBlock{Type: "image", Source: src})
		case conversation.PartFile:
			src, err := documentSource(part)
			if err != nil {
				return nil, p.invalid(req, fmt.Sprintf("message %d part %d: %v", i, j, err))
			}
			out = append(out, wireBlock{Type: "document", Source: src, Title: part.Filename})
		case conversation.PartToolCall:
			c := part.ToolCall
			if c == nil {
				continue
			}
			input := json.RawMessage(strings.TrimSpace(c.Arguments))
			if len(input) == 0 {
				input = json.RawMessage("{}")
			} else if !json.Valid(input) || input[0] != '{' {
				return nil, p.invalid(req, fmt.Sprintf("message %d: tool call %q has arguments that are not a JSON object; Anthropic needs tool_use input as an object", i, c.Name))
			}
			out = append(out, wireBlock{Type: "tool_use", ID: c.ID, Name: c.Name, Input: input})
		default:
			return nil, p.invalid(req, fmt.Sprintf("message %d part %d: %s parts cannot be sent in a %s message", i, j, part.Type, msg.Role))
		}
	}
	return out, nil
}

// imageSource maps an image part: inline bytes and data: URLs as base64,
// other URLs by reference.
func imageSource(part conversation.Part) (*wireSource, error) {
	if len(part.Data) > 0 {
		return &wireSource{Type: "base64", MediaType: part.MIMEType, Data: base64.StdEncoding.EncodeToString(part.Data)}, nil
	}
	if mt, data, ok := parseDataURL(part.URL); ok {
		if !strings.HasPrefix(mt, "image/") {
			return nil, fmt.Errorf("image data URL has media type %q; want image/jpeg, image/png, image/gif or image/webp", mt)
		}
		return &wireSource{Type: "base64", MediaType: mt, Data: data}, nil
	}
	if strings.HasPrefix(part.URL, "https://") || strings.HasPrefix(part.URL, "http://") {
		return &wireSource{Type: "url", URL: part.URL}, nil
	}
	return nil, fmt.Errorf("image has neither data nor an http(s) or data: URL")
}

// documentSource maps a file part: PDFs (inline or by URL) and plain text,
// the document kinds the Messages API takes.
func documentSource(part conversation.Part) (*wireSource, error) {
	mt, data := part.MIMEType, part.Data
	if len(data) == 0 {
		if dmt, d, ok := parseDataURL(part.URL); ok {
			raw, err := base64.StdEncoding.DecodeString(d)
			if err != nil {
				return nil, fmt.Errorf("file data URL is not valid base64: %v", err)
			}
			mt, data = dmt, raw
		} else if strings.HasPrefix(part.URL, "https://") || strings.HasPrefix(part.URL, "http://") {
			return &wireSource{Type: "url", URL: part.URL}, nil
		} else {
			return nil, fmt.Errorf("file has neither data nor an http(s) or data: URL")
		}
	}
	base, _, _ := strings.Cut(mt, ";")
	switch {
	case base == "application/pdf":
		return &wireSource{Type: "base64", MediaType: "application/pdf", Data: base64.StdEncoding.EncodeToString(data)}, nil
	case strings.HasPrefix(base, "text/"):
		return &wireSource{Type: "text", MediaType: "text/plain", Data: string(data)}, nil
	}
	return nil, fmt.Errorf("file of type %q: Anthropic takes PDF (application/pdf) and plain-text documents", mt)
}

// parseDataURL splits a base64 data: URL into its media type and payload.
func parseDataURL(u string) (mediaType, data string, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", "", false
	}
	meta, payload, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	meta, isB64 := strings.CutSuffix(meta, ";base64")
	if !isB64 {
		return "", "", false
	}
	return meta, payload, true
}

func (p *Provider) invalid(req *llm.Request, msg string) *llm.Error {
	return &llm.Error{Code: llm.CodeInvalidRequest, Provider: p.name, Model: req.Model.ID, Message: msg}
}
