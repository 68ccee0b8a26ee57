package azurefoundry_test

import (
	"context"
	"fmt"
	"log"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// Claude deployed in a Foundry resource: the same provider and credentials,
// the azure-claude-* catalog IDs. The emulator stands in for
// https://my-foundry.services.ai.azure.com and its /anthropic route.
func Example_claude() {
	srv := azuretest.NewServer(azuretest.WithAPIKeys("my-key"), azuretest.WithDeployment("claude-sonnet-4-5", ""))
	defer srv.Close()

	p, err := azurefoundry.New(azurefoundry.Config{Endpoint: srv.URL, APIKey: "my-key"})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	client, err := llm.NewClient("azure-claude-sonnet-4-5", llm.WithProviderInstance(p))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	resp, err := client.Generate(context.Background(), conversation.New().System("Be brief.").User("Hello, Claude"),
		llm.WithMaxNewTokens(256))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Completion)
	fmt.Printf("%s via %s, finish %q, %d+%d tokens, $%.6f\n", resp.Model, resp.Provider, resp.FinishReason,
		resp.Usage.InputTokens, resp.Usage.OutputTokens, resp.Cost)
	// Output:
	// Echo: Hello, Claude
	// azure-claude-sonnet-4-5 via azure-foundry, finish "stop", 13+5 tokens, $0.000114
}
