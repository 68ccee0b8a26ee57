package azurefoundry

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestQuotaKeyNamesEndpointAndDeployment(t *testing.T) {
	p := newTestProvider(t, Config{Endpoint: testEndpoint + "/openai/", APIKey: "k", Deployments: map[string]string{"azure-gpt-4o": "prod-4o"}}, nil)
	assert.Equal(t, "https://my-resource.openai.azure.com#prod-4o", p.QuotaKey(lookup(t, "azure-gpt-4o")))
	assert.Equal(t, "https://my-resource.openai.azure.com#gpt-4o-mini", p.QuotaKey(lookup(t, "azure-gpt-4o-mini")))

	r := newTestProvider(t, Config{Regions: []Region{
		{Name: "eastus", Endpoint: "https://east.openai.azure.com", APIKey: "e"},
		{Name: "westus", Endpoint: "https://west.openai.azure.com", APIKey: "w", Deployments: map[string]string{"azure-gpt-4o": "gpt-4o-west"}},
	}}, nil)
	assert.Equal(t, "https://east.openai.azure.com#gpt-4o,https://west.openai.azure.com#gpt-4o-west", r.QuotaKey(lookup(t, "azure-gpt-4o")))

	custom := lookup(t, "azure-gpt-4o")
	custom.APIBase = "https://other.openai.azure.com"
	assert.Equal(t, "https://other.openai.azure.com#prod-4o", p.QuotaKey(custom), "a model's own APIBase, the deployment as configured")
}
