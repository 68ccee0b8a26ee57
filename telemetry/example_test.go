package telemetry_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/telemetry"
)

// A client observed by telemetry: each call is a span, each attempt a
// child span. A program would install an exporting SDK instead of the
// recorder (see docs/observability.md), or rely on the global providers:
// telemetry.New() with no options.
func Example() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())

	client, err := llm.NewClient("test-model",
		llm.WithProviderInstance(llmtest.New()), // an in-memory provider
		llm.WithObserver(telemetry.New(telemetry.WithTracerProvider(tp))))
	if err != nil {
		panic(err)
	}
	if _, err := client.Generate(context.Background(), conversation.New().User("Hello")); err != nil {
		panic(err)
	}
	for _, s := range spans.Ended() {
		fmt.Println(s.Name())
	}
	// Output:
	// deluge.attempt
	// chat test-model
}
