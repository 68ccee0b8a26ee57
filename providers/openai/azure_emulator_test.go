package openai_test

import (
	"net/url"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/internal/azureharness"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/providers/providertest"
	"github.com/deluge-go/deluge/registry"
)

// azureHarness runs the suite through NewFromClientConfig against the Azure
// emulator, as the azure-foundry provider will: classic deployment URLs with
// an api-version and an escaped deployment name, or the v1 route with the
// deployment as the body's model.
func azureHarness(classic bool) providertest.HarnessFunc {
	const key, wrong, deployment, embeddings = "azure-key-0123456789", "azure-wrong-9876543210", "my gpt-4o", "my embeddings"
	return func(t *testing.T, c providertest.Condition) (providertest.Target, bool) {
		srv := azuretest.NewServer(azureharness.Options(c, azuretest.WithAPIKeys(key), azuretest.WithDeployment(deployment, "gpt-4o"),
			azuretest.WithDeployment(embeddings, "text-embedding-3-small"))...)
		t.Cleanup(srv.Close)

		k := key
		if c == providertest.BadKey {
			k = wrong
		}
		cc := goopenai.DefaultConfig(k)
		cc.HTTPClient = srv.Client()
		if classic {
			cc.BaseURL = srv.URL
			cc.APIType = goopenai.APITypeAzure // api-key header
			cc.APIVersion = "2024-10-21"
			cc.AzureModelMapperFunc = url.PathEscape
		} else {
			cc.BaseURL = srv.URL + "/openai/v1" // key as a bearer token, as OpenAI clients send it
		}
		opts := openai.Options{Name: "azure-foundry", Redact: []string{k}, APIKey: k}
		if classic {
			opts.ResponsesAPIVersion = "2025-04-01-preview"
		}
		p, err := openai.NewFromClientConfig(cc, opts)
		if err != nil {
			t.Fatal(err)
		}
		m := registry.Model{ID: "azure-gpt-4o", Provider: "azure-foundry", Name: deployment, BaseModel: "gpt-4o"}
		em := registry.Model{ID: "azure-embeddings", Provider: "azure-foundry", Name: embeddings, BaseModel: "text-embedding-3-small",
			APISpec: registry.APISpecEmbeddings, Dimensions: 1536, SupportsDimensions: true, MaxInputs: openai.EmbeddingMaxInputs}
		if c == providertest.UnknownModel {
			m.Name, em.Name = "no such deployment", "no such embeddings"
		}
		return providertest.Target{Provider: p, Model: m, EmbeddingModel: em, Backend: azureharness.Backend{srv}, Secrets: []string{key, wrong}}, true
	}
}

func TestConformanceAzureEmulatorClassic(t *testing.T) {
	providertest.Run(t, providertest.WithAPIs(azureHarness(true), llm.APIAuto, llm.APIResponses))
}

func TestConformanceAzureEmulatorV1(t *testing.T) {
	providertest.Run(t, providertest.WithAPIs(azureHarness(false), llm.APIAuto, llm.APIResponses))
}
