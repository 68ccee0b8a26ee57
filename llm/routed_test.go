package llm_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/registry"
)

// A router model whose provider leaves pricing to the engine: the engine
// prices each reply at the routed model's prices plus the router's fee.
func TestRouterPricedByEngine(t *testing.T) {
	for _, m := range []registry.Model{
		{ID: "rtr-engine-router", Provider: llmtest.ProviderName, Router: true, InputCost: 1},
		{ID: "rtr-engine-small", Provider: llmtest.ProviderName, BaseModel: "rtr-small", InputCost: 2, OutputCost: 4},
	} {
		if _, err := registry.Lookup(m.ID); err != nil {
			require.NoError(t, registry.Register(m))
		}
	}
	p := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		resp, _ := llmtest.Echo(ctx, req, n)
		resp.ServedModel = "rtr-small-2025-01-01"
		if llmtest.LastUserText(req) == "unknown" {
			resp.ServedModel = "elsewhere"
		}
		return resp, nil
	})
	c, err := llm.NewClient("rtr-engine-router", append(fast(), llm.WithProviderInstance(p))...)
	require.NoError(t, err)
	small, _ := registry.Lookup("rtr-engine-small")
	router, _ := registry.Lookup("rtr-engine-router")

	resp, err := c.Generate(context.Background(), user("hello there"))
	require.NoError(t, err)
	assert.Equal(t, "rtr-small-2025-01-01", resp.RoutedModel)
	assert.InDelta(t, resp.Usage.Cost(router)+resp.Usage.Cost(small), resp.Cost, 1e-15)

	var cost float64
	for ch, err := range c.Stream(context.Background(), user("hello there")) {
		require.NoError(t, err)
		if ch.Usage != nil {
			cost = ch.Cost
		}
	}
	assert.InDelta(t, resp.Cost, cost, 1e-15, "a stream's usage chunk is priced alike")

	resp2, err := c.Generate(context.Background(), user("unknown"))
	require.NoError(t, err)
	assert.InDelta(t, resp2.Usage.Cost(router), resp2.Cost, 1e-15, "an unknown routed model: the fee alone")

	st := c.Stats().ByRoutedModel
	assert.Equal(t, int64(2), st["rtr-small-2025-01-01"].Calls)
	assert.Equal(t, "rtr-engine-small", st["rtr-small-2025-01-01"].PricedAs)
	assert.Equal(t, "rtr-engine-router", st["rtr-small-2025-01-01"].Router)
	assert.Equal(t, int64(1), st["elsewhere"].Calls)
	assert.Empty(t, st["elsewhere"].PricedAs)

	// A model that is not a router is not split.
	plain := newClient(t, llmtest.New())
	_, err = plain.Generate(context.Background(), user("x"))
	require.NoError(t, err)
	assert.Nil(t, plain.Stats().ByRoutedModel)
}
