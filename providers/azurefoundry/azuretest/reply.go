package azuretest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Reply conventions; the package documentation describes them in full.
const (
	// ReplyPrefix starts every plain-text reply: the reply to a request whose
	// last user message is P is ReplyPrefix + P.
	ReplyPrefix = "Echo: "
	// ToolResultPrefix starts the reply to a request whose last message is a
	// tool result R: ToolResultPrefix + R.
	ToolResultPrefix = "Tool result: "
	// ToolCallTrigger in the last user message makes the emulator call the
	// first tool of the request; "call <name>" calls the tool named name.
	ToolCallTrigger = "CALL_TOOL"
	// DefaultQuotaMaxTokens is the completion allowance charged to the TPM
	// quota when a request sets neither max_tokens nor max_completion_tokens.
	// (Azure charges the model's maximum; the emulator uses this constant.)
	DefaultQuotaMaxTokens = 4096
	// ImagePartTokens is what an image content part counts as prompt tokens.
	ImagePartTokens = 85
)

// Reasoning tokens a reasoning deployment spends, by reasoning_effort
// (medium when absent or unknown), before the visible reply.
var reasoningTokens = map[string]int{"minimal": 0, "low": 64, "medium": 128, "high": 256}

// CountTokens is the emulator's tokenizer: one token per 4 bytes of UTF-8,
// rounded up (so "" is 0 tokens and "Echo: hi" is 2).
func CountTokens(s string) int { return (len(s) + 3) / 4 }

// PromptTokens is the prompt_tokens the emulator reports for a request whose
// messages have the given text contents and no tools or images: 3 per
// message plus CountTokens of its text, plus 3 for the reply.
func PromptTokens(contents ...string) int {
	n := 3
	for _, c := range contents {
		n += 3 + CountTokens(c)
	}
	return n
}

// ExpectedReply is the assistant text the emulator answers to a request whose
// last user message has text prompt (before any max-tokens truncation).
func ExpectedReply(prompt string) string { return ReplyPrefix + prompt }

// ExpectedJSONReply is the content answered to prompt when the request sets
// response_format {"type":"json_object"}.
func ExpectedJSONReply(prompt string) string {
	return string(appendJSONReply(nil, ExpectedReply(prompt)))
}

// ExpectedToolResultReply is the text answered when the last message is a
// tool result with content result.
func ExpectedToolResultReply(result string) string { return ToolResultPrefix + result }

func appendJSONReply(b []byte, reply string) []byte {
	b = append(b, `{"reply":`...)
	b = appendJSONString(b, reply)
	return append(b, '}')
}

// EstimateRequestTokens is the token cost the emulator charges a chat
// completions request body against a TPM quota: its prompt_tokens plus the
// completion allowance (max_completion_tokens, else max_tokens, else
// DefaultQuotaMaxTokens) times n (when n > 1).
func EstimateRequestTokens(body []byte) (int, error) {
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return 0, err
	}
	return req.quotaCost(), nil
}

// chatRequest is the part of a chat completions request the emulator reads.
// Parameters that only need a presence check stay raw.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	N                   *int            `json:"n"`
	Stream              bool            `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	Tools               json.RawMessage `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ResponseFormat      *responseFormat `json:"response_format"`
	ReasoningEffort     string          `json:"reasoning_effort"`
	// Rejected by reasoning models.
	Temperature      json.RawMessage `json:"temperature"`
	TopP             json.RawMessage `json:"top_p"`
	PresencePenalty  json.RawMessage `json:"presence_penalty"`
	FrequencyPenalty json.RawMessage `json:"frequency_penalty"`
	Logprobs         json.RawMessage `json:"logprobs"`
	TopLogprobs      json.RawMessage `json:"top_logprobs"`
	LogitBias        json.RawMessage `json:"logit_bias"`

	tools        []tool // decoded Tools
	promptTokens int    // set by prepare
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Schema json.RawMessage `json:"schema"`
	} `json:"json_schema"`
}

type chatMessage struct {
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	ToolCalls []struct {
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`

	text   string // text parts joined by "\n"
	images int
}

type tool struct {
	Type     string `json:"type"`
	Function struct {
		Name       string          `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
	} `json:"function"`
}

type contentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// present reports whether a raw parameter was sent with a non-null value.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// prepare decodes the polymorphic parts of a decoded request and computes
// its prompt tokens. It returns a parameter name and message on bad input.
func (r *chatRequest) prepare() (param, msg string) {
	for i := range r.Messages {
		m := &r.Messages[i]
		raw := bytes.TrimSpace(m.Content)
		switch {
		case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		case raw[0] == '"':
			if err := json.Unmarshal(raw, &m.text); err != nil {
				return "messages[" + strconv.Itoa(i) + "].content", "Invalid content of 'messages[" + strconv.Itoa(i) + "].content'."
			}
		case raw[0] == '[':
			var parts []contentPart
			if err := json.Unmarshal(raw, &parts); err != nil {
				return "messages[" + strconv.Itoa(i) + "].content", "Invalid content of 'messages[" + strconv.Itoa(i) + "].content'."
			}
			var texts []string
			for _, p := range parts {
				switch p.Type {
				case "text":
					texts = append(texts, p.Text)
				case "image_url", "input_image":
					m.images++
				}
			}
			m.text = strings.Join(texts, "\n")
		default:
			return "messages[" + strconv.Itoa(i) + "].content", "Invalid type for 'messages[" + strconv.Itoa(i) + "].content': expected a string or an array of content parts."
		}
	}
	if present(r.Tools) {
		if err := json.Unmarshal(r.Tools, &r.tools); err != nil {
			return "tools", "Invalid type for 'tools': expected an array of tool objects."
		}
	}
	n := 3
	for _, m := range r.Messages {
		n += 3 + CountTokens(m.text) + m.images*ImagePartTokens
		for _, tc := range m.ToolCalls {
			n += CountTokens(tc.Function.Name) + CountTokens(tc.Function.Arguments)
		}
	}
	if present(r.Tools) {
		n += CountTokens(string(r.Tools))
	}
	r.promptTokens = n
	return "", ""
}

// completionLimit is max_completion_tokens, else max_tokens, else 0 (none).
func (r *chatRequest) completionLimit() int {
	if r.MaxCompletionTokens != nil {
		return *r.MaxCompletionTokens
	}
	if r.MaxTokens != nil {
		return *r.MaxTokens
	}
	return 0
}

func (r *chatRequest) quotaCost() int {
	if r.promptTokens == 0 {
		r.prepare()
	}
	allowance := r.completionLimit()
	if allowance <= 0 {
		allowance = DefaultQuotaMaxTokens
	}
	if r.N != nil && *r.N > 1 {
		allowance *= *r.N
	}
	return r.promptTokens + allowance
}

// lastUserText is the text of the last user message ("" if none).
func (r *chatRequest) lastUserText() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].text
		}
	}
	return ""
}

// reply is a generated assistant turn.
type reply struct {
	text         string // content ("" for tool calls or a filtered reply)
	toolName     string // non-empty for a tool call
	toolArgs     string
	toolCallID   string
	finishReason string
	completion   int // completion_tokens, reasoning included
	reasoning    int
	filtered     bool // stopped by the completion filter word
}

// generate computes the reply; it is a pure function of the request and the
// deployment kind.
func (h *Handler) generate(r *chatRequest, reasoningModel bool) reply {
	var rep reply
	budget := r.completionLimit() // 0 = unlimited
	if reasoningModel {
		rt, ok := reasoningTokens[r.ReasoningEffort]
		if !ok {
			rt = reasoningTokens["medium"]
		}
		if budget > 0 {
			rt = min(rt, budget)
			budget = max(budget-rt, 0)
			if budget == 0 {
				budget = -1 // nothing left for visible output
			}
		}
		rep.reasoning = rt
	}

	if t := r.pickTool(); t != nil {
		rep.toolName = t.Function.Name
		rep.toolArgs = string(appendFromSchema(nil, t.Function.Parameters, 0))
		rep.toolCallID = toolCallID(rep.toolName, r.lastUserText())
		rep.finishReason = "tool_calls"
		rep.completion = rep.reasoning + CountTokens(rep.toolName) + CountTokens(rep.toolArgs)
		return rep
	}

	var text string
	last := r.Messages[len(r.Messages)-1]
	switch {
	case last.Role == "tool":
		text = ExpectedToolResultReply(last.text)
	default:
		text = ExpectedReply(r.lastUserText())
	}
	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_object":
			text = string(appendJSONReply(nil, text))
		case "json_schema":
			var schema json.RawMessage
			if rf.JSONSchema != nil {
				schema = rf.JSONSchema.Schema
			}
			text = string(appendFromSchema(nil, schema, 0))
		}
	}
	rep.finishReason = "stop"
	switch {
	case budget < 0:
		text, rep.finishReason = "", "length"
	case budget > 0 && CountTokens(text) > budget:
		text, rep.finishReason = truncate(text, budget*4), "length"
	}
	rep.text = text
	rep.completion = rep.reasoning + CountTokens(text)
	if h.completionWord != "" && strings.Contains(text, h.completionWord) {
		rep.filtered = true
		rep.finishReason = "content_filter"
	}
	return rep
}

// truncate cuts s to at most n bytes without splitting a rune.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
