package llmtest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
)

// A client over the fake, retrying a scripted 429 before the echo.
func Example() {
	fake := llmtest.New(llmtest.FailFirst(1, func(req *llm.Request) error {
		return llmtest.Error(req, llm.CodeRateLimited, 429, time.Millisecond)
	}))
	client, err := llm.NewClient("test-model", llm.WithProviderInstance(fake))
	if err != nil {
		panic(err)
	}
	resp, err := client.Generate(context.Background(), conversation.New().User("hi"))
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Completion, "after", resp.Attempts, "attempts;", fake.Calls(), "calls")
	// Output:
	// echo: hi after 2 attempts; 2 calls
}

// The fake embeds too: deterministic unit vectors (Vector), usage of the
// inputs' token estimates; EmbedReply replaces the answer.
func ExampleProvider_Embed() {
	fake := llmtest.New()
	resp, err := fake.Embed(context.Background(), &llm.EmbedRequest{Inputs: []string{"alpha", "beta"}, Dimensions: 4})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(resp.Vectors), len(resp.Vectors[0]), resp.Usage.InputTokens)
	fmt.Println(resp.Vectors[1][0] == llmtest.Vector("beta", 4)[0])
	// Output:
	// 2 4 3
	// true
}
