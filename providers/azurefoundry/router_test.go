package azurefoundry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/registry"
)

// The model router: a deployment answering with the model it chose.

func TestRouterCatalogEntry(t *testing.T) {
	m := lookup(t, "azure-model-router")
	assert.True(t, m.Router)
	assert.Equal(t, "model-router", m.Name)
	assert.Equal(t, 0.14, m.InputCost, "the router's fee per million input tokens")
	assert.Zero(t, m.OutputCost)
	assert.Equal(t, 200_000, m.ContextWindow)
}

// routerClient serves a model-router deployment from the emulator
// (choosing among models, DefaultRouterModels when none) and returns a
// client for azure-model-router.
func routerClient(t *testing.T, cfg Config, models ...string) *llm.Client {
	t.Helper()
	srv := azuretest.NewServer(azuretest.WithModelRouter("model-router", models...))
	t.Cleanup(srv.Close)
	cfg.Endpoint = srv.URL
	p := newTestProvider(t, cfg, nil)
	c, err := llm.NewClient("azure-model-router", llm.WithProviderInstance(p), llm.WithLogger(quietLogger))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// routedPrice is what a router call costs: the router's fee plus the
// routed model's catalog price, both scaled by the deployment type.
func routedPrice(t *testing.T, routedID string, u llm.Usage, mult float64) float64 {
	router, routed := lookup(t, "azure-model-router"), lookup(t, routedID)
	return (u.Cost(router) + u.Cost(routed)) * mult
}

func TestRouterGenerate(t *testing.T) {
	c := routerClient(t, Config{})
	prompts := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}
	want := map[string]llm.RoutedStats{}
	for _, p := range prompts {
		resp, err := c.Generate(context.Background(), conversation.New().User(p))
		require.NoError(t, err)
		routed := azuretest.RoutedModel(p)
		assert.Equal(t, routed, resp.ServedModel, p)
		assert.Equal(t, routed, resp.RoutedModel, p)
		assert.Equal(t, "azure-model-router", resp.Model)
		pm, ok := registry.Routed(lookup(t, "azure-model-router"), routed)
		require.True(t, ok, "every default router model is in the catalog: %s", routed)
		assert.InDelta(t, routedPrice(t, pm.ID, resp.Usage, 1), resp.Cost, 1e-12, p)
		assert.Greater(t, resp.Cost, resp.Usage.Cost(lookup(t, pm.ID)), "the router's fee is charged on top")

		w := want[routed]
		w.Router, w.PricedAs = "azure-model-router", pm.ID
		w.Calls++
		w.InputTokens += int64(resp.Usage.InputTokens)
		w.OutputTokens += int64(resp.Usage.OutputTokens)
		w.Cost += resp.Cost
		want[routed] = w
	}
	got := c.Stats().ByRoutedModel
	require.Len(t, got, len(want))
	total := 0.0
	for name, w := range want {
		g := got[name]
		assert.InDelta(t, w.Cost, g.Cost, 1e-12, name)
		g.Cost = w.Cost
		assert.Equal(t, w, g, name)
		total += w.Cost
	}
	assert.Greater(t, len(got), 1, "eight prompts reach several models")
	assert.InDelta(t, total, c.Stats().Cost, 1e-12, "Stats.Cost is the sum over routed models")
}

func TestRouterStreamAndDataZone(t *testing.T) {
	c := routerClient(t, Config{DeploymentType: DataZone})
	const prompt = "stream through the router"
	var usage *llm.Usage
	var cost float64
	var served string
	for ch, err := range c.Stream(context.Background(), conversation.New().User(prompt)) {
		require.NoError(t, err)
		if ch.ServedModel != "" {
			served = ch.ServedModel
		}
		if ch.Usage != nil {
			usage, cost = ch.Usage, ch.Cost
		}
	}
	require.NotNil(t, usage)
	routed := azuretest.RoutedModel(prompt)
	assert.Equal(t, routed, served)
	pm, ok := registry.Routed(lookup(t, "azure-model-router"), routed)
	require.True(t, ok)
	assert.InDelta(t, routedPrice(t, pm.ID, *usage, DataZone.Multiplier()), cost, 1e-12)
	assert.Equal(t, int64(1), c.Stats().ByRoutedModel[routed].Calls)
}

func TestRouterUnknownRoutedModel(t *testing.T) {
	// A model the catalog does not know: the call costs the router's fee
	// alone, and Stats says it was not priced.
	c := routerClient(t, Config{}, "mystery-model-2031-01-01")
	resp, err := c.Generate(context.Background(), conversation.New().User("hi"))
	require.NoError(t, err)
	assert.Equal(t, "mystery-model-2031-01-01", resp.RoutedModel)
	assert.InDelta(t, resp.Usage.Cost(lookup(t, "azure-model-router")), resp.Cost, 1e-12)
	st := c.Stats().ByRoutedModel["mystery-model-2031-01-01"]
	assert.Equal(t, int64(1), st.Calls)
	assert.Empty(t, st.PricedAs)
}

func TestRouterRecordedReply(t *testing.T) {
	// Microsoft Learn's model-router reply (fixtures/azure): gpt-5-mini
	// answered, with cached and reasoning tokens.
	var doc struct{ Data json.RawMessage }
	require.NoError(t, json.Unmarshal(readFixture(t, "aoai_chat_completion_model_router.doc.json"), &doc))
	m := newMock(t, func(*http.Request) *http.Response { return jsonResponse(200, string(doc.Data), nil) })
	p := newTestProvider(t, Config{Endpoint: "https://res.openai.azure.com", APIKey: "k"}, m)
	router := lookup(t, "azure-model-router")
	resp, err := p.Generate(context.Background(), hello(router))
	require.NoError(t, err)
	assert.Equal(t, "gpt-5-mini-2025-08-07", resp.ServedModel)
	u := llm.Usage{InputTokens: 3254, CachedInputTokens: 3200, OutputTokens: 163, ReasoningTokens: 128}
	assert.Equal(t, u, resp.Usage)
	// The fee on all 3,254 input tokens at $0.14/M, plus gpt-5-mini's
	// 54 uncached and 3,200 cached input and 163 output tokens.
	want := (3254*0.14 + 54*0.25 + 3200*0.025 + 163*2.00) / 1e6
	assert.InDelta(t, want, resp.Cost, 1e-12, fmt.Sprintf("%.8f", resp.Cost))
}
