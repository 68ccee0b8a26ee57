package azurefoundry_test

import (
	"context"
	"fmt"
	"log"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/registry"
)

// A provider configured in code, passed to a client. The emulator stands in
// for https://my-resource.openai.azure.com.
func Example() {
	srv := azuretest.NewServer(azuretest.WithAPIKeys("my-key"))
	defer srv.Close()

	p, err := azurefoundry.New(azurefoundry.Config{
		Endpoint: srv.URL, // https://my-resource.openai.azure.com
		APIKey:   "my-key",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	client, err := llm.NewClient("azure-gpt-4o", llm.WithProviderInstance(p))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	resp, err := client.Generate(context.Background(), conversation.New().User("Hello!"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Completion)
	fmt.Printf("%s via %s, %d+%d tokens, $%.6f\n", resp.Model, resp.Provider, resp.Usage.InputTokens, resp.Usage.OutputTokens, resp.Cost)
	// Output:
	// Echo: Hello!
	// azure-gpt-4o via azure-foundry, 8+3 tokens, $0.000050
}

// Two regional resources sharing the traffic 70/30. A region answering 429
// rests for its retry-after and the call moves to the other one.
func ExampleRegion() {
	east := azuretest.NewServer(azuretest.WithAPIKeys("east-key"),
		azuretest.WithFaults(azuretest.Faults{Rate429: 1})) // eastus is out of quota for now
	defer east.Close()
	west := azuretest.NewServer(azuretest.WithAPIKeys("west-key"))
	defer west.Close()

	p, err := azurefoundry.New(azurefoundry.Config{Regions: []azurefoundry.Region{
		{Name: "eastus", Endpoint: east.URL, APIKey: "east-key", Weight: 0.7},
		{Name: "westus", Endpoint: west.URL, APIKey: "west-key", Weight: 0.3},
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	m, _ := registry.Lookup("azure-gpt-4o-mini")
	for range 3 {
		resp, err := p.Generate(context.Background(), &llm.Request{Model: m, Messages: conversation.New().User("Hi").Messages()})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(resp.Region, resp.Completion)
	}
	// Output:
	// westus Echo: Hi
	// westus Echo: Hi
	// westus Echo: Hi
}

// A model registered by hand: a fine-tuned or custom-named deployment on a
// resource of its own, with the prices you pay for it.
func Example_customDeployment() {
	srv := azuretest.NewServer(azuretest.WithDeployment("my-ft-deployment", "gpt-4o-mini-2024-07-18"))
	defer srv.Close()

	ft := registry.Model{
		ID:         "my-fine-tuned-4o-mini",
		Provider:   azurefoundry.ProviderName,
		Name:       "my-ft-deployment", // the deployment name
		BaseModel:  "gpt-4o-mini",
		APIBase:    srv.URL, // https://my-other-resource.openai.azure.com
		InputCost:  0.33,
		OutputCost: 1.32,
	}
	if _, err := registry.Lookup(ft.ID); err != nil { // once per process
		registry.MustRegister(ft)
	}
	// The emulator needs no key; a real resource would take the provider's
	// key, or one named by the model's APIKeyEnvVar.
	p, err := azurefoundry.New(azurefoundry.Config{Endpoint: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	client, err := llm.NewClient("my-fine-tuned-4o-mini", llm.WithProviderInstance(p))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	resp, err := client.Generate(context.Background(), conversation.New().User("Hello!"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Completion, resp.ServedModel)
	// Output:
	// Echo: Hello! gpt-4o-mini-2024-07-18
}

// Printing a Config never reveals its secrets.
func ExampleConfig_String() {
	cfg := azurefoundry.Config{
		Endpoint:       "https://my-resource.openai.azure.com",
		APIKey:         "0123456789abcdef",
		APIVersion:     "2024-10-21",
		DeploymentType: azurefoundry.DataZone,
	}
	fmt.Println(cfg)
	// Output:
	// azurefoundry.Config{Endpoint: "https://my-resource.openai.azure.com", APIVersion: "2024-10-21", Auth: api-key [REDACTED], DeploymentType: data-zone}
}

func ExampleParseDeploymentType() {
	for _, s := range []string{"Global Standard", "DataZone", "batch"} {
		t, err := azurefoundry.ParseDeploymentType(s)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: calls ×%.2f, batch jobs ×%.2f\n", t, t.Multiplier(), t.BatchMultiplier())
	}
	// Output:
	// global-standard: calls ×1.00, batch jobs ×0.50
	// data-zone: calls ×1.10, batch jobs ×0.55
	// global-batch: calls ×1.00, batch jobs ×0.50
}

func ExampleEnvKey() {
	fmt.Println(azurefoundry.EnvDeploymentPrefix + azurefoundry.EnvKey("azure-gpt-4.1-mini"))
	// Output:
	// AZURE_DEPLOYMENT_AZURE_GPT_4_1_MINI
}

func ExampleValidateResourceName() {
	fmt.Println(azurefoundry.ValidateResourceName("my-resource"))
	fmt.Println(azurefoundry.ValidateResourceName("my_res!"))
	// Output:
	// <nil>
	// resource name "my_res!" contains '_', which is not allowed: Azure resource names are 2 to 64 letters, digits and hyphens, starting and ending with a letter or digit; for a full URL set AZURE_OPENAI_ENDPOINT instead
}

// A batch job's requests cost half the synchronous price; a synchronous
// call is priced at the synchronous rate whatever the deployment type.
func ExampleBatchCost() {
	m, err := registry.Lookup("azure-gpt-4o")
	if err != nil {
		log.Fatal(err)
	}
	u := llm.Usage{InputTokens: 1_000_000, OutputTokens: 100_000}
	fmt.Printf("synchronous: $%.2f\n", u.Cost(m)*azurefoundry.GlobalBatch.Multiplier())
	fmt.Printf("batch job:   $%.2f\n", azurefoundry.BatchCost(m, u, azurefoundry.GlobalBatch))
	// Output:
	// synchronous: $3.50
	// batch job:   $1.75
}
