package llm_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/registry"
)

// A batch stopped gracefully: once drain is closed, nothing new is sent;
// the prompts not sent say so, and can be sent another time. (In a
// program, drain is the Done channel of a context canceled by the first
// Ctrl-C: signal.NotifyContext.)
func ExampleWithDrain() {
	p := llmtest.New()
	p.Latency = 50 * time.Millisecond
	client, err := llm.NewClient("test-model", llm.WithProviderInstance(p),
		llm.WithMaxRequestsPerMinute(600), // 10 a second: the rest of the batch queues
		llm.WithMaxConcurrency(4))
	if err != nil {
		panic(err)
	}
	drain := make(chan struct{})
	jobs := func(yield func(int, llm.Job) bool) {
		for i := range 1000 {
			if !yield(i, llm.Job{Conversation: conversation.New().User(fmt.Sprint("prompt ", i))}) {
				return
			}
		}
	}
	time.AfterFunc(300*time.Millisecond, func() { close(drain) })
	var answered, notSent int
	for _, r := range client.ProcessJobs(context.Background(), jobs, llm.WithDrain(drain)) {
		switch {
		case r.Err == nil:
			answered++
		case errors.Is(r.Err, llm.ErrDrained):
			notSent++ // send it next time
		}
	}
	fmt.Println("every request sent was answered:", answered == p.Calls())
	fmt.Println("some prompts were not sent:", notSent > 0)
	fmt.Println("the input was left unread:", answered+notSent < 1000)
	// Output:
	// every request sent was answered: true
	// some prompts were not sent: true
	// the input was left unread: true
}

// A provider that serves a model from somewhere the request does not name
// (an endpoint, a deployment) says so with CacheIdentity, and the cache
// key changes with it.
func ExampleCacheKey() {
	req := &llm.Request{Messages: conversation.New().User("Hello!").Messages()}
	a := llm.CacheKey(endpoint{llmtest.New(), "https://eastus.example.com|gpt-4o"}, req)
	b := llm.CacheKey(endpoint{llmtest.New(), "https://westus.example.com|gpt-4o"}, req)
	fmt.Println(len(a), a == b, a == req.Fingerprint())
	// Output:
	// 64 false false
}

// endpoint is a provider with a CacheIdentity.
type endpoint struct {
	llm.Provider
	where string
}

func (e endpoint) CacheIdentity(registry.Model) string { return e.where }
