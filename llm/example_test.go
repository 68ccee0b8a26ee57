package llm_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/pacing"
	"github.com/deluge-go/deluge/registry"
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

func ExampleClient_ProcessJobs() {
	client, err := llm.NewClient("test-model",
		llm.WithProviderInstance(llmtest.New()),
		llm.WithMaxNewTokens(100)) // the default of every call
	if err != nil {
		panic(err)
	}
	jobs := func(yield func(int, llm.Job) bool) {
		_ = yield(0, llm.Job{Conversation: conversation.New().User("routed as usual")}) &&
			// This prompt goes to another model, with its own options.
			yield(1, llm.Job{
				Conversation: conversation.New().User("pinned"),
				Model:        "other-model",
				Options:      []llm.Option{llm.WithTemperature(0), llm.WithMaxNewTokens(10)},
			})
	}
	results := map[int]llm.Result{}
	for i, r := range client.ProcessJobs(context.Background(), jobs, llm.WithProgressTotal(2)) {
		results[i] = r // in completion order
	}
	for i := range 2 {
		r := results[i]
		fmt.Println(i, r.Response.Model, r.Response.Completion)
	}
	// Output:
	// 0 test-model echo: routed as usual
	// 1 other-model echo: pinned
}

func ExampleClient_Stats() {
	flaky := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		if n%2 == 1 { // every other call fails with a retryable 503
			return nil, llmtest.Error(req, llm.CodeUnavailable, 503, 0)
		}
		return llmtest.Echo(ctx, req, n)
	})
	client, err := llm.NewClient("test-model",
		llm.WithProviderInstance(flaky),
		llm.WithMaxConcurrency(1), // one at a time: a reproducible sequence
		llm.WithRetryBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		panic(err)
	}
	convs := []*conversation.Conversation{
		conversation.New().User("a"), conversation.New().User("b"), conversation.New().User("c"),
	}
	client.Process(context.Background(), convs)
	_, _ = client.Generate(context.Background(), conversation.New()) // invalid: never sent

	s := client.Stats()
	fmt.Println("requests:", s.Requests, "retries:", s.Retries)
	fmt.Println("successes:", s.Successes, "failures:", s.Failures, s.FailuresByCode)
	fmt.Println("tokens:", s.InputTokens > 0, s.OutputTokens > 0, "in flight:", s.InFlight)
	// Output:
	// requests: 6 retries: 3
	// successes: 3 failures: 1 map[invalid_request:1]
	// tokens: true true in flight: 0
}

// Embed computes the embeddings of many texts with an embeddings model:
// as few requests as the model allows, identical texts sent once, vectors
// in input order. (llmtest's fake stands in for a provider here; with
// azure-foundry, the model would be "azure-text-embedding-3-small".)
func ExampleClient_Embed() {
	registry.MustRegister(registry.Model{ID: "example-embeddings", Provider: "example", APISpec: registry.APISpecEmbeddings,
		InputCost: 0.02, MaxInputs: 2048, Dimensions: 8})
	client, err := llm.NewClient("example-embeddings", llm.WithProviderInstance(llmtest.New()))
	if err != nil {
		log.Fatal(err)
	}
	out, err := client.Embed(context.Background(), []string{"alpha", "beta", "alpha"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(out.Vectors), "vectors of", len(out.Vectors[0]), "dimensions")
	fmt.Println(out.Requests, "request;", out.Cached, "input was a repeat")
	fmt.Println(out.Vectors[0][0] == out.Vectors[2][0])
	// Output:
	// 3 vectors of 8 dimensions
	// 1 request; 1 input was a repeat
	// true
}

// WithAPI sends a model served by both wire APIs through the Responses
// API; the provider routes on Request.UsesResponses.
func ExampleWithAPI() {
	p := llm.ProviderFunc(func(_ context.Context, req *llm.Request) (*llm.Response, error) {
		return llmtest.TextResponse(req, fmt.Sprint("responses API: ", req.UsesResponses())), nil
	})
	client, err := llm.NewClient("test-model", llm.WithProviderInstance(p))
	if err != nil {
		log.Fatal(err)
	}
	for _, api := range []llm.API{llm.APIAuto, llm.APIResponses} {
		resp, err := client.Generate(context.Background(), conversation.New().User("hi"), llm.WithAPI(api))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(api, "→", resp.Completion)
	}
	// Output:
	// auto → responses API: false
	// responses → responses API: true
}

// Two clients told the same deployment quota share one limiter: together
// they pace at the quota, and a 429 seen by one pauses both. Stats.Pace
// says what each model is paced at.
func ExampleWithLimiter() {
	shared := pacing.NewLocal() // in memory; a shared store paces processes together
	var clients []*llm.Client
	for range 2 {
		c, err := llm.NewClient("test-model",
			llm.WithProviderInstance(llmtest.New()),
			llm.WithMaxRequestsPerMinute(6_000), // the deployment's quota
			llm.WithMaxTokensPerMinute(1_000_000),
			llm.WithLimiter(shared))
		if err != nil {
			panic(err)
		}
		clients = append(clients, c)
	}
	if _, err := clients[0].Generate(context.Background(), conversation.New().User("hi")); err != nil {
		panic(err)
	}
	p := clients[1].Stats().Pace[0]
	fmt.Println(p.Model, "configured:", p.Configured.RequestsPerMinute, "rpm; lowered:", p.Lowered())
	// Output:
	// test-model configured: 6000 rpm; lowered: false
}
