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

// A model served only by the Responses API (o3-pro) needs no option: the
// provider sends it to {endpoint}/openai/v1/responses. The reasoning
// summary comes back with the reply.
func Example_responses() {
	srv := azuretest.NewServer(azuretest.WithAPIKeys("my-key"), azuretest.WithDeployment("o3-pro", ""))
	defer srv.Close()
	p, err := azurefoundry.New(azurefoundry.Config{Endpoint: srv.URL, APIKey: "my-key"})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	client, err := llm.NewClient("azure-o3-pro", llm.WithProviderInstance(p))
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Generate(context.Background(), conversation.New().User("Is 97 prime?"),
		llm.WithReasoningSummary("auto"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Completion)
	fmt.Println(resp.ReasoningSummary)
	fmt.Println(resp.Usage.ReasoningTokens, "reasoning tokens")
	// Output:
	// Echo: Is 97 prime?
	// Reasoning about: Is 97 prime?
	// 128 reasoning tokens
}

// Embeddings of several texts in one request, shortened to 8 dimensions.
func ExampleProvider_Embed() {
	srv := azuretest.NewServer(azuretest.WithAPIKeys("my-key"), azuretest.WithDeployment("text-embedding-3-small", ""))
	defer srv.Close()
	p, err := azurefoundry.New(azurefoundry.Config{Endpoint: srv.URL, APIKey: "my-key"})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	client, err := llm.NewClient("azure-text-embedding-3-small", llm.WithProviderInstance(p))
	if err != nil {
		log.Fatal(err)
	}
	out, err := client.Embed(context.Background(), []string{"alpha", "beta", "alpha"}, llm.WithDimensions(8))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(out.Vectors), "vectors of", len(out.Vectors[0]), "dimensions")
	fmt.Println(out.Requests, "request,", out.Cached, "input not sent,", out.Usage.InputTokens, "tokens")
	// Output:
	// 3 vectors of 8 dimensions
	// 1 request, 1 input not sent, 3 tokens
}
