package anthropic_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/internal/azureharness"
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
		srv := azuretest.NewServer(azureharness.Options(c, azuretest.WithAPIKeys(conformanceKey), azuretest.WithDeployment("claude-sonnet-4-5", ""))...)
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
		return providertest.Target{Provider: p, Model: m, Backend: azureharness.Backend{srv}, Secrets: []string{conformanceKey, wrongKey}}, true
	}))
}
