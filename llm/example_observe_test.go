package llm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
)

// printer is an llm.Observer that prints what it sees.
type printer struct{}

func (printer) StartCall(ctx context.Context, c *llm.CallInfo) (context.Context, llm.CallObserver) {
	fmt.Println("call", c.Operation, c.Model.ID)
	return ctx, callPrinter{}
}

type callPrinter struct{}

func (callPrinter) StartAttempt(ctx context.Context, a *llm.AttemptInfo) (context.Context, llm.AttemptObserver) {
	fmt.Println("  attempt", a.Number)
	return ctx, attemptPrinter{}
}
func (callPrinter) Waited(reason string, d time.Duration) {}
func (callPrinter) End(e *llm.CallEnd) {
	fmt.Println("end: attempts", e.Attempts, "error", e.Err != nil)
}

type attemptPrinter struct{}

func (attemptPrinter) End(e *llm.AttemptEnd) {
	if e.Err != nil {
		fmt.Println("  failed:", llm.CodeOf(e.Err))
		return
	}
	fmt.Println("  succeeded")
}

// WithObserver hooks an observer into every call and attempt; package
// telemetry's records them as OpenTelemetry spans and metrics.
func ExampleWithObserver() {
	p := llmtest.New(llmtest.FailFirst(1, func(req *llm.Request) error {
		return llmtest.Error(req, llm.CodeUnavailable, 503, 0)
	}))
	client, _ := llm.NewClient("test-model", llm.WithProviderInstance(p), llm.WithObserver(printer{}),
		llm.WithRetryBackoff(time.Millisecond, time.Millisecond))
	_, _ = client.Generate(context.Background(), conversation.New().User("Hello"))
	// Output:
	// call chat test-model
	//   attempt 1
	//   failed: unavailable
	//   attempt 2
	//   succeeded
	// end: attempts 2 error false
}
