// Package registry is deluge's catalog of models: pure data describing each
// model's ID, provider, wire name, prices and capabilities.
//
// Providers register their catalogs at init; users add their own [Model]
// entries (fine-tunes, Azure deployments, any OpenAI-compatible server)
// with [Register] or [MustRegister], and find them with [Lookup]:
//
//	registry.MustRegister(registry.Model{
//		ID:        "my-gpt4o",
//		Provider:  "azure-foundry",
//		Name:      "my-deployment",
//		BaseModel: "gpt-4o",
//		APIBase:   "https://my-resource.openai.azure.com",
//	})
//
// The registry is safe for concurrent use. It imports only the standard
// library, so it can be read without loading any provider.
package registry
