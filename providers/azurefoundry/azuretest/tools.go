package azuretest

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"strings"
)

// pickTool applies the tool-call convention: tool_choice "none" never calls;
// a named tool_choice calls that tool; "required" calls the first tool unless
// the prompt names one; otherwise the last message must be a user message
// containing "call <name>" or ToolCallTrigger (first tool).
func (r *chatRequest) pickTool() *tool {
	if len(r.tools) == 0 {
		return nil
	}
	choice := bytes.TrimSpace(r.ToolChoice)
	var named struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	switch {
	case bytes.Equal(choice, []byte(`"none"`)):
		return nil
	case len(choice) > 0 && choice[0] == '{':
		if json.Unmarshal(choice, &named) == nil && named.Function.Name != "" {
			return r.findTool(named.Function.Name)
		}
	}
	last := r.Messages[len(r.Messages)-1]
	if last.Role == "user" {
		for i := range r.tools {
			if containsCall(last.text, r.tools[i].Function.Name) {
				return &r.tools[i]
			}
		}
		if strings.Contains(last.text, ToolCallTrigger) {
			return &r.tools[0]
		}
	}
	if bytes.Equal(choice, []byte(`"required"`)) {
		return &r.tools[0]
	}
	return nil
}

func (r *chatRequest) findTool(name string) *tool {
	for i := range r.tools {
		if r.tools[i].Function.Name == name {
			return &r.tools[i]
		}
	}
	return nil
}

// containsCall reports whether text contains "call <name>" with name ending
// at a word boundary (so "call get" does not match tool "get_weather").
func containsCall(text, name string) bool {
	if name == "" {
		return false
	}
	needle := "call " + name
	for off := 0; ; {
		i := strings.Index(text[off:], needle)
		if i < 0 {
			return false
		}
		end := off + i + len(needle)
		if end == len(text) || !isNameByte(text[end]) {
			return true
		}
		off += i + 1
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// toolCallID is a deterministic id in OpenAI's format ("call_" + 24 chars).
func toolCallID(name, prompt string) string {
	h := fnv.New128a()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(prompt))
	sum := h.Sum(nil)
	b := make([]byte, 0, 29)
	b = append(b, "call_"...)
	for _, c := range sum[:12] {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return string(b)
}
