package anthropic_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/registry"
)

// A provider configured in code, passed to a client. The emulator's Messages
// API route stands in for https://api.anthropic.com.
func Example() {
	srv := azuretest.NewServer(azuretest.WithAPIKeys("sk-ant-example"), azuretest.WithDeployment("claude-sonnet-4-5", ""))
	defer srv.Close()

	p, err := anthropic.New(anthropic.Config{APIKey: "sk-ant-example", BaseURL: srv.URL + "/anthropic"})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	client, err := llm.NewClient("claude-sonnet-4-5", llm.WithProviderInstance(p))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	resp, err := client.Generate(context.Background(), conversation.New().System("Be brief.").User("Hello, Claude"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Completion)
	fmt.Printf("%s, finish %q, %d+%d tokens, $%.6f\n", resp.Model, resp.FinishReason, resp.Usage.InputTokens, resp.Usage.OutputTokens, resp.Cost)
	// Output:
	// Echo: Hello, Claude
	// claude-sonnet-4-5, finish "stop", 13+5 tokens, $0.000114
}

// Streaming: text arrives as deltas; the last chunk carries the finish
// reason and the usage.
func ExampleProvider_Stream() {
	srv := azuretest.NewServer(azuretest.WithDeployment("claude-haiku-4-5", ""))
	defer srv.Close()
	p, err := anthropic.New(anthropic.Config{BaseURL: srv.URL + "/anthropic"}) // the emulator needs no key
	if err != nil {
		log.Fatal(err)
	}
	req := &llm.Request{Model: anthropic.Models()[8], Messages: conversation.New().User("Stream me").Messages()}
	var text strings.Builder
	for chunk, err := range p.Stream(context.Background(), req) {
		if err != nil {
			log.Fatal(err)
		}
		text.WriteString(chunk.Text)
		if chunk.FinishReason != "" {
			fmt.Printf("%q, finish %q, %d output tokens\n", text.String(), chunk.FinishReason, chunk.Usage.OutputTokens)
		}
	}
	// Output: "Echo: Stream me", finish "stop", 4 output tokens
}

// NewEndpoint reuses the serializer for another server speaking the
// Messages API: here a gateway that takes a bearer token and names models
// its own way.
func ExampleNewEndpoint() {
	srv := azuretest.NewServer(azuretest.WithBearerTokens("gateway-token"), azuretest.WithDeployment("team-claude", "claude-opus-4-5"))
	defer srv.Close()
	p, err := anthropic.NewEndpoint(anthropic.Endpoint{
		Name:    "my-gateway",
		BaseURL: srv.URL + "/anthropic",
		Authenticate: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer gateway-token")
			return nil
		},
		Redact: []string{"gateway-token"},
	})
	if err != nil {
		log.Fatal(err)
	}
	m := anthropic.Models()[4] // claude-opus-4-5
	m.Name = "team-claude"     // the gateway's name for it
	resp, err := p.Generate(context.Background(), &llm.Request{Model: m, Messages: conversation.New().User("Hi").Messages()})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Provider, resp.ServedModel, resp.Completion)
	// Output: my-gateway claude-opus-4-5 Echo: Hi
}

// The quota key under which a client paces a model (llm.QuotaKeyer): the
// server and the wire name.
func ExampleProvider_QuotaKey() {
	p, err := anthropic.New(anthropic.Config{APIKey: "sk-ant-example"})
	if err != nil {
		log.Fatal(err)
	}
	m, err := registry.Lookup("claude-sonnet-4-5")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.QuotaKey(m))
	// Output: https://api.anthropic.com#claude-sonnet-4-5
}
