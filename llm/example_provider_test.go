package llm_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// shouter is a provider: one method that turns a Request into a Response.
// A real one speaks an HTTP API here (one request per call: the Client
// retries, paces and caches), maps failures to *llm.Error with a Code, and
// may implement llm.Streamer and llm.Closer too.
type shouter struct{ exclaim string }

func (s *shouter) Generate(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, &llm.Error{Code: llm.CodeOf(err), Provider: "shouter", Model: req.Model.ID, Err: err}
	}
	last := req.Messages[len(req.Messages)-1].Text()
	text := strings.ToUpper(last) + s.exclaim
	return &llm.Response{
		Model:        req.Model.ID,
		Provider:     "shouter",
		Completion:   text,
		Message:      conversation.Message{Role: conversation.RoleAssistant, Parts: []conversation.Part{conversation.Text(text)}},
		FinishReason: "stop",
		Usage:        llm.Usage{InputTokens: req.EstimateInputTokens(), OutputTokens: len(text) / 4},
	}, nil
}

// A provider package registers itself and its models when imported, as a
// database/sql driver does; open runs the first time a client needs the
// provider, so it is where a real one reads its environment (keys,
// endpoints) and reports what is missing.
func init() {
	llm.RegisterProvider("shouter", func() (llm.Provider, error) {
		return &shouter{exclaim: "!"}, nil
	})
	registry.MustRegister(registry.Model{
		ID:         "shouter-1",
		Provider:   "shouter",
		BaseModel:  "shouter-1",
		InputCost:  1, // USD per million tokens
		OutputCost: 2,
	})
}

// Writing and registering a provider. A program imports the provider's
// package (for its init) and names a model; NewClient finds the provider
// through the model.
func Example_provider() {
	client, err := llm.NewClient("shouter-1")
	if err != nil {
		panic(err)
	}
	resp, err := client.Generate(context.Background(), conversation.New().User("hello"))
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Completion, resp.Provider, resp.Cost > 0)
	// Output:
	// HELLO! shouter true
}
