package conversation

import (
	"errors"
	"fmt"
	"slices"
)

// ErrEmpty is returned by Validate for a conversation without messages.
var ErrEmpty = errors.New("conversation is empty: add at least one message, e.g. conversation.New().User(\"…\")")

// A Conversation is an ordered list of messages. The zero value is an empty
// conversation ready to use. A Conversation is not safe for concurrent
// mutation; reading it from several goroutines (as the llm.Client does) is
// safe once it is built.
type Conversation struct {
	messages []Message
}

// New returns an empty conversation.
func New() *Conversation { return &Conversation{} }

// FromMessages returns a conversation holding a copy of msgs.
func FromMessages(msgs ...Message) *Conversation {
	return &Conversation{messages: slices.Clone(msgs)}
}

// Add appends messages and returns c for chaining.
func (c *Conversation) Add(msgs ...Message) *Conversation {
	c.messages = append(c.messages, msgs...)
	return c
}

// System appends a system message.
func (c *Conversation) System(text string) *Conversation {
	return c.Add(Message{Role: RoleSystem, Parts: []Part{Text(text)}})
}

// User appends a user message made of text followed by parts (images, files).
// An empty text adds no text part, so User("", ImageURL(u)) sends just the image.
func (c *Conversation) User(text string, parts ...Part) *Conversation {
	ps := make([]Part, 0, 1+len(parts))
	if text != "" || len(parts) == 0 {
		ps = append(ps, Text(text))
	}
	ps = append(ps, parts...)
	return c.Add(Message{Role: RoleUser, Parts: ps})
}

// Assistant appends an assistant message, for few-shot examples and multi-turn
// chats.
func (c *Conversation) Assistant(text string) *Conversation {
	return c.Add(Message{Role: RoleAssistant, Parts: []Part{Text(text)}})
}

// AssistantToolCalls appends an assistant message that calls tools, as a model
// reply would; text may be empty.
func (c *Conversation) AssistantToolCalls(text string, calls ...ToolCall) *Conversation {
	ps := make([]Part, 0, 1+len(calls))
	if text != "" {
		ps = append(ps, Text(text))
	}
	for _, call := range calls {
		ps = append(ps, Call(call.ID, call.Name, call.Arguments))
	}
	return c.Add(Message{Role: RoleAssistant, Parts: ps})
}

// ToolResult appends a tool message answering the tool call callID.
func (c *Conversation) ToolResult(callID, content string) *Conversation {
	return c.Add(Message{Role: RoleTool, Parts: []Part{Result(callID, content)}})
}

// Messages returns a copy of the message list; changing it does not change c.
func (c *Conversation) Messages() []Message {
	if c == nil {
		return nil
	}
	return slices.Clone(c.messages)
}

// Len returns the number of messages.
func (c *Conversation) Len() int {
	if c == nil {
		return 0
	}
	return len(c.messages)
}

// At returns message i; it panics if i is out of range, like a slice index.
func (c *Conversation) At(i int) Message { return c.messages[i] }

// Last returns the last message and true, or false for an empty conversation.
func (c *Conversation) Last() (Message, bool) {
	if c.Len() == 0 {
		return Message{}, false
	}
	return c.messages[len(c.messages)-1], true
}

// Clone returns a copy of c that can be extended without changing c.
func (c *Conversation) Clone() *Conversation {
	return &Conversation{messages: c.Messages()}
}

// Validate reports the first problem that would make a provider reject the
// conversation, naming the message at fault.
func (c *Conversation) Validate() error {
	if c.Len() == 0 {
		return ErrEmpty
	}
	for i, m := range c.messages {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
	return nil
}
