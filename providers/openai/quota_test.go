package openai_test

import (
	"testing"

	goopenai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/pacing"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/providers/providertest"
	"github.com/deluge-go/deluge/registry"
)

// TestQuotaKey: the key names the server, the organization, a model's own
// key variable and the wire name, and never a key.
func TestQuotaKey(t *testing.T) {
	const secret = "sk-quota-secret-0123456789"
	p, err := openai.New(openai.Config{APIKey: secret})
	require.NoError(t, err)
	m := registry.Model{ID: "my-4o", Provider: openai.ProviderName, Name: "gpt-4o"}
	assert.Equal(t, "https://api.openai.com/v1#gpt-4o", p.QuotaKey(m))
	alias := m
	alias.ID = "gpt-4o-for-summaries"
	assert.Equal(t, p.QuotaKey(m), p.QuotaKey(alias), "the same wire model is the same quota")

	org, err := openai.New(openai.Config{APIKey: secret, Organization: "org-123"})
	require.NoError(t, err)
	assert.Equal(t, "https://api.openai.com/v1?org=org-123#gpt-4o", org.QuotaKey(m))

	local := m
	local.APIBase = "http://127.0.0.1:8000/v1/"
	assert.Equal(t, "http://127.0.0.1:8000/v1#gpt-4o", p.QuotaKey(local), "another server, another quota")
	own := m
	own.APIKeyEnvVar = "OTHER_OPENAI_KEY"
	assert.Equal(t, "https://api.openai.com/v1?key=OTHER_OPENAI_KEY#gpt-4o", p.QuotaKey(own), "another account")

	for _, k := range []string{p.QuotaKey(m), org.QuotaKey(own), p.QuotaKey(local)} {
		assert.NotContains(t, k, secret)
	}

	// An Azure configuration: the resource and the deployment.
	az, err := openai.NewFromClientConfig(goopenai.DefaultAzureConfig("k", "https://res.openai.azure.com/"),
		openai.Options{WireName: func(registry.Model) string { return "prod-4o" }})
	require.NoError(t, err)
	assert.Equal(t, "https://res.openai.azure.com#prod-4o", az.QuotaKey(m))
}

// TestQuotaKeySharedThroughALimiter: two model IDs for the same wire model,
// in two clients sharing a limiter, pace under one key.
func TestQuotaKeySharedThroughALimiter(t *testing.T) {
	f := newFakeOpenAI(t, testKey, "gpt-4o-mini", providertest.Healthy)
	p, err := openai.New(openai.Config{APIKey: testKey, BaseURL: f.URL + "/v1"})
	require.NoError(t, err)
	shared := pacing.NewLocal()
	var keys []string
	for _, id := range []string{"quota-test-a", "quota-test-b"} {
		registry.Register(registry.Model{ID: id, Provider: openai.ProviderName, Name: "gpt-4o-mini"}) // an error: registered by an earlier run
		c, err := llm.NewClient(id, llm.WithProviderInstance(p), llm.WithLimiter(shared))
		require.NoError(t, err)
		_, err = c.Generate(t.Context(), conversation.New().User("hi"))
		require.NoError(t, err)
		st := c.Stats()
		require.Len(t, st.Pace, 1)
		keys = append(keys, st.Pace[0].Key)
	}
	assert.Equal(t, f.URL+"/v1#gpt-4o-mini", keys[0])
	assert.Equal(t, keys[0], keys[1])
}
