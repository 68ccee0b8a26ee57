package registry_test

import (
	"fmt"

	"github.com/deluge-go/deluge/registry"
)

func ExampleRegister() {
	// An Azure deployment of a fine-tuned model, callable as "my-finetune".
	err := registry.Register(registry.Model{
		ID:         "my-finetune",
		Provider:   "azure-foundry",
		Name:       "ft-gpt-4o-mini-support", // the deployment name
		BaseModel:  "gpt-4o-mini",
		APIBase:    "https://my-resource.openai.azure.com",
		InputCost:  0.3,
		OutputCost: 1.2,
	})
	fmt.Println(err)
	m, _ := registry.Lookup("my-finetune")
	fmt.Println(m.Name)
	// Output:
	// <nil>
	// ft-gpt-4o-mini-support
}

func ExampleLookup() {
	registry.MustRegister(registry.Model{ID: "example-gpt-4o", Provider: "openai"})
	_, err := registry.Lookup("example-gpt4o")
	fmt.Println(err)
	// Output: registry: model not found: "example-gpt4o" (did you mean "example-gpt-4o"?)
}

func ExampleModel_Cost() {
	m := registry.Model{InputCost: 2.50, CachedInputCost: 1.25, OutputCost: 10}
	// 2,000 prompt tokens (500 of them cached) and 300 completion tokens.
	fmt.Printf("$%.6f\n", m.Cost(2000, 500, 300))
	// Output: $0.007375
}

// Twin is how llm.WithProvider finds a model served by another provider:
// the provider's own catalog entry, whatever else a program registered.
func ExampleTwin() {
	registry.MustRegisterCatalog(registry.Model{ID: "ex-cloud-gpt", Provider: "ex-cloud", BaseModel: "ex-gpt"})
	registry.MustRegister(registry.Model{ID: "my-gpt", Provider: "ex-cloud", BaseModel: "ex-gpt", Name: "my-deployment"})
	m, err := registry.Twin("ex-cloud", "ex-gpt")
	if err != nil {
		panic(err)
	}
	fmt.Println(m.ID, registry.IsCatalog(m.ID), registry.IsCatalog("my-gpt"))
	// Output:
	// ex-cloud-gpt true false
}

// A provider package registers its catalog at init with AddCatalog; a
// model the program registered first under the same ID keeps its entry.
func ExampleAddCatalog() {
	registry.MustRegister(registry.Model{ID: "ex-mini", Provider: "ex-provider", InputCost: 0.10}) // the program's price
	registry.AddCatalog(
		registry.Model{ID: "ex-mini", Provider: "ex-provider", InputCost: 0.15},
		registry.Model{ID: "ex-large", Provider: "ex-provider", InputCost: 2.50},
	)
	for _, id := range []string{"ex-mini", "ex-large"} {
		m, _ := registry.Lookup(id)
		fmt.Println(id, m.InputCost, registry.IsCatalog(id))
	}
	// Output:
	// ex-mini 0.1 false
	// ex-large 2.5 true
}
