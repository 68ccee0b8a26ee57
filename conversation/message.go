package conversation

import (
	"fmt"
	"mime"
	"slices"
	"strings"
)

// Role says who wrote a message.
type Role string

// The roles a message can have.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleSystem, RoleUser, RoleAssistant, RoleTool:
		return true
	}
	return false
}

// PartType says what a Part holds.
type PartType string

// The kinds of Part.
const (
	PartText       PartType = "text"
	PartImage      PartType = "image"
	PartFile       PartType = "file"
	PartToolCall   PartType = "tool_call"
	PartToolResult PartType = "tool_result"
)

// A Part is one piece of a message. Exactly the fields that belong to its Type
// are set; use the constructors (Text, ImageURL, ImageData, FileData,
// FileURL, Call, Result) rather than filling it by hand.
type Part struct {
	// Type says what the part holds and so which fields are set.
	Type PartType `json:"type"`

	// Text is the text of a PartText.
	Text string `json:"text,omitempty"`

	// URL locates an image or a file given by reference (https: or data: URL).
	URL string `json:"url,omitempty"`
	// MIMEType and Data hold an inline image or file; Data is base64 in JSON.
	MIMEType string `json:"mime_type,omitempty"`
	Data     []byte `json:"data,omitempty"`
	// Filename names an inline file.
	Filename string `json:"filename,omitempty"`
	// Detail is the image detail hint ("low", "high" or "auto"); empty means auto.
	Detail string `json:"detail,omitempty"`

	// ToolCall is the call of a PartToolCall (assistant messages).
	ToolCall *ToolCall `json:"tool_call,omitempty"`
	// ToolResult is the result of a PartToolResult (tool messages).
	ToolResult *ToolResult `json:"tool_result,omitempty"`
}

// ToolCall is a model's request to run a tool.
type ToolCall struct {
	// ID links the call to its ToolResult.
	ID string `json:"id"`
	// Name is the tool's name.
	Name string `json:"name"`
	// Arguments is the JSON text of the arguments, as the model wrote it.
	Arguments string `json:"arguments"`
}

// ToolResult is the output of a tool, sent back to the model.
type ToolResult struct {
	// CallID is the ID of the ToolCall this answers.
	CallID string `json:"call_id"`
	// Content is the tool's output.
	Content string `json:"content"`
}

// Text returns a text part.
func Text(s string) Part { return Part{Type: PartText, Text: s} }

// ImageURL returns an image part referring to url (https: or data: URL).
func ImageURL(url string) Part { return Part{Type: PartImage, URL: url} }

// ImageData returns an inline image part; mime is e.g. "image/png".
func ImageData(mime string, data []byte) Part {
	return Part{Type: PartImage, MIMEType: mime, Data: data}
}

// FileData returns an inline file part (for example a PDF).
func FileData(filename, mime string, data []byte) Part {
	return Part{Type: PartFile, Filename: filename, MIMEType: mime, Data: data}
}

// FileURL returns a file part referring to url.
func FileURL(url string) Part { return Part{Type: PartFile, URL: url} }

// Call returns a tool-call part.
func Call(id, name, arguments string) Part {
	return Part{Type: PartToolCall, ToolCall: &ToolCall{ID: id, Name: name, Arguments: arguments}}
}

// Result returns a tool-result part.
func Result(callID, content string) Part {
	return Part{Type: PartToolResult, ToolResult: &ToolResult{CallID: callID, Content: content}}
}

// WithDetail returns a copy of an image part with the given detail hint.
func (p Part) WithDetail(detail string) Part {
	p.Detail = detail
	return p
}

// Clone returns a deep copy of p: its data and its tool call or result are
// copied, not shared.
func (p Part) Clone() Part {
	if p.Data != nil {
		p.Data = slices.Clone(p.Data)
	}
	if c := p.ToolCall; c != nil {
		cp := *c
		p.ToolCall = &cp
	}
	if r := p.ToolResult; r != nil {
		cp := *r
		p.ToolResult = &cp
	}
	return p
}

// Validate reports what is wrong with the part, if anything.
func (p Part) Validate() error {
	switch p.Type {
	case PartText:
		return nil
	case PartImage:
		if p.URL == "" && len(p.Data) == 0 {
			return fmt.Errorf("image part has neither URL nor data: use ImageURL or ImageData")
		}
		if len(p.Data) > 0 && !strings.HasPrefix(p.MIMEType, "image/") {
			return fmt.Errorf("image part has data but MIME type %q: give an image/* type such as image/png", p.MIMEType)
		}
		return checkMIMEType(p)
	case PartFile:
		if p.URL == "" && len(p.Data) == 0 {
			return fmt.Errorf("file part has neither URL nor data: use FileURL or FileData")
		}
		return checkMIMEType(p)
	case PartToolCall:
		if p.ToolCall == nil || p.ToolCall.Name == "" {
			return fmt.Errorf("tool-call part has no tool name")
		}
	case PartToolResult:
		if p.ToolResult == nil || p.ToolResult.CallID == "" {
			return fmt.Errorf("tool-result part has no call ID: set it to the ID of the assistant's tool call")
		}
	case "":
		return fmt.Errorf("part has no type")
	default:
		return fmt.Errorf("unknown part type %q (want text, image, file, tool_call or tool_result)", p.Type)
	}
	return nil
}

// checkMIMEType checks the MIME type of inline data, which goes on the wire
// in a data: URL (data:<type>;base64,<data>): it must be a media type, and
// without a comma, which would end the type early and lose the data.
func checkMIMEType(p Part) error {
	if len(p.Data) == 0 || p.MIMEType == "" {
		return nil
	}
	if _, _, err := mime.ParseMediaType(p.MIMEType); err != nil || strings.Contains(p.MIMEType, ",") {
		return fmt.Errorf("%s part has MIME type %q, which is not a media type such as image/png or application/pdf", p.Type, p.MIMEType)
	}
	return nil
}

// Message is one turn of a conversation.
type Message struct {
	Role  Role   `json:"role"`  // who speaks
	Parts []Part `json:"parts"` // what they say, in order
	// Name optionally names the author (OpenAI's "name" field).
	Name string `json:"name,omitempty"`
}

// Clone returns a deep copy of m (see [Part.Clone]).
func (m Message) Clone() Message {
	if m.Parts == nil {
		return m
	}
	parts := make([]Part, len(m.Parts))
	for i, p := range m.Parts {
		parts[i] = p.Clone()
	}
	m.Parts = parts
	return m
}

// Text returns the concatenated text parts of the message.
func (m Message) Text() string {
	// The common case is a single text part: avoid the builder.
	if len(m.Parts) == 1 && m.Parts[0].Type == PartText {
		return m.Parts[0].Text
	}
	var b strings.Builder
	for _, p := range m.Parts {
		if p.Type == PartText {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// ToolCalls returns the tool calls in the message, if any.
func (m Message) ToolCalls() []ToolCall {
	var calls []ToolCall
	for _, p := range m.Parts {
		if p.Type == PartToolCall && p.ToolCall != nil {
			calls = append(calls, *p.ToolCall)
		}
	}
	return calls
}

// Validate reports what is wrong with the message, if anything.
func (m Message) Validate() error {
	if !m.Role.Valid() {
		return fmt.Errorf("unknown role %q (want system, user, assistant or tool)", m.Role)
	}
	if len(m.Parts) == 0 && m.Role != RoleAssistant {
		return fmt.Errorf("%s message has no content", m.Role)
	}
	for i, p := range m.Parts {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("part %d: %w", i, err)
		}
		switch p.Type {
		case PartToolCall:
			if m.Role != RoleAssistant {
				return fmt.Errorf("part %d: tool calls belong in assistant messages, not %s", i, m.Role)
			}
		case PartToolResult:
			if m.Role != RoleTool {
				return fmt.Errorf("part %d: tool results belong in tool messages, not %s", i, m.Role)
			}
		case PartImage, PartFile:
			if m.Role != RoleUser {
				return fmt.Errorf("part %d: images and files belong in user messages, not %s", i, m.Role)
			}
		}
	}
	return nil
}
