package rediscache_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/deluge-go/deluge/cache/rediscache"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// A cache on Redis, shared by every process of a job, bounded to 100,000
// replies and 512 MiB, whose entries expire after 30 days.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	store, err := rediscache.New(rdb,
		rediscache.WithTTL(30*24*time.Hour),
		rediscache.WithMaxEntries(100_000),
		rediscache.WithMaxBytes(512<<20))
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := llm.NewClient("azure-gpt-4o", llm.WithCache(store))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	resp, err := client.Generate(context.Background(), conversation.New().User("Why is the sky blue?"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Completion, resp.Cached) // Cached: answered from Redis
}
