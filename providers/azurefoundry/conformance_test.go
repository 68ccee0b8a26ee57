package azurefoundry

import (
	"testing"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/providers/providertest"
)

const (
	conformanceKey = "conformance-key-0123456789"
	wrongKey       = "wrong-key-9876543210"
)

// TestConformance runs the provider conformance suite against the Azure
// emulator, on both URL families and through the region router.
func TestConformance(t *testing.T) {
	for _, v := range []struct {
		name    string
		version string
		region  bool
	}{
		{"v1", "", false},
		{"classic", "2024-10-21", false},
		{"region", "", true},
	} {
		t.Run(v.name, func(t *testing.T) {
			providertest.Run(t, providertest.HarnessFunc(func(t *testing.T, c providertest.Condition) (providertest.Target, bool) {
				return emulatorTarget(t, c, v.version, v.region)
			}))
		})
	}
}

func emulatorTarget(t *testing.T, c providertest.Condition, version string, region bool) (providertest.Target, bool) {
	opts := []azuretest.Option{azuretest.WithAPIKeys(conformanceKey)}
	switch c {
	case providertest.RateLimited:
		opts = append(opts, azuretest.WithFaults(azuretest.Faults{Rate429: 1, RetryAfter: 2 * time.Second}))
	case providertest.Stalled:
		// A stream yields its first content chunk, then stalls; a
		// non-stream request gets no answer.
		opts = append(opts, azuretest.WithFaults(azuretest.Faults{RateStall: 1, StallAfter: 1}))
	}
	srv := azuretest.NewServer(opts...)
	t.Cleanup(srv.Close)

	key := conformanceKey
	if c == providertest.BadKey {
		key = wrongKey
	}
	cfg := Config{Endpoint: srv.URL, APIKey: key, APIVersion: version, HTTPClient: srv.Client(), Logger: quietLogger}
	if region {
		cfg = Config{APIKey: key, APIVersion: version, HTTPClient: srv.Client(), Logger: quietLogger,
			Regions: []Region{{Name: "eastus", Endpoint: srv.URL}}}
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	m := lookup(t, "azure-gpt-4o")
	if c == providertest.UnknownModel {
		m.Name = "no-such-deployment"
	}
	return providertest.Target{Provider: p, Model: m, Backend: emulatorBackend{srv}, Secrets: []string{conformanceKey, wrongKey}}, true
}

// emulatorBackend adapts the emulator to the suite: request counts,
// requests in flight and the last messages come from the emulator's own
// recording; replies are its deterministic ones.
type emulatorBackend struct{ srv *azuretest.Server }

func (b emulatorBackend) Calls() int    { return b.srv.Requests() }
func (b emulatorBackend) InFlight() int { return b.srv.InFlight() }

func (b emulatorBackend) LastMessages() []conversation.Message {
	return toConversation(b.srv.LastMessages())
}

func (b emulatorBackend) ExpectedReply(req *llm.Request) string {
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

// toConversation converts the emulator's view of the wire messages to the
// suite's message type.
func toConversation(msgs []azuretest.Message) []conversation.Message {
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
