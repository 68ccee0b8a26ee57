package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// The Responses API request (POST /responses), as OpenAI's API reference
// ("Create a model response") and Azure's v1 spec
// (OpenAI.CreateResponse in azure-rest-api-specs
// specification/ai/data-plane/OpenAI.v1) define it, in hand-written types
// that hold only what deluge sends. Field notes:
//
//   - "input" is a list of items: messages (role user, assistant, system,
//     content a string or typed parts input_text, input_image,
//     input_file), function_call items (an assistant's earlier tool call:
//     call_id, name, arguments) and function_call_output items (a tool's
//     result: call_id, output). Leading system messages become
//     "instructions", which the server does not carry over to a response
//     continuing this one.
//   - Function tools are flat ({"type":"function","name",…}, not nested
//     under "function" as in chat), and their "strict" defaults to true on
//     the server: it is always sent, so a tool not marked strict is not
//     held to strict-mode schemas.
//   - Structured output is text.format, flat as well
//     ({"type":"json_schema","name","schema","strict"}).
//   - max_output_tokens counts reasoning tokens and must be at least 16.
//   - There is no "stop" and no "seed"; log-probabilities are asked with
//     top_logprobs and include ["message.output_text.logprobs"].
//   - "store" defaults to true on the server; deluge always sends it.

type respRequest struct {
	Model              string         `json:"model"`
	Input              []respItem     `json:"input"`
	Instructions       string         `json:"instructions,omitempty"`
	MaxOutputTokens    int            `json:"max_output_tokens,omitempty"`
	Temperature        *float64       `json:"temperature,omitempty"`
	TopP               *float64       `json:"top_p,omitempty"`
	Tools              []respTool     `json:"tools,omitempty"`
	ToolChoice         any            `json:"tool_choice,omitempty"`
	Text               *respText      `json:"text,omitempty"`
	Reasoning          *respReasoning `json:"reasoning,omitempty"`
	TopLogprobs        *int           `json:"top_logprobs,omitempty"`
	Include            []string       `json:"include,omitempty"`
	PreviousResponseID string         `json:"previous_response_id,omitempty"`
	Store              bool           `json:"store"`
	Background         bool           `json:"background,omitempty"`
	Stream             bool           `json:"stream,omitempty"`
	User               string         `json:"user,omitempty"`
}

// respItem is one input item: a message (Role and Content set), a
// function_call or a function_call_output.
type respItem struct {
	Type      string  `json:"type"`
	Role      string  `json:"role,omitempty"`
	Content   any     `json:"content,omitempty"` // string or []any of the part types below
	CallID    string  `json:"call_id,omitempty"`
	Name      string  `json:"name,omitempty"`
	Arguments string  `json:"arguments,omitempty"`
	Output    *string `json:"output,omitempty"`
}

type respInputText struct {
	Type string `json:"type"` // input_text
	Text string `json:"text"`
}

type respInputImage struct {
	Type     string `json:"type"` // input_image
	ImageURL string `json:"image_url"`
	Detail   string `json:"detail"`
}

type respInputFile struct {
	Type     string `json:"type"` // input_file
	Filename string `json:"filename,omitempty"`
	FileData string `json:"file_data,omitempty"`
	FileURL  string `json:"file_url,omitempty"`
}

type respTool struct {
	Type        string          `json:"type"` // function
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      bool            `json:"strict"`
}

type respToolChoice struct {
	Type string `json:"type"` // function
	Name string `json:"name"`
}

type respText struct {
	Format respFormat `json:"format"`
}

type respFormat struct {
	Type   string          `json:"type"`
	Name   string          `json:"name,omitempty"`
	Schema json.RawMessage `json:"schema,omitempty"`
	Strict *bool           `json:"strict,omitempty"`
}

type respReasoning struct {
	Effort  string `json:"effort,omitempty"`
	Summary string `json:"summary,omitempty"`
}

// minOutputTokens is the Responses API's lower bound of max_output_tokens.
const minOutputTokens = 16

// includeLogprobs asks for the log-probabilities of the output text.
var includeLogprobs = []string{"message.output_text.logprobs"}

// buildResponsesRequest serializes req for the Responses API with wire as
// the model name. It only reads req. The rules of the chat serializer for
// reasoning models apply: no temperature, top_p or log-probabilities for
// them, dropped silently; reasoning settings only for them.
func buildResponsesRequest(req *llm.Request, wire string) (*respRequest, error) {
	s := &req.Sampling
	if len(s.Stop) > 0 {
		return nil, errors.New("the Responses API has no stop sequences: leave out WithStop, or send the model through chat completions (llm.WithAPI(llm.APIChat))")
	}
	if n := s.MaxNewTokens; n > 0 && n < minOutputTokens {
		return nil, fmt.Errorf("max new tokens %d is below the Responses API's minimum of %d (max_output_tokens, which also counts reasoning tokens)", n, minOutputTokens)
	}
	store := false
	if s.Store != nil {
		store = *s.Store
	}
	if s.Background {
		if s.Store != nil && !*s.Store {
			return nil, errors.New("WithBackground needs the response stored, but WithStore(false) was given")
		}
		store = true
	}
	out := &respRequest{
		Model:              wire,
		MaxOutputTokens:    s.MaxNewTokens,
		PreviousResponseID: s.PreviousResponseID,
		Store:              store,
		Background:         s.Background,
		User:               s.User,
	}
	var err error
	out.Instructions, out.Input, err = responsesInput(req.Messages)
	if err != nil {
		return nil, err
	}
	if isReasoning(req.Model, wire) {
		if s.ReasoningEffort != "" || s.ReasoningSummary != "" {
			out.Reasoning = &respReasoning{Effort: s.ReasoningEffort, Summary: s.ReasoningSummary}
		}
	} else {
		out.Temperature, out.TopP = s.Temperature, s.TopP
		if s.Logprobs || s.TopLogprobs > 0 {
			n := s.TopLogprobs
			out.TopLogprobs = &n
			out.Include = includeLogprobs
		}
	}
	if f := s.ResponseFormat; f != nil {
		switch f.Type {
		case llm.FormatJSONObject:
			out.Text = &respText{Format: respFormat{Type: "json_object"}}
		case llm.FormatJSONSchema:
			if len(f.Schema) == 0 || !json.Valid(f.Schema) {
				return nil, errors.New("response format json_schema needs Schema to be a JSON schema object")
			}
			name := f.Name
			if name == "" {
				name = "response" // the API requires a name
			}
			strict := f.Strict
			out.Text = &respText{Format: respFormat{Type: "json_schema", Name: name, Schema: json.RawMessage(f.Schema), Strict: &strict}}
		case "text", "":
		default:
			return nil, fmt.Errorf("unknown response format type %q (want %q or %q)", f.Type, llm.FormatJSONObject, llm.FormatJSONSchema)
		}
	}
	if len(s.Tools) > 0 {
		out.Tools = make([]respTool, len(s.Tools))
		for i, t := range s.Tools {
			if t.Name == "" {
				return nil, fmt.Errorf("tool %d has no name", i)
			}
			params := emptyParameters
			if len(t.Parameters) > 0 {
				if !json.Valid(t.Parameters) {
					return nil, fmt.Errorf("tool %q: Parameters is not valid JSON (want a JSON schema object)", t.Name)
				}
				params = json.RawMessage(t.Parameters)
			}
			out.Tools[i] = respTool{Type: "function", Name: t.Name, Description: t.Description, Parameters: params, Strict: t.Strict}
		}
	}
	switch tc := s.ToolChoice; tc {
	case "":
	case "auto", "none", "required":
		out.ToolChoice = tc
	default:
		out.ToolChoice = respToolChoice{Type: "function", Name: tc}
	}
	return out, nil
}

// responsesInput turns a conversation into instructions (its leading
// system messages) and input items.
func responsesInput(msgs []conversation.Message) (string, []respItem, error) {
	var instructions strings.Builder
	i := 0
	for ; i < len(msgs) && msgs[i].Role == conversation.RoleSystem; i++ {
		if instructions.Len() > 0 {
			instructions.WriteString("\n\n")
		}
		instructions.WriteString(msgs[i].Text())
	}
	items := make([]respItem, 0, len(msgs)-i)
	for ; i < len(msgs); i++ {
		m := msgs[i]
		var err error
		switch m.Role {
		case conversation.RoleSystem:
			items = append(items, respItem{Type: "message", Role: "system", Content: m.Text()})
		case conversation.RoleUser:
			var content any
			content, err = responsesUserContent(m)
			items = append(items, respItem{Type: "message", Role: "user", Content: content})
		case conversation.RoleAssistant:
			if text := m.Text(); text != "" {
				items = append(items, respItem{Type: "message", Role: "assistant", Content: text})
			}
			for _, p := range m.Parts {
				if p.Type == conversation.PartToolCall && p.ToolCall != nil {
					args := p.ToolCall.Arguments
					if args == "" {
						args = "{}" // arguments is required
					}
					items = append(items, respItem{Type: "function_call", CallID: p.ToolCall.ID, Name: p.ToolCall.Name, Arguments: args})
				}
			}
		case conversation.RoleTool:
			n := 0
			for _, p := range m.Parts {
				if p.Type == conversation.PartToolResult && p.ToolResult != nil {
					output := p.ToolResult.Content
					items = append(items, respItem{Type: "function_call_output", CallID: p.ToolResult.CallID, Output: &output})
					n++
				}
			}
			if n == 0 {
				err = errors.New("tool message has no tool result: build it with conversation.Result(callID, content)")
			}
		default:
			err = fmt.Errorf("unknown role %q", m.Role)
		}
		if err != nil {
			return "", nil, fmt.Errorf("message %d: %w", i, err)
		}
	}
	return instructions.String(), items, nil
}

// responsesUserContent is a user message's content: its text when it has
// only text, else typed parts.
func responsesUserContent(m conversation.Message) (any, error) {
	if textOnly(m.Parts) {
		return m.Text(), nil
	}
	parts := make([]any, 0, len(m.Parts))
	for j, p := range m.Parts {
		switch p.Type {
		case conversation.PartText:
			parts = append(parts, respInputText{Type: "input_text", Text: p.Text})
		case conversation.PartImage:
			u := p.DataURL()
			if u == "" {
				return nil, fmt.Errorf("part %d: image has neither URL nor data", j)
			}
			detail := p.Detail
			if detail == "" {
				detail = "auto"
			}
			parts = append(parts, respInputImage{Type: "input_image", ImageURL: u, Detail: detail})
		case conversation.PartFile:
			f := respInputFile{Type: "input_file", Filename: p.Filename}
			switch {
			case len(p.Data) > 0:
				f.FileData = p.DataURL()
			case p.URL != "":
				f.FileURL = p.URL
			default:
				return nil, fmt.Errorf("part %d: file has neither URL nor data", j)
			}
			parts = append(parts, f)
		default:
			return nil, fmt.Errorf("part %d: a %s part cannot appear in a user message", j, p.Type)
		}
	}
	return parts, nil
}

// marshalResponses encodes r into buf as the request body.
func marshalResponses(buf *bytes.Buffer, r *respRequest) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// MarshalResponsesRequest returns the JSON body of the Responses API
// request the provider would send for req with wire as the model name
// (stream false), for callers that send requests another way, such as
// batch input files (url /v1/responses).
func MarshalResponsesRequest(req *llm.Request, wire string) ([]byte, error) {
	r, err := buildResponsesRequest(req, wire)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := marshalResponses(&buf, r); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
