package conversation

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// wireConversation is the native JSON form: {"messages":[...]}.
type wireConversation struct {
	Messages []Message `json:"messages"`
}

// MarshalJSON encodes c as {"messages":[{"role":…,"parts":[…]}…]}.
func (c *Conversation) MarshalJSON() ([]byte, error) {
	msgs := c.messages
	if msgs == nil {
		msgs = []Message{}
	}
	return json.Marshal(wireConversation{Messages: msgs})
}

// UnmarshalJSON accepts the native form written by MarshalJSON, a bare array
// of messages, and OpenAI chat messages ({"role":…,"content":…} with string or
// array content, tool_calls and tool_call_id), in any mix.
func (c *Conversation) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	var raws []json.RawMessage
	switch {
	case len(data) > 0 && data[0] == '[':
		if err := json.Unmarshal(data, &raws); err != nil {
			return fmt.Errorf("conversation: %w", err)
		}
	case len(data) > 0 && data[0] == '{':
		var w struct {
			Messages []json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(data, &w); err != nil {
			return fmt.Errorf("conversation: %w", err)
		}
		if w.Messages == nil {
			return fmt.Errorf("conversation: object has no \"messages\" array")
		}
		raws = w.Messages
	default:
		return fmt.Errorf("conversation: want a JSON object with \"messages\" or an array of messages, got %.20q", data)
	}
	msgs := make([]Message, 0, len(raws))
	for i, raw := range raws {
		var m Message
		if err := m.UnmarshalJSON(raw); err != nil {
			return fmt.Errorf("conversation: message %d: %w", i, err)
		}
		msgs = append(msgs, m)
	}
	c.messages = msgs
	return nil
}

// openAIMessage is an OpenAI chat-completions message as found in JSONL files.
type openAIMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name"`
	ToolCallID string          `json:"tool_call_id"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
	Parts json.RawMessage `json:"parts"`
}

type openAIContentPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL    string `json:"url"`
		Detail string `json:"detail"`
	} `json:"image_url"`
	File *struct {
		FileData string `json:"file_data"`
		FileID   string `json:"file_id"`
		Filename string `json:"filename"`
	} `json:"file"`
}

// UnmarshalJSON accepts both the native message form ("parts") and an OpenAI
// chat message ("content").
func (m *Message) UnmarshalJSON(data []byte) error {
	var w openAIMessage
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	role := Role(w.Role)
	if role == "developer" { // OpenAI's newer name for the system role
		role = RoleSystem
	}
	if !role.Valid() {
		return fmt.Errorf("unknown role %q (want system, user, assistant or tool)", w.Role)
	}
	out := Message{Role: role, Name: w.Name}
	if len(w.Parts) > 0 && string(w.Parts) != "null" {
		if err := json.Unmarshal(w.Parts, &out.Parts); err != nil {
			return fmt.Errorf("parts: %w", err)
		}
		*m = out
		return nil
	}
	parts, err := parseOpenAIContent(w.Content)
	if err != nil {
		return err
	}
	if role == RoleTool {
		if w.ToolCallID == "" {
			return fmt.Errorf("tool message has no tool_call_id")
		}
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		parts = []Part{Result(w.ToolCallID, b.String())}
	}
	for _, tc := range w.ToolCalls {
		parts = append(parts, Call(tc.ID, tc.Function.Name, tc.Function.Arguments))
	}
	out.Parts = parts
	*m = out
	return nil
}

func parseOpenAIContent(raw json.RawMessage) ([]Part, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []Part{Text(s)}, nil
	}
	var cps []openAIContentPart
	if err := json.Unmarshal(raw, &cps); err != nil {
		return nil, fmt.Errorf("content: want a string or an array of parts: %w", err)
	}
	parts := make([]Part, 0, len(cps))
	for i, cp := range cps {
		switch cp.Type {
		case "text", "input_text", "output_text":
			parts = append(parts, Text(cp.Text))
		case "image_url":
			if cp.ImageURL == nil || cp.ImageURL.URL == "" {
				return nil, fmt.Errorf("content part %d: image_url without url", i)
			}
			p := partFromURL(PartImage, cp.ImageURL.URL)
			p.Detail = cp.ImageURL.Detail
			parts = append(parts, p)
		case "file":
			if cp.File == nil || (cp.File.FileData == "" && cp.File.FileID == "") {
				return nil, fmt.Errorf("content part %d: file without file_data or file_id", i)
			}
			var p Part
			if cp.File.FileData != "" {
				p = partFromURL(PartFile, cp.File.FileData)
			} else {
				p = Part{Type: PartFile, URL: cp.File.FileID}
			}
			p.Filename = cp.File.Filename
			parts = append(parts, p)
		default:
			return nil, fmt.Errorf("content part %d: unsupported type %q (want text, image_url or file)", i, cp.Type)
		}
	}
	return parts, nil
}

// partFromURL turns a base64 data: URL into inline data, so that a
// conversation read from OpenAI JSON and written back natively keeps the
// bytes; other URLs are kept as references.
func partFromURL(t PartType, u string) Part {
	if mime, data, ok := decodeDataURL(u); ok {
		return Part{Type: t, MIMEType: mime, Data: data}
	}
	return Part{Type: t, URL: u}
}

func decodeDataURL(u string) (mime string, data []byte, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", nil, false
	}
	meta, payload, found := strings.Cut(rest, ",")
	if !found {
		return "", nil, false
	}
	mime, found = strings.CutSuffix(meta, ";base64")
	if !found {
		return "", nil, false
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return "", nil, false
	}
	return mime, data, true
}

// DataURL returns the part's inline data as a base64 data: URL, or its URL
// when it has no inline data. Providers use it to put images on the wire.
func (p Part) DataURL() string {
	if len(p.Data) == 0 {
		return p.URL
	}
	var b strings.Builder
	b.Grow(len("data:;base64,") + len(p.MIMEType) + base64.StdEncoding.EncodedLen(len(p.Data)))
	b.WriteString("data:")
	b.WriteString(p.MIMEType)
	b.WriteString(";base64,")
	b.WriteString(base64.StdEncoding.EncodeToString(p.Data))
	return b.String()
}
