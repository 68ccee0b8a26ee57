package azurefoundry

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/registry"
)

// Fine-tuned deployments need no code: a registry.Register call with the
// deployment's prices, the deployment named by Name or by an
// AZURE_DEPLOYMENT_<ID> variable, and the fine-tune's own model name
// (Azure's "<base>.ft-<id>") comes back as the served model.

// The fine-tuned model name as Azure gives it (Microsoft Learn,
// fine-tuning-deploy: "gpt-4o-mini-2024-07-18.ft-f8838e7c6d4a4cbe882a002815758510").
const fineTunedModel = "gpt-4o-mini-2024-07-18.ft-f8838e7c6d4a4cbe882a002815758510"

func registerOnce(t *testing.T, m registry.Model) registry.Model {
	t.Helper()
	if _, err := registry.Lookup(m.ID); err != nil {
		require.NoError(t, registry.Register(m))
	}
	return lookup(t, m.ID)
}

func TestFineTunedDeploymentEndToEnd(t *testing.T) {
	custom := registerOnce(t, registry.Model{
		ID: "acme-support-ft", Provider: ProviderName,
		Name:      "support-bot-ft", // a default deployment name, overridden below
		BaseModel: "gpt-4o-mini",
		// The fine-tune's token prices: on Azure those of the base model's
		// deployment type (the hourly hosting fee is not per call).
		InputCost: 0.165, CachedInputCost: 0.0825, OutputCost: 0.66,
		ContextWindow: 128_000, MaxOutputTokens: 16_384, SupportsTools: true, SupportsJSON: true,
	})
	// An OpenAI-style fine-tune ID works as well: any characters, mapped to
	// an environment variable by EnvKey.
	ftStyle := registerOnce(t, registry.Model{
		ID: "ft:gpt-4o-mini-2024-07-18:acme::abc123", Provider: ProviderName, BaseModel: "gpt-4o-mini",
		InputCost: 0.165, OutputCost: 0.66,
	})
	require.Equal(t, "FT_GPT_4O_MINI_2024_07_18_ACME__ABC123", EnvKey(ftStyle.ID))

	for _, apiVersion := range []string{"", "2024-10-21"} { // the v1 route and a dated api-version
		t.Run("api-version="+apiVersion, func(t *testing.T) {
			srv := azuretest.NewServer(azuretest.WithAPIKeys("k"),
				azuretest.WithDeployment("support-prod", fineTunedModel),
				azuretest.WithDeployment("ft-prod", fineTunedModel))
			t.Cleanup(srv.Close)
			clearAzureEnv(t)
			t.Setenv(EnvEndpoint, srv.URL)
			t.Setenv(EnvAPIKey, "k")
			t.Setenv(EnvAPIVersion, apiVersion)
			t.Setenv(EnvDeploymentType, "data-zone") // scales catalog prices only
			t.Setenv(EnvDeploymentPrefix+EnvKey(custom.ID), "support-prod")
			t.Setenv(EnvDeploymentPrefix+EnvKey(ftStyle.ID), "ft-prod")
			p, err := NewFromEnv()
			require.NoError(t, err)
			p.logger = quietLogger
			t.Cleanup(func() { p.Close() })

			for _, m := range []registry.Model{custom, ftStyle} {
				c, err := llm.NewClient(m.ID, llm.WithProviderInstance(p), llm.WithLogger(quietLogger))
				require.NoError(t, err)
				resp, err := c.Generate(context.Background(), conversation.New().User("Where is my order?"))
				require.NoError(t, err, m.ID)
				assert.Equal(t, azuretest.ExpectedReply("Where is my order?"), resp.Completion)
				assert.Equal(t, fineTunedModel, resp.ServedModel, "the fine-tune's own name comes back")
				assert.Empty(t, resp.RoutedModel)
				assert.InDelta(t, resp.Usage.Cost(m), resp.Cost, 1e-15, "registered prices, not scaled by the deployment type")

				var text string
				for ch, err := range c.Stream(context.Background(), conversation.New().User("Stream it")) {
					require.NoError(t, err)
					text += ch.Text
				}
				assert.Equal(t, azuretest.ExpectedReply("Stream it"), text)
			}
			// The requests reached the deployments the variables named.
			srv.Close() // Stats counts a request once its handler returns: final once Close returns
			st := srv.Stats()
			var byDeployment = map[string]int{}
			for _, a := range st.Arrivals {
				byDeployment[a.Deployment]++
			}
			assert.Equal(t, 2, byDeployment["support-prod"])
			assert.Equal(t, 2, byDeployment["ft-prod"])
		})
	}
}
