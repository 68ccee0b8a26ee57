package telemetry

import (
	"encoding/json"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// The message schema of the GenAI conventions (gen-ai-input-messages.json,
// gen-ai-output-messages.json): messages of a role and parts, each part a
// type and its content. Images and files are recorded by kind and MIME
// type only, never their data.

type message struct {
	Role         string `json:"role"`
	Parts        []part `json:"parts"`
	FinishReason string `json:"finish_reason,omitempty"`
}

type part struct {
	Type      string          `json:"type"`
	Content   string          `json:"content,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Result    string          `json:"result,omitempty"`
	MIMEType  string          `json:"mime_type,omitempty"`
	Modality  string          `json:"modality,omitempty"`
}

// inputMessages is the gen_ai.input.messages value of msgs.
func inputMessages(msgs []conversation.Message) string {
	out := make([]message, len(msgs))
	for i, m := range msgs {
		out[i] = messageOf(m)
	}
	return marshal(out)
}

// outputMessages is the gen_ai.output.messages value of resp.
func outputMessages(resp *llm.Response) string {
	m := messageOf(resp.Message)
	if len(m.Parts) == 0 && resp.Completion != "" {
		m.Parts = []part{{Type: "text", Content: resp.Completion}}
	}
	m.Role = string(conversation.RoleAssistant)
	m.FinishReason = resp.FinishReason
	return marshal([]message{m})
}

func messageOf(m conversation.Message) message {
	out := message{Role: string(m.Role), Parts: make([]part, 0, len(m.Parts))}
	for _, p := range m.Parts {
		switch p.Type {
		case conversation.PartText:
			out.Parts = append(out.Parts, part{Type: "text", Content: p.Text})
		case conversation.PartToolCall:
			if tc := p.ToolCall; tc != nil {
				q := part{Type: "tool_call", ID: tc.ID, Name: tc.Name}
				if json.Valid([]byte(tc.Arguments)) {
					q.Arguments = json.RawMessage(tc.Arguments)
				}
				out.Parts = append(out.Parts, q)
			}
		case conversation.PartToolResult:
			if tr := p.ToolResult; tr != nil {
				out.Parts = append(out.Parts, part{Type: "tool_call_response", ID: tr.CallID, Result: tr.Content})
			}
		case conversation.PartImage:
			out.Parts = append(out.Parts, part{Type: "blob", Modality: "image", MIMEType: p.MIMEType})
		default:
			out.Parts = append(out.Parts, part{Type: string(p.Type), MIMEType: p.MIMEType})
		}
	}
	return out
}

func marshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
