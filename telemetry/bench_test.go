package telemetry_test

import (
	"context"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/telemetry"
)

// instant is a zero-latency provider allocating its reply as a real one
// does (as llm's own benchmarks use), so the benchmarks measure the engine
// and the observer.
func instant() llm.Provider {
	return llm.ProviderFunc(func(_ context.Context, req *llm.Request) (*llm.Response, error) {
		return &llm.Response{Completion: "ok", FinishReason: "stop", ServedModel: "bench-model-2025-01-01",
			Usage: llm.Usage{InputTokens: 12, OutputTokens: 1}}, nil
	})
}

// BenchmarkGenerateObserved is the engine's cost per call with telemetry
// off (no observer: the default), with the observer over OpenTelemetry's
// no-op providers (what a program gets with telemetry.New() and no SDK
// installed), with the SDK recording metrics but sampling no span, and
// with the SDK recording every span (exported in batches to a discarding
// exporter) and the metrics.
func BenchmarkGenerateObserved(b *testing.B) {
	sampled := func(s sdktrace.Sampler) llm.Observer {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(s), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
		return telemetry.New(telemetry.WithTracerProvider(tp), telemetry.WithMeterProvider(mp))
	}
	for _, bc := range []struct {
		name string
		obs  func() llm.Observer
	}{
		{"off", nil},
		{"noop-providers", func() llm.Observer {
			return telemetry.New(telemetry.WithTracerProvider(tracenoop.NewTracerProvider()), telemetry.WithMeterProvider(metricnoop.NewMeterProvider()))
		}},
		{"sdk-metrics-unsampled", func() llm.Observer { return sampled(sdktrace.NeverSample()) }},
		{"sdk-sampled", func() llm.Observer { return sampled(sdktrace.AlwaysSample()) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := []llm.ClientOption{llm.WithProviderInstance(instant()), llm.WithMaxRequestsPerMinute(-1), llm.WithMaxTokensPerMinute(-1)}
			if bc.obs != nil {
				opts = append(opts, llm.WithObserver(bc.obs()))
			}
			c, err := llm.NewClient("bench-model", opts...)
			if err != nil {
				b.Fatal(err)
			}
			conv := conversation.New().User("What is the capital of France?")
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Generate(ctx, conv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
