// Package azureharness connects the provider conformance suite
// (providers/providertest) to the Azure OpenAI emulator
// (providers/azurefoundry/azuretest): the emulator settings that put it in
// each of the suite's conditions, and the emulator's own records as the
// suite's backend hooks. The conformance tests of providers/azurefoundry,
// providers/openai and providers/anthropic (against the emulator's Claude
// route) share it.
package azureharness

import (
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/providers/providertest"
	"github.com/deluge-go/deluge/registry"
)

// RetryAfter is the delay the emulator asks for in the RateLimited
// condition.
const RetryAfter = 2 * time.Second

// Options returns the emulator options of condition c on top of opts: for
// RateLimited, every request answered 429 with a retry-after; for Stalled,
// a stream that stalls after its first content chunk and a plain request
// that gets no answer. The other conditions are the harness's to set up
// (a wrong key, an unknown deployment).
func Options(c providertest.Condition, opts ...azuretest.Option) []azuretest.Option {
	switch c {
	case providertest.RateLimited:
		opts = append(opts, azuretest.WithFaults(azuretest.Faults{Rate429: 1, RetryAfter: RetryAfter}))
	case providertest.Stalled:
		opts = append(opts, azuretest.WithFaults(azuretest.Faults{RateStall: 1, StallAfter: 1}))
	}
	return opts
}

// Backend is the suite's view of one or more emulators serving the
// target's model: one endpoint each (Azure's regions). Request counts and
// requests in flight are summed; the last messages are those of the newest
// request any of them recorded; replies are the emulator's deterministic
// ones. It implements providertest's Backend, Recorder, Replier,
// VectorReplier, InFlighter and MultiEndpoint.
type Backend []*azuretest.Server

// Calls implements providertest.Backend.
func (b Backend) Calls() int {
	n := 0
	for _, s := range b {
		n += s.Requests()
	}
	return n
}

// InFlight implements providertest.InFlighter.
func (b Backend) InFlight() int {
	n := 0
	for _, s := range b {
		n += s.InFlight()
	}
	return n
}

// Endpoints implements providertest.MultiEndpoint.
func (b Backend) Endpoints() int { return len(b) }

// LastMessages implements providertest.Recorder.
func (b Backend) LastMessages() []conversation.Message {
	var (
		newest azuretest.Request
		found  bool
	)
	for _, s := range b {
		if r, ok := s.LastRequest(); ok && (!found || r.Time.After(newest.Time)) {
			newest, found = r, true
		}
	}
	if !found {
		return nil
	}
	return ToConversation(newest.Messages)
}

// ExpectedReply implements providertest.Replier: the emulator answers a
// tool result with ExpectedToolResultReply, anything else with the
// ExpectedReply of the last user message.
func (b Backend) ExpectedReply(req *llm.Request) string {
	msgs := req.Messages
	if n := len(msgs); n > 0 && msgs[n-1].Role == conversation.RoleTool {
		for _, p := range msgs[n-1].Parts {
			if p.ToolResult != nil {
				return azuretest.ExpectedToolResultReply(p.ToolResult.Content)
			}
		}
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == conversation.RoleUser {
			return azuretest.ExpectedReply(msgs[i].Text())
		}
	}
	return ""
}

// ExpectedVector implements providertest.VectorReplier: the emulator's
// deterministic vector (azuretest.Embedding) for the deployment's model.
func (b Backend) ExpectedVector(m registry.Model, input string, dimensions int) []float32 {
	model := m.BaseModel
	if model == "" {
		model = m.Name
	}
	return azuretest.Embedding(model, input, dimensions)
}

// ToConversation converts the emulator's view of the wire messages to
// conversation messages, for comparison with what was sent.
func ToConversation(msgs []azuretest.Message) []conversation.Message {
	if msgs == nil {
		return nil
	}
	out := make([]conversation.Message, 0, len(msgs))
	for _, w := range msgs {
		m := conversation.Message{Role: conversation.Role(w.Role)}
		switch {
		case w.Role == "tool":
			m.Parts = append(m.Parts, conversation.Result(w.ToolCallID, w.Content))
		default:
			if w.Content != "" {
				m.Parts = append(m.Parts, conversation.Text(w.Content))
			}
			for _, c := range w.ToolCalls {
				m.Parts = append(m.Parts, conversation.Call(c.ID, c.Name, c.Arguments))
			}
		}
		out = append(out, m)
	}
	return out
}
