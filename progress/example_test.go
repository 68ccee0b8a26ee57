package progress_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/progress"
)

// A client that shows a bar on a terminal, and a line every ten seconds
// in a log.
func Example() {
	client, err := llm.NewClient("test-model",
		llm.WithProviderInstance(llmtest.New()),
		llm.WithProgressFunc(progress.Auto(os.Stderr)),
		llm.WithProgressInterval(progress.BarInterval))
	if err != nil {
		panic(err)
	}
	convs := []*conversation.Conversation{conversation.New().User("a"), conversation.New().User("b")}
	for _, r := range client.Process(context.Background(), convs) {
		fmt.Println(r.Response.Completion)
	}
	// Output:
	// echo: a
	// echo: b
}

// A Log fed by hand: a heartbeat line every interval, and the final state
// of a run that printed any.
func ExampleLog() {
	l := progress.NewLog(os.Stdout, 10*time.Second)
	for done := range 30 {
		l.Update(llm.ProgressInfo{Total: 30, Done: done, RequestsPerSecond: 1, Elapsed: time.Duration(done) * time.Second})
	}
	l.Update(llm.ProgressInfo{Total: 30, Done: 30, Succeeded: 30, RequestsPerSecond: 1, Cost: 0.25, Elapsed: 30 * time.Second, Final: true})
	// Output:
	// deluge: 10/30 (33.3%) · 1.0 req/s · 0 in flight · $0.0000 · 10s
	// deluge: 20/30 (66.7%) · 1.0 req/s · 0 in flight · $0.0000 · 20s
	// deluge: 30/30 (100.0%) · 1.0 req/s · 0 in flight · $0.2500 · 30s
}

func ExampleLine() {
	fmt.Println(progress.Line(llm.ProgressInfo{
		Total: 2000, Done: 1200, InFlight: 12, Limiter: "rpm",
		RequestsPerSecond: 16.5, Cost: 0.0123, Elapsed: 72 * time.Second,
	}))
	// Output:
	// deluge: 1200/2000 (60.0%) · 16.5 req/s · 12 in flight · limited by rpm · $0.0123 · 1m12s
}
