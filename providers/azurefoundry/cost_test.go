package azurefoundry

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// TestAcceptanceStreamDeploymentTypeCost: a stream costs what the same
// call costs through Generate, at the deployment type's prices, not the
// catalog's Global Standard price: the usage chunk carries the provider's
// cost, the Client keeps it, and Stats counts it.
func TestAcceptanceStreamDeploymentTypeCost(t *testing.T) {
	m := lookup(t, "azure-gpt-4o")
	for typ, mult := range map[string]float64{"global-standard": 1, "data-zone": 1.1, "global-batch": 1} {
		t.Run(typ, func(t *testing.T) {
			c, _ := envClient(t, map[string]string{EnvDeploymentType: typ})
			var (
				usage *llm.Usage
				cost  float64
			)
			for ch, err := range c.Stream(context.Background(), conversation.New().User("Stream this reply please")) {
				require.NoError(t, err)
				if ch.Usage != nil {
					usage, cost = ch.Usage, ch.Cost
				}
			}
			require.NotNil(t, usage, "the emulator's stream reports usage")
			catalog := usage.Cost(m)
			require.Positive(t, catalog)
			want := catalog * mult
			assert.InDelta(t, want, cost, 1e-12, "the usage chunk's cost")
			assert.InDelta(t, want, c.Stats().Cost, 1e-12, "Stats counts the deployment type's price")

			// Generate prices the same call the same way.
			resp, err := c.Generate(context.Background(), conversation.New().User("Stream this reply please"))
			require.NoError(t, err)
			require.Equal(t, *usage, resp.Usage)
			assert.InDelta(t, cost, resp.Cost, 1e-12)
		})
	}
}

// TestStreamRegionDeploymentTypeCost: with regions, the usage chunk is
// priced at the deployment type of the region that served the stream.
func TestStreamRegionDeploymentTypeCost(t *testing.T) {
	east := azuretest.NewServer(azuretest.WithAPIKeys("k"), azuretest.WithRegion("East US"))
	west := azuretest.NewServer(azuretest.WithAPIKeys("k"), azuretest.WithRegion("Sweden Central"))
	t.Cleanup(east.Close)
	t.Cleanup(west.Close)
	p := newTestProvider(t, Config{APIKey: "k", Regions: []Region{
		{Name: "eastus", Endpoint: east.URL, Weight: 1},
		{Name: "swedencentral", Endpoint: west.URL, Weight: 1, DeploymentType: DataZone},
	}}, nil)
	r := 0.0
	p.rand = func() float64 { return r }
	m := lookup(t, "azure-gpt-4o")
	for _, tc := range []struct {
		rand   float64
		region string
		mult   float64
	}{{0, "eastus", 1}, {0.99, "swedencentral", 1.1}} {
		r = tc.rand
		chunks, _, err := collect(p.Stream(context.Background(), hello(m)))
		require.NoError(t, err)
		require.NotEmpty(t, chunks)
		assert.Equal(t, tc.region, chunks[0].Region)
		var priced int
		for _, ch := range chunks {
			if ch.Usage == nil {
				assert.Zero(t, ch.Cost, "only the usage chunk is priced")
				continue
			}
			priced++
			assert.InDelta(t, ch.Usage.Cost(m)*tc.mult, ch.Cost, 1e-12, "region %s", tc.region)
		}
		assert.Equal(t, 1, priced, "one usage chunk")
	}
}
