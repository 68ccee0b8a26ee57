package redispacing_test

import (
	"context"
	"fmt"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/pacing/redispacing"
)

// Each of four workers (pods, VMs) builds its client with a limiter on the
// same Redis and the deployment's whole quota: together they send at most
// 6,000 requests a minute to it, and a 429 seen by one pauses all four.
func ExampleNew() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	limiter, err := redispacing.New(ctx, rdb, redispacing.WithWorkers(4))
	if err != nil {
		log.Fatal(err) // Redis did not answer (or pass redispacing.WithOptional())
	}
	defer limiter.Close()
	client, err := llm.NewClient("azure-gpt-4o",
		llm.WithMaxRequestsPerMinute(6_000), llm.WithMaxTokensPerMinute(1_000_000),
		llm.WithLimiter(limiter))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	resp, err := client.Generate(ctx, conversation.New().User("Why is the sky blue?"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Completion)
}
