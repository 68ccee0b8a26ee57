package batch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// The whole flow against the Azure emulator: submit prompts to a Global
// Batch deployment, wait for the job, collect one result per prompt.
func Example() {
	srv := azuretest.NewServer(azuretest.WithAPIKeys("key"), azuretest.WithBatchDeployment("gpt-4o-mini-batch", "gpt-4o-mini"))
	defer srv.Close()
	// In production: azurefoundry.NewFromEnv, or the registered provider
	// (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY and
	// AZURE_BATCH_DEPLOYMENT_AZURE_GPT_4O_MINI=gpt-4o-mini-batch).
	p, err := azurefoundry.New(azurefoundry.Config{Endpoint: srv.URL, APIKey: "key",
		BatchDeployments: map[string]string{"azure-gpt-4o-mini": "gpt-4o-mini-batch"}})
	if err != nil {
		log.Fatal(err)
	}
	client, err := llm.NewClient("azure-gpt-4o-mini", llm.WithProviderInstance(p), llm.WithMaxNewTokens(100))
	if err != nil {
		log.Fatal(err)
	}
	bc := batch.New(client,
		batch.WithPollInterval(time.Millisecond), // a minute (the default) against Azure
		batch.WithLogger(slog.New(slog.DiscardHandler)))

	jobs := func(yield func(string, llm.Job) bool) {
		for i, q := range []string{"What is Go?", "What is Azure?", "What is a batch?"} {
			if !yield(fmt.Sprintf("q%d", i+1), llm.Job{Conversation: conversation.New().User(q)}) {
				return
			}
		}
	}
	ctx := context.Background()
	st := batch.NewState()
	if err := bc.Submit(ctx, st, jobs); err != nil {
		log.Fatal(err)
	}
	if _, err := bc.Wait(ctx, st, nil); err != nil {
		log.Fatal(err)
	}
	var results []batch.Result
	for r, err := range bc.Results(ctx, st) {
		if err != nil {
			log.Fatal(err)
		}
		results = append(results, r)
	}
	slices.SortFunc(results, func(a, b batch.Result) int { return a.Index - b.Index })
	for _, r := range results {
		fmt.Printf("%s: %s (batch price: %v)\n", r.ID, r.Response.Completion, r.Response.Cost > 0)
	}
	// Output:
	// q1: Echo: What is Go? (batch price: true)
	// q2: Echo: What is Azure? (batch price: true)
	// q3: Echo: What is a batch? (batch price: true)
}

// Responses API models go to batch jobs too: a Responses-only model
// (azure-o3-pro), or any model with llm.WithAPI(llm.APIResponses). Their
// lines are Responses API requests (url /v1/responses), in files and jobs
// of their own, and their results carry what the Responses API returns,
// such as a reasoning summary.
func Example_responsesAPI() {
	srv := azuretest.NewServer(azuretest.WithAPIKeys("key"), azuretest.WithBatchDeployment("o3-pro-batch", "o3-pro"))
	defer srv.Close()
	p, err := azurefoundry.New(azurefoundry.Config{Endpoint: srv.URL, APIKey: "key",
		BatchDeployments: map[string]string{"azure-o3-pro": "o3-pro-batch"}})
	if err != nil {
		log.Fatal(err)
	}
	client, err := llm.NewClient("azure-o3-pro", llm.WithProviderInstance(p), llm.WithReasoningSummary("auto"))
	if err != nil {
		log.Fatal(err)
	}
	bc := batch.New(client, batch.WithPollInterval(time.Millisecond), batch.WithLogger(slog.New(slog.DiscardHandler)))
	jobs := func(yield func(string, llm.Job) bool) {
		yield("q1", llm.Job{Conversation: conversation.New().User("Prove that there are infinitely many primes.")})
	}
	ctx := context.Background()
	st := batch.NewState()
	if err := bc.Submit(ctx, st, jobs); err != nil {
		log.Fatal(err)
	}
	if _, err := bc.Wait(ctx, st, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println("endpoint:", st.Parts[0].Endpoint)
	for r, err := range bc.Results(ctx, st) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("reply:", r.Response.Completion)
		fmt.Println("summary:", r.Response.ReasoningSummary)
		fmt.Println("reasoning tokens counted:", r.Response.Usage.ReasoningTokens > 0)
	}
	// Output:
	// endpoint: /v1/responses
	// reply: Echo: Prove that there are infinitely many primes.
	// summary: Reasoning about: Prove that there are infinitely many primes.
	// reasoning tokens counted: true
}

// A State persisted with WithJournal survives the process: a submission
// that stopped goes on from it, and its jobs can be tracked and collected
// by another process.
func ExampleWithJournal() {
	srv := azuretest.NewServer(azuretest.WithAPIKeys("key"), azuretest.WithBatchDeployment("gpt-4o-mini-batch", "gpt-4o-mini"))
	defer srv.Close()
	p, err := azurefoundry.New(azurefoundry.Config{Endpoint: srv.URL, APIKey: "key",
		BatchDeployments: map[string]string{"azure-gpt-4o-mini": "gpt-4o-mini-batch"}})
	if err != nil {
		log.Fatal(err)
	}
	client, err := llm.NewClient("azure-gpt-4o-mini", llm.WithProviderInstance(p))
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "batch-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "state.json")
	save := func(st *batch.State) error {
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		// Write a temporary file and rename it over the state, so that a
		// crash never leaves half a state.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			return err
		}
		return os.Rename(tmp, path)
	}
	bc := batch.New(client, batch.WithJournal(save), batch.WithFileLimits(2, 0), batch.WithLogger(slog.New(slog.DiscardHandler)))
	jobs := func(yield func(string, llm.Job) bool) {
		for i := range 5 {
			if !yield(fmt.Sprint(i), llm.Job{Conversation: conversation.New().User(fmt.Sprint("prompt ", i))}) {
				return
			}
		}
	}
	if err := bc.Submit(context.Background(), batch.NewState(), jobs); err != nil {
		log.Fatal(err)
	}

	// Later, maybe in another process: load the state and go on.
	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	var st batch.State
	if err := json.Unmarshal(data, &st); err != nil {
		log.Fatal(err)
	}
	// Submitting it again uploads and creates nothing more.
	if err := bc.Submit(context.Background(), &st, jobs); err != nil {
		log.Fatal(err)
	}
	fmt.Println("input files:", len(st.Parts), "jobs on the service:", len(srv.Batches()))
	// Output:
	// input files: 3 jobs on the service: 3
}

func ExampleParseStatus() {
	for _, s := range []string{"Validating", "in_progress", "completed", "canceled"} {
		st := batch.ParseStatus(s)
		fmt.Println(st, st.Terminal())
	}
	// Output:
	// validating false
	// in_progress false
	// completed true
	// cancelled true
}
