package cache_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/deluge-go/deluge/cache"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// reply is a response as a provider would return it.
func reply(text string) *llm.Response {
	return &llm.Response{
		Model:        "azure-gpt-4o",
		Completion:   text,
		Message:      conversation.Message{Role: conversation.RoleAssistant, Parts: []conversation.Part{conversation.Text(text)}},
		FinishReason: "stop",
		Usage:        llm.Usage{InputTokens: 12, OutputTokens: 1},
		Cost:         0.00004,
		Attempts:     1,
	}
}

func ExampleNewMemory() {
	ctx := context.Background()
	store := cache.NewMemory(1000)

	// The engine stores each successful response under the request's
	// key (llm.CacheKey: its fingerprint and the provider's identity)...
	key := (&llm.Request{Messages: conversation.New().User("Sky colour?").Messages()}).Fingerprint()
	if err := store.Put(ctx, key, reply("Blue.")); err != nil {
		fmt.Println(err)
		return
	}

	// ...and serves the same request from the store next time.
	resp, ok, err := store.Get(ctx, key)
	if err != nil || !ok {
		fmt.Println("miss", err)
		return
	}
	fmt.Println(resp.Completion, resp.Cached, resp.Cost)
	fmt.Printf("saved $%.5f\n", store.Stats().SavedCost)
	// Output:
	// Blue. true 4e-05
	// saved $0.00004
}

func ExampleOpenSQLite() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "deluge-cache-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "cache.db")

	// A first run stores a response and closes the file, which commits it.
	store, err := cache.OpenSQLite(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := store.Put(ctx, "fingerprint", reply("Paris.")); err != nil {
		fmt.Println(err)
	}
	if err := store.Close(); err != nil {
		fmt.Println(err)
	}

	// A later run (or another process) finds it.
	store, err = cache.OpenSQLite(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	resp, ok, err := store.Get(ctx, "fingerprint")
	fmt.Println(resp.Completion, ok, err, resp.Cached)
	// Output: Paris. true <nil> true
}

func ExampleSQLite_Flush() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "deluge-cache-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "cache.db")

	writer, _ := cache.OpenSQLite(path)
	defer writer.Close()
	reader, _ := cache.OpenSQLite(path)
	defer reader.Close()

	// Put returns once the response is queued; Flush waits for the commit,
	// after which every handle on the file sees it.
	_ = writer.Put(ctx, "k", reply("42"))
	if err := writer.Flush(ctx); err != nil {
		fmt.Println(err)
	}
	resp, ok, _ := reader.Get(ctx, "k")
	fmt.Println(ok, resp.Completion)
	st, _ := reader.Stats(ctx)
	fmt.Println(st.Entries, st.Hits)
	// Output:
	// true 42
	// 1 1
}

func ExampleDefaultPath() {
	path, err := cache.DefaultPath()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(filepath.Base(filepath.Dir(path)), filepath.Base(path))
	// Output: deluge cache.db
}
