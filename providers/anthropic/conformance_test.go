package anthropic_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/providers/providertest"
)

const (
	conformanceKey = "conformance-key-0123456789"
	wrongKey       = "wrong-key-9876543210"
)

// TestConformance runs the provider conformance suite against the
// emulator's Messages API route (the Claude route of a Foundry resource,
// which speaks Anthropic's wire format).
func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.HarnessFunc(func(t *testing.T, c providertest.Condition) (providertest.Target, bool) {
		opts := []azuretest.Option{azuretest.WithAPIKeys(conformanceKey), azuretest.WithDeployment("claude-sonnet-4-5", "")}
		switch c {
		case providertest.RateLimited:
			opts = append(opts, azuretest.WithFaults(azuretest.Faults{Rate429: 1, RetryAfter: 2 * time.Second}))
		case providertest.Stalled:
			opts = append(opts, azuretest.WithFaults(azuretest.Faults{RateStall: 1, StallAfter: 1}))
		}
		srv := azuretest.NewServer(opts...)
		t.Cleanup(srv.Close)
		key := conformanceKey
		if c == providertest.BadKey {
			key = wrongKey
		}
		p, err := anthropic.New(anthropic.Config{APIKey: key, BaseURL: srv.URL + "/anthropic", HTTPClient: srv.Client()})
		require.NoError(t, err)
		t.Cleanup(func() { p.Close() })
		m := model(t, "claude-sonnet-4-5")
		if c == providertest.UnknownModel {
			m.Name = "claude-no-such-model"
		}
		return providertest.Target{Provider: p, Model: m, Backend: EmulatorBackend{srv}, Secrets: []string{conformanceKey, wrongKey}}, true
	}))
}

// EmulatorBackend adapts the emulator to the conformance suite for the
// Messages API route.
type EmulatorBackend struct{ Srv *azuretest.Server }

func (b EmulatorBackend) Calls() int    { return b.Srv.Requests() }
func (b EmulatorBackend) InFlight() int { return b.Srv.InFlight() }

func (b EmulatorBackend) LastMessages() []conversation.Message {
	var out []conversation.Message
	for _, w := range b.Srv.LastMessages() {
		m := conversation.Message{Role: conversation.Role(w.Role)}
		if w.Role == "tool" {
			m.Parts = append(m.Parts, conversation.Result(w.ToolCallID, w.Content))
		} else {
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

func (b EmulatorBackend) ExpectedReply(req *llm.Request) string {
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
