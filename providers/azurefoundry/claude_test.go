package azurefoundry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/azureharness"
	"github.com/deluge-go/deluge/internal/fixture"
	"github.com/deluge-go/deluge/internal/mockwire"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/providers/providertest"
	"github.com/deluge-go/deluge/registry"
)

const foundryEndpoint = "https://my-foundry.services.ai.azure.com"

func TestClaudeCatalog(t *testing.T) {
	for _, id := range []string{"claude-opus-5-5", "claude-sonnet-5-5", "claude-opus-4-7", "claude-opus-4-6", "claude-opus-4-5",
		"claude-opus-4-1", "claude-sonnet-4-6", "claude-sonnet-4-5", "claude-haiku-4-5"} {
		m := lookup(t, "azure-"+id)
		assert.Equal(t, registry.APISpecAnthropicMessages, m.APISpec, id)
		assert.Equal(t, id, m.Name, "the portal's default deployment name")
		assert.Equal(t, id, m.BaseModel)
		assert.True(t, m.SupportsTools && m.SupportsImages && m.SupportsJSON && !m.SupportsLogprobs, id)
		assert.Greater(t, m.CacheWriteCost, m.InputCost, "%s: 5-minute cache writes cost 1.25× input", id)
		assert.Less(t, m.CachedInputCost, m.InputCost, id)
		assert.LessOrEqual(t, m.MaxOutputTokens, m.ContextWindow, id)
		// The Azure entry is priced like Anthropic's own (Foundry bills at
		// Anthropic's list prices).
		first := lookup(t, id)
		assert.Equal(t, []float64{first.InputCost, first.CachedInputCost, first.CacheWriteCost, first.OutputCost},
			[]float64{m.InputCost, m.CachedInputCost, m.CacheWriteCost, m.OutputCost}, id)
	}
	twin, ok := registry.ForProvider(ProviderName, "claude-sonnet-4-5")
	require.True(t, ok)
	assert.Equal(t, "azure-claude-sonnet-4-5", twin.ID, "WithProvider(azure-foundry) moves an Anthropic model to Foundry")
}

func claudeReply(status int, body string, header map[string]string) func(*http.Request) *http.Response {
	return mockwire.Reply(status, body, header)
}

func TestClaudeWire(t *testing.T) {
	m := newMock(t, claudeReply(200, string(fixture.Anthropic(t, "messages_create_response.doc.json")),
		map[string]string{"request-id": "req_1", "apim-request-id": "apim-1"}))
	p := newTestProvider(t, Config{Endpoint: foundryEndpoint, APIKey: "foundry-key-123456", DeploymentType: DataZone,
		Deployments: map[string]string{"azure-claude-opus-4-6": "opus-prod"}}, m)
	model := lookup(t, "azure-claude-opus-4-6")
	resp, err := p.Generate(context.Background(), hello(model))
	require.NoError(t, err)

	c := m.Last(t)
	assert.Equal(t, "https://my-foundry.services.ai.azure.com/anthropic/v1/messages", c.URL)
	assert.Equal(t, "foundry-key-123456", c.Header.Get("x-api-key"))
	assert.Empty(t, c.Header.Get("api-key"), "the Claude route takes x-api-key")
	assert.Empty(t, c.Header.Get("Authorization"))
	assert.Equal(t, anthropic.DefaultVersion, c.Header.Get("anthropic-version"))
	assert.Equal(t, "opus-prod", c.Body["model"], "the deployment name is the body's model")
	assert.Equal(t, 4096.0, c.Body["max_tokens"])

	assert.Equal(t, "Hi! My name is Claude.", resp.Completion)
	assert.Equal(t, ProviderName, resp.Provider)
	assert.Equal(t, "req_1", resp.RequestID)
	assert.Equal(t, 1, resp.Attempts)
	assert.Equal(t, llm.Usage{InputTokens: 2095 + 2051 + 2051, OutputTokens: 503, CachedInputTokens: 2051, CacheWriteInputTokens: 2051}, resp.Usage)
	want := (2095*5 + 2051*0.5 + 2051*6.25 + 503*25) / 1e6 * DataZone.Multiplier()
	assert.InDelta(t, want, resp.Cost, 1e-12, "cache writes priced, scaled by the deployment type")
}

func TestClaudeEntraToken(t *testing.T) {
	m := newMock(t, claudeReply(200, `{"type":"message","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}`, nil))
	clock := newFakeClock()
	cred := &fakeCredential{clock: clock, life: time.Hour}
	p := newTestProvider(t, Config{Endpoint: foundryEndpoint, Credential: cred}, m)
	p.now = clock.Now
	_, err := p.Generate(context.Background(), hello(lookup(t, "azure-claude-haiku-4-5")))
	require.NoError(t, err)
	c := m.Last(t)
	assert.Equal(t, "Bearer tok-1", c.Header.Get("Authorization"))
	assert.Empty(t, c.Header.Get("x-api-key"))
	assert.Equal(t, []string{DefaultTokenScope}, cred.scopes.Load(), "the scope Microsoft Learn gives for Claude")
}

func TestClaudeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		header     map[string]string
		code       llm.Code
		says       []string
	}{
		{"unknown deployment", `{"type":"error","error":{"type":"not_found_error","message":"model: claude-nope"}}`, 404, nil, llm.CodeNotFound,
			[]string{"Claude deployment 'claude-sonnet-4-5' not found in resource 'my-foundry'", "AZURE_DEPLOYMENT_AZURE_CLAUDE_SONNET_4_5", "model: claude-nope"}},
		{"bad key", `{"error":{"code":"401","message":"Access denied due to invalid subscription key foundry-key-123456."}}`, 401, nil, llm.CodeAuthentication,
			[]string{"AZURE_OPENAI_API_KEY", "my-foundry"}},
		{"rate limited", `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`, 429, map[string]string{"retry-after": "4"}, llm.CodeRateLimited,
			[]string{"Azure rate limit reached for deployment 'claude-sonnet-4-5'"}},
		{"overloaded", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, 529, nil, llm.CodeUnavailable, []string{"unavailable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMock(t, claudeReply(tc.status, tc.body, tc.header))
			p := newTestProvider(t, Config{Endpoint: foundryEndpoint, APIKey: "foundry-key-123456"}, m)
			_, err := p.Generate(context.Background(), hello(lookup(t, "azure-claude-sonnet-4-5")))
			e := asLLMError(t, err)
			assert.Equal(t, tc.code, e.Code)
			assert.True(t, errors.Is(err, tc.code.Sentinel()))
			for _, s := range tc.says {
				assert.Contains(t, err.Error(), s)
			}
			assert.NotContains(t, err.Error(), "foundry-key-123456")
			var api *anthropic.APIError
			assert.True(t, errors.As(err, &api), "the Messages API error stays reachable")
			assert.Equal(t, 1, m.Count())
		})
	}
}

// TestClaudeRegions: a Claude model goes through the region router like any
// other: a 429 from one region fails over to the next, with that region's
// deployment name.
func TestClaudeRegions(t *testing.T) {
	m := newMock(t, func(req *http.Request) *http.Response {
		if strings.HasPrefix(req.URL.Host, "east") {
			return claudeReply(429, `{"type":"error","error":{"type":"rate_limit_error","message":"busy"}}`, map[string]string{"retry-after": "5"})(req)
		}
		return claudeReply(200, `{"type":"message","content":[{"type":"text","text":"from west"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":2}}`, nil)(req)
	})
	p := newTestProvider(t, Config{APIKey: "k-123456", Regions: []Region{
		{Name: "eastus2", Endpoint: "https://east-res.services.ai.azure.com", Weight: 1000},
		{Name: "swedencentral", Endpoint: "https://west-res.services.ai.azure.com", Weight: 0.001,
			Deployments: map[string]string{"azure-claude-sonnet-4-5": "sonnet-se"}},
	}}, m)
	resp, err := p.Generate(context.Background(), hello(lookup(t, "azure-claude-sonnet-4-5")))
	require.NoError(t, err)
	assert.Equal(t, "from west", resp.Completion)
	assert.Equal(t, "swedencentral", resp.Region)
	assert.Equal(t, 2, resp.Attempts)
	c := m.Last(t)
	assert.Equal(t, "https://west-res.services.ai.azure.com/anthropic/v1/messages", c.URL)
	assert.Equal(t, "sonnet-se", c.Body["model"])
}

// TestClaudeConformance runs the conformance suite against the emulator's
// Claude route through the azure-foundry provider, with an API key, with a
// fixed Entra ID token, and through the region router.
func TestClaudeConformance(t *testing.T) {
	for _, v := range []struct {
		name          string
		token, region bool
	}{{"key", false, false}, {"entra-token", true, false}, {"region", false, true}} {
		t.Run(v.name, func(t *testing.T) {
			providertest.Run(t, providertest.HarnessFunc(func(t *testing.T, c providertest.Condition) (providertest.Target, bool) {
				opts := []azuretest.Option{azuretest.WithAPIKeys(conformanceKey), azuretest.WithBearerTokens(conformanceKey), azuretest.WithDeployment("claude-sonnet-4-5", "")}
				switch c {
				case providertest.RateLimited:
					opts = append(opts, azuretest.WithFaults(azuretest.Faults{Rate429: 1, RetryAfter: 2 * time.Second}))
				case providertest.Stalled:
					opts = append(opts, azuretest.WithFaults(azuretest.Faults{RateStall: 1, StallAfter: 1}))
				}
				srv := azuretest.NewServer(opts...)
				t.Cleanup(srv.Close)
				secret := conformanceKey
				if c == providertest.BadKey {
					secret = wrongKey
				}
				cfg := Config{Endpoint: srv.URL, APIKey: secret, HTTPClient: srv.Client(), Logger: quietLogger}
				if v.token {
					cfg.APIKey, cfg.ADToken = "", secret
				}
				if v.region {
					cfg.Endpoint, cfg.Regions = "", []Region{{Name: "eastus2", Endpoint: srv.URL}}
				}
				p, err := New(cfg)
				require.NoError(t, err)
				t.Cleanup(func() { p.Close() })
				m := lookup(t, "azure-claude-sonnet-4-5")
				if c == providertest.UnknownModel {
					m.Name = "no-such-deployment"
				}
				return providertest.Target{Provider: p, Model: m, Backend: azureharness.Backend{srv}, Secrets: []string{conformanceKey, wrongKey}}, true
			}))
		})
	}
}

// TestClaudeAcceptance: with only AZURE_OPENAI_ENDPOINT and
// AZURE_OPENAI_API_KEY set, an llm.Client for azure-claude-sonnet-4-5 gets
// completions, streams, tool calls and JSON from the emulator's Claude
// route, priced at the catalog's Claude prices and counted in Stats.
func TestClaudeAcceptance(t *testing.T) {
	srv := azuretest.NewServer(azuretest.WithAPIKeys("emulator-key"), azuretest.WithDeployment("claude-sonnet-4-5", ""))
	t.Cleanup(srv.Close)
	clearAzureEnv(t)
	t.Setenv(EnvEndpoint, srv.URL)
	t.Setenv(EnvAPIKey, "emulator-key")
	p, err := NewFromEnv()
	require.NoError(t, err)
	p.logger = quietLogger
	t.Cleanup(func() { p.Close() })
	c, err := llm.NewClient("claude-sonnet-4-5", llm.WithProvider(ProviderName), llm.WithProviderInstance(p),
		llm.WithLogger(quietLogger))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()

	resp, err := c.Generate(ctx, conversation.New().System("Be brief.").User("Hello!"))
	require.NoError(t, err)
	assert.Equal(t, azuretest.ExpectedReply("Hello!"), resp.Completion)
	assert.Equal(t, "azure-claude-sonnet-4-5", resp.Model)
	assert.Equal(t, "stop", resp.FinishReason)
	model := lookup(t, "azure-claude-sonnet-4-5")
	assert.InDelta(t, resp.Usage.Cost(model), resp.Cost, 1e-12)
	assert.Greater(t, resp.Cost, 0.0)

	var text strings.Builder
	var usage *llm.Usage
	for chunk, err := range c.Stream(ctx, conversation.New().User("Stream this please")) {
		require.NoError(t, err)
		text.WriteString(chunk.Text)
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
	}
	assert.Equal(t, azuretest.ExpectedReply("Stream this please"), text.String())
	require.NotNil(t, usage)

	weather := llm.Tool{Name: "get_weather", Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}}}`)}
	resp, err = c.Generate(ctx, conversation.New().User("Weather in Paris? call get_weather"), llm.WithTools(weather))
	require.NoError(t, err)
	require.Len(t, resp.Message.ToolCalls(), 1)
	assert.Equal(t, "tool_calls", resp.FinishReason)
	assert.JSONEq(t, `{"city":"example"}`, resp.Message.ToolCalls()[0].Arguments)

	resp, err = c.Generate(ctx, conversation.New().User("As JSON"), llm.WithJSONMode())
	require.NoError(t, err)
	assert.JSONEq(t, `{}`, resp.Completion, "JSON mode through the forced tool: the emulator fills its {\"type\":\"object\"} schema")

	st := c.Stats()
	assert.EqualValues(t, 4, st.Successes)
	assert.Greater(t, st.Cost, 0.0)
	assert.Equal(t, 4, srv.Requests(), "one request per call (Requests counts on arrival; Stats when a handler ends)")
}
