package openai

import (
	"encoding/json"
	"fmt"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// emptyParameters is sent for a tool without a parameter schema: go-openai
// always writes "parameters", and null is rejected by strict servers.
var emptyParameters = json.RawMessage(`{"type":"object","properties":{}}`)

// wireFlags are the parts of a request go-openai cannot express, applied by
// the doer.
type wireFlags struct {
	zeroTemp, zeroTopP bool
}

// buildRequest serializes req for the chat completions API with wire as the
// model name. It only reads req.
//
// Reasoning models (Model.Reasoning, or a wire name go-openai validates as
// one: o1*, o3*, o4*, gpt-5*) get max_completion_tokens instead of
// max_tokens and no temperature, top_p, logprobs or top_logprobs, which
// OpenAI and Azure reject for them with 400 unsupported_parameter. The
// settings are dropped silently, per request, so that one option set works
// across a mix of models. reasoning_effort is sent only to reasoning models.
func buildRequest(req *llm.Request, wire string) (goopenai.ChatCompletionRequest, wireFlags, error) {
	var flags wireFlags
	msgs, err := buildMessages(req.Messages)
	if err != nil {
		return goopenai.ChatCompletionRequest{}, flags, err
	}
	s := &req.Sampling
	out := goopenai.ChatCompletionRequest{
		Model:    wire,
		Messages: msgs,
		Stop:     s.Stop,
		User:     s.User,
	}
	reasoning := isReasoning(req.Model, wire)
	if reasoning {
		out.MaxCompletionTokens = s.MaxNewTokens
		out.ReasoningEffort = s.ReasoningEffort
	} else {
		// max_tokens, not max_completion_tokens: OpenAI accepts both for
		// these models, but older Azure api-versions know only max_tokens.
		out.MaxTokens = s.MaxNewTokens
		if t := s.Temperature; t != nil {
			out.Temperature = float32(*t)
			flags.zeroTemp = *t == 0
		}
		if p := s.TopP; p != nil {
			out.TopP = float32(*p)
			flags.zeroTopP = *p == 0
		}
		out.LogProbs = s.Logprobs || s.TopLogprobs > 0
		out.TopLogProbs = s.TopLogprobs
	}
	if s.Seed != nil {
		seed := int(*s.Seed)
		out.Seed = &seed
	}
	if f := s.ResponseFormat; f != nil {
		rf, err := buildResponseFormat(f)
		if err != nil {
			return goopenai.ChatCompletionRequest{}, flags, err
		}
		out.ResponseFormat = rf
	}
	if len(s.Tools) > 0 {
		tools := make([]goopenai.Tool, len(s.Tools))
		for i, t := range s.Tools {
			if t.Name == "" {
				return goopenai.ChatCompletionRequest{}, flags, fmt.Errorf("tool %d has no name", i)
			}
			params := emptyParameters
			if len(t.Parameters) > 0 {
				if !json.Valid(t.Parameters) {
					return goopenai.ChatCompletionRequest{}, flags, fmt.Errorf("tool %q: Parameters is not valid JSON (want a JSON schema object)", t.Name)
				}
				params = json.RawMessage(t.Parameters)
			}
			tools[i] = goopenai.Tool{
				Type: goopenai.ToolTypeFunction,
				Function: &goopenai.FunctionDefinition{
					Name:        t.Name,
					Description: t.Description,
					Strict:      t.Strict,
					Parameters:  params,
				},
			}
		}
		out.Tools = tools
	}
	switch tc := s.ToolChoice; tc {
	case "":
	case "auto", "none", "required":
		out.ToolChoice = tc
	default:
		out.ToolChoice = goopenai.ToolChoice{Type: goopenai.ToolTypeFunction, Function: goopenai.ToolFunction{Name: tc}}
	}
	return out, flags, nil
}

// isReasoning reports whether the reasoning-model rules apply. Besides the
// catalog flag, wire names that go-openai's own validator treats as
// reasoning models count, since go-openai would otherwise refuse to send a
// request carrying max_tokens or a temperature for them.
func isReasoning(m registry.Model, wire string) bool {
	if m.Reasoning {
		return true
	}
	for _, prefix := range [...]string{"o1", "o3", "o4", "gpt-5"} {
		if strings.HasPrefix(wire, prefix) {
			return true
		}
	}
	return false
}

func buildResponseFormat(f *llm.ResponseFormat) (*goopenai.ChatCompletionResponseFormat, error) {
	switch f.Type {
	case llm.FormatJSONObject:
		return &goopenai.ChatCompletionResponseFormat{Type: goopenai.ChatCompletionResponseFormatTypeJSONObject}, nil
	case llm.FormatJSONSchema:
		if len(f.Schema) == 0 || !json.Valid(f.Schema) {
			return nil, fmt.Errorf("response format json_schema needs Schema to be a JSON schema object")
		}
		name := f.Name
		if name == "" {
			name = "response" // the API requires a name
		}
		return &goopenai.ChatCompletionResponseFormat{
			Type: goopenai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &goopenai.ChatCompletionResponseFormatJSONSchema{
				Name:   name,
				Schema: json.RawMessage(f.Schema),
				Strict: f.Strict,
			},
		}, nil
	case "text", "":
		return nil, nil
	}
	return nil, fmt.Errorf("unknown response format type %q (want %q or %q)", f.Type, llm.FormatJSONObject, llm.FormatJSONSchema)
}

func buildMessages(in []conversation.Message) ([]goopenai.ChatCompletionMessage, error) {
	out := make([]goopenai.ChatCompletionMessage, 0, len(in))
	for i, m := range in {
		var err error
		switch m.Role {
		case conversation.RoleSystem:
			out = append(out, goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleSystem, Content: m.Text(), Name: m.Name})
		case conversation.RoleUser:
			var msg goopenai.ChatCompletionMessage
			msg, err = userMessage(m)
			out = append(out, msg)
		case conversation.RoleAssistant:
			out = append(out, assistantMessage(m))
		case conversation.RoleTool:
			out, err = appendToolMessages(out, m)
		default:
			err = fmt.Errorf("unknown role %q", m.Role)
		}
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
	}
	return out, nil
}

func userMessage(m conversation.Message) (goopenai.ChatCompletionMessage, error) {
	msg := goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleUser, Name: m.Name}
	// The common case, text only, goes out as a plain string.
	if textOnly(m.Parts) {
		msg.Content = m.Text()
		return msg, nil
	}
	parts := make([]goopenai.ChatMessagePart, 0, len(m.Parts))
	for j, p := range m.Parts {
		switch p.Type {
		case conversation.PartText:
			parts = append(parts, goopenai.ChatMessagePart{Type: goopenai.ChatMessagePartTypeText, Text: p.Text})
		case conversation.PartImage:
			u := p.DataURL()
			if u == "" {
				return msg, fmt.Errorf("part %d: image has neither URL nor data", j)
			}
			parts = append(parts, goopenai.ChatMessagePart{
				Type:     goopenai.ChatMessagePartTypeImageURL,
				ImageURL: &goopenai.ChatMessageImageURL{URL: u, Detail: goopenai.ImageURLDetail(p.Detail)},
			})
		case conversation.PartFile:
			return msg, fmt.Errorf("part %d: file parts are not supported by this provider (go-openai v1.43.0 has no \"file\" content part); send the file's text as a text part", j)
		default:
			return msg, fmt.Errorf("part %d: a %s part cannot appear in a user message", j, p.Type)
		}
	}
	msg.MultiContent = parts
	return msg, nil
}

func textOnly(parts []conversation.Part) bool {
	for _, p := range parts {
		if p.Type != conversation.PartText {
			return false
		}
	}
	return true
}

func assistantMessage(m conversation.Message) goopenai.ChatCompletionMessage {
	msg := goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleAssistant, Content: m.Text(), Name: m.Name}
	for _, p := range m.Parts {
		if p.Type == conversation.PartToolCall && p.ToolCall != nil {
			msg.ToolCalls = append(msg.ToolCalls, goopenai.ToolCall{
				ID:   p.ToolCall.ID,
				Type: goopenai.ToolTypeFunction,
				Function: goopenai.FunctionCall{
					Name:      p.ToolCall.Name,
					Arguments: p.ToolCall.Arguments,
				},
			})
		}
	}
	return msg
}

// appendToolMessages writes one tool message per tool result: the wire
// links each result to its call by tool_call_id.
func appendToolMessages(out []goopenai.ChatCompletionMessage, m conversation.Message) ([]goopenai.ChatCompletionMessage, error) {
	n := 0
	for _, p := range m.Parts {
		if p.Type != conversation.PartToolResult || p.ToolResult == nil {
			continue
		}
		out = append(out, goopenai.ChatCompletionMessage{
			Role:       goopenai.ChatMessageRoleTool,
			ToolCallID: p.ToolResult.CallID,
			Content:    p.ToolResult.Content,
		})
		n++
	}
	if n == 0 {
		return out, fmt.Errorf("tool message has no tool result: build it with conversation.Result(callID, content)")
	}
	return out, nil
}

// MarshalChatRequest returns the JSON body of the chat completions request
// the provider would send for req with wire as the model name (stream false),
// byte for byte, including the explicit zero temperature and top_p go-openai
// cannot express. It serves callers that send requests another way, such
// as batch-API input files.
func MarshalChatRequest(req *llm.Request, wire string) ([]byte, error) {
	creq, flags, err := buildRequest(req, wire)
	if err != nil {
		return nil, err
	}
	// json.Marshal, as go-openai uses, so that the bytes match the wire.
	body, err := json.Marshal(creq)
	if err != nil {
		return nil, err
	}
	if flags.zeroTemp || flags.zeroTopP {
		body = insertZeroSampling(body, flags.zeroTemp, flags.zeroTopP)
	}
	return body, nil
}
