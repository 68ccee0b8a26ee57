package anthropic_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/pacing"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/registry"
)

// TestQuotaKey: the key names the server, a model's own key variable and
// the wire name, and never a key.
func TestQuotaKey(t *testing.T) {
	p, err := anthropic.New(anthropic.Config{APIKey: testKey})
	require.NoError(t, err)
	m := model(t, "claude-sonnet-4-5")
	assert.Equal(t, "https://api.anthropic.com#claude-sonnet-4-5", p.QuotaKey(m))
	alias := m
	alias.ID = "my-sonnet"
	assert.Equal(t, p.QuotaKey(m), p.QuotaKey(alias), "the same wire model is the same quota")

	gw := m
	gw.APIBase = "https://Gateway.example.com/anthropic/"
	assert.Equal(t, "https://gateway.example.com/anthropic#claude-sonnet-4-5", p.QuotaKey(gw), "another server, another quota")
	own := m
	own.APIKeyEnvVar = "OTHER_ANTHROPIC_KEY"
	assert.Equal(t, "https://api.anthropic.com?key=OTHER_ANTHROPIC_KEY#claude-sonnet-4-5", p.QuotaKey(own), "another account")
	for _, k := range []string{p.QuotaKey(m), p.QuotaKey(own)} {
		assert.NotContains(t, k, testKey)
	}

	// An Endpoint (Claude on Foundry): its URL and the deployment.
	ep, err := anthropic.NewEndpoint(anthropic.Endpoint{Name: "azure-foundry", BaseURL: "https://res.services.ai.azure.com/anthropic",
		WireName: func(registry.Model) string { return "sonnet-prod" }})
	require.NoError(t, err)
	assert.Equal(t, "https://res.services.ai.azure.com/anthropic#sonnet-prod", ep.QuotaKey(own), "an Endpoint routes no model keys")
}

// TestQuotaKeySharedThroughALimiter: two model IDs for the same wire model,
// in two clients sharing a limiter, pace under one key.
func TestQuotaKeySharedThroughALimiter(t *testing.T) {
	m := newMock(t, respond(200, okBody, nil))
	p := newProvider(t, m)
	shared := pacing.NewLocal()
	var keys []string
	for _, id := range []string{"quota-test-sonnet-a", "quota-test-sonnet-b"} {
		registry.Register(registry.Model{ID: id, Provider: anthropic.ProviderName, Name: "claude-sonnet-4-5"}) // an error: registered by an earlier run
		c, err := llm.NewClient(id, llm.WithProviderInstance(p), llm.WithLimiter(shared))
		require.NoError(t, err)
		_, err = c.Generate(t.Context(), conversation.New().User("hi"))
		require.NoError(t, err)
		st := c.Stats()
		require.Len(t, st.Pace, 1)
		keys = append(keys, st.Pace[0].Key)
	}
	assert.Equal(t, "https://api.anthropic.com#claude-sonnet-4-5", keys[0])
	assert.Equal(t, keys[0], keys[1])
}
