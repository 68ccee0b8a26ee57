package llm_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
)

func ExampleClient_Generate() {
	// llmtest.New is an in-memory provider that echoes; with a real one
	// (a blank import of providers/azurefoundry) NewClient("azure-gpt-4o")
	// is all it takes.
	client, err := llm.NewClient("test-model", llm.WithProviderInstance(llmtest.New()))
	if err != nil {
		panic(err)
	}
	resp, err := client.Generate(context.Background(),
		conversation.New().System("Be brief.").User("Hello!"),
		llm.WithTemperature(0))
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Completion)
	fmt.Println("attempts:", resp.Attempts)
	// Output:
	// echo: Hello!
	// attempts: 1
}

func ExampleClient_Stream() {
	client, err := llm.NewClient("test-model", llm.WithProviderInstance(llmtest.New()))
	if err != nil {
		panic(err)
	}
	for chunk, err := range client.Stream(context.Background(), conversation.New().User("one two three")) {
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Printf("%q\n", chunk.Text)
	}
	// Output:
	// "echo:"
	// " one"
	// " two"
	// " three"
	// ""
}

func ExampleClient_Process() {
	client, err := llm.NewClient("test-model",
		llm.WithProviderInstance(llmtest.New()),
		llm.WithMaxRequestsPerMinute(6000), // paced evenly: 100 a second
		llm.WithMaxConcurrency(10))
	if err != nil {
		panic(err)
	}
	convs := []*conversation.Conversation{
		conversation.New().User("first"),
		conversation.New().User("second"),
		conversation.New().User("third"),
	}
	for _, r := range client.Process(context.Background(), convs) {
		if r.Err != nil {
			fmt.Println(r.Index, "failed:", r.Err)
			continue
		}
		fmt.Println(r.Index, r.Response.Completion)
	}
	s := client.Stats()
	fmt.Println("requests:", s.Requests, "successes:", s.Successes)
	// Output:
	// 0 echo: first
	// 1 echo: second
	// 2 echo: third
	// requests: 3 successes: 3
}

func ExampleClient_ProcessSeq() {
	client, err := llm.NewClient("test-model", llm.WithProviderInstance(llmtest.New()))
	if err != nil {
		panic(err)
	}
	// Any iterator works: lines of a file, rows of a database. Prompts are
	// pulled only as fast as the client can send them.
	prompts := func(yield func(int, *conversation.Conversation) bool) {
		for i, word := range strings.Fields("alpha beta gamma") {
			if !yield(i, conversation.New().User(word)) {
				return
			}
		}
	}
	results := make([]string, 3)
	for i, r := range client.ProcessSeq(context.Background(), prompts) {
		if r.Err == nil {
			results[i] = r.Response.Completion // results arrive in completion order
		}
	}
	fmt.Println(strings.Join(results, ", "))
	// Output:
	// echo: alpha, echo: beta, echo: gamma
}

func ExampleCodeOf() {
	// A provider that rejects every prompt, as Azure's content filter does.
	filtered := llm.ProviderFunc(func(_ context.Context, req *llm.Request) (*llm.Response, error) {
		return nil, llmtest.Error(req, llm.CodeContentFiltered, 400, 0)
	})
	client, err := llm.NewClient("test-model", llm.WithProviderInstance(filtered))
	if err != nil {
		panic(err)
	}
	_, err = client.Generate(context.Background(), conversation.New().User("something nasty"))
	fmt.Println(errors.Is(err, llm.ErrContentFiltered), llm.CodeOf(err))
	fmt.Println("attempts:", client.Stats().Requests) // never retried
	// Output:
	// true content_filtered
	// attempts: 1
}

func ExampleWithModelWeights() {
	client, err := llm.NewClient("primary",
		llm.WithProviderInstance(llmtest.New()),
		// Three prompts in four go to "primary"; a retry after a 429 or a
		// 5xx may move to the other; "standby" (weight 0) only takes
		// over when the others fail.
		llm.WithModelWeights(map[string]float64{"primary": 3, "secondary": 1, "standby": 0}),
		llm.WithModelLimits("secondary", llm.Limits{RequestsPerMinute: 100}),
		llm.WithMaxAttempts(3),
		llm.WithRequestTimeout(10*time.Second),
	)
	if err != nil {
		panic(err)
	}
	for _, m := range client.Models() {
		fmt.Println(m.ID)
	}
	// Output:
	// primary
	// secondary
	// standby
}
