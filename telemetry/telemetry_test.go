package telemetry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/deluge-go/deluge/cache"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/registry"
	"github.com/deluge-go/deluge/telemetry"
)

// rig is a client over the emulator, observed by a telemetry.Observer
// that records into the SDK's in-memory span recorder and manual reader.
type rig struct {
	srv    *azuretest.Server
	client *llm.Client
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
}

func newRig(t *testing.T, emu []azuretest.Option, tel []telemetry.Option, opts ...llm.ClientOption) *rig {
	t.Helper()
	r := &rig{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	r.srv = azuretest.NewServer(emu...)
	t.Cleanup(r.srv.Close)
	p, err := azurefoundry.New(azurefoundry.Config{Endpoint: r.srv.URL, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	obs := telemetry.New(append([]telemetry.Option{telemetry.WithTracerProvider(tp), telemetry.WithMeterProvider(mp)}, tel...)...)
	base := []llm.ClientOption{llm.WithProviderInstance(p), llm.WithObserver(obs), llm.WithLogger(quiet),
		llm.WithMaxRequestsPerMinute(600_000), llm.WithMaxTokensPerMinute(-1), llm.WithRetryBackoff(time.Millisecond, 2*time.Millisecond)}
	c, err := llm.NewClient("azure-gpt-4o", append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	r.client = c
	return r
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// split returns the call spans and the attempt spans by parent span ID.
func split(spans []sdktrace.ReadOnlySpan) (calls []sdktrace.ReadOnlySpan, attempts map[trace.SpanID][]sdktrace.ReadOnlySpan) {
	attempts = map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if s.Name() == "deluge.attempt" {
			attempts[s.Parent().SpanID()] = append(attempts[s.Parent().SpanID()], s)
		} else {
			calls = append(calls, s)
		}
	}
	return calls, attempts
}

func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, telemetry.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// sumInt adds the points of an int counter whose attributes include want.
func sumInt(t *testing.T, m metricdata.Metrics, want ...attribute.KeyValue) int64 {
	t.Helper()
	s, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is %T", m.Name, m.Data)
	var n int64
	for _, p := range s.DataPoints {
		if has(p.Attributes, want) {
			n += p.Value
		}
	}
	return n
}

func has(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

func TestBatchWithRetries(t *testing.T) {
	// A fifth of the requests fail with 500 and a fifth with 429 (a 5 ms
	// retry-after): the batch needs retries, and every prompt succeeds.
	r := newRig(t, []azuretest.Option{azuretest.WithSeed(7),
		azuretest.WithFaults(azuretest.Faults{Rate500: 0.2, Rate429: 0.2, RetryAfter: 5 * time.Millisecond})},
		nil, llm.WithMaxAttempts(20), llm.WithMaxConcurrency(4))
	const n = 24
	convs := make([]*conversation.Conversation, n)
	for i := range convs {
		convs[i] = conversation.New().User(fmt.Sprintf("prompt number %d", i))
	}
	results := r.client.Process(context.Background(), convs, llm.WithMaxNewTokens(50))
	for _, res := range results {
		require.NoError(t, res.Err)
	}
	st := r.client.Stats()
	arrivals := r.srv.Stats().Arrivals
	require.Greater(t, st.Retries, int64(0), "the faults made retries")
	require.Equal(t, int64(len(arrivals)), st.Requests)

	// Spans: one call span per prompt, its attempts below it.
	calls, attempts := split(r.spans.Ended())
	require.Len(t, calls, n)
	total, failed := 0, map[string]int{}
	for _, c := range calls {
		a := attrs(c)
		assert.Equal(t, "chat gpt-4o", c.Name())
		assert.Equal(t, trace.SpanKindClient, c.SpanKind())
		assert.Equal(t, "chat", a["gen_ai.operation.name"].AsString())
		assert.Equal(t, "azure.ai.openai", a["gen_ai.provider.name"].AsString())
		assert.Equal(t, "gpt-4o", a["gen_ai.request.model"].AsString())
		assert.Equal(t, "gpt-4o-2024-11-20", a["gen_ai.response.model"].AsString())
		assert.Equal(t, int64(50), a["gen_ai.request.max_tokens"].AsInt64())
		assert.Equal(t, []string{"stop"}, a["gen_ai.response.finish_reasons"].AsStringSlice())
		assert.Positive(t, a["gen_ai.usage.input_tokens"].AsInt64())
		assert.Positive(t, a["deluge.cost.usd"].AsFloat64())
		assert.Equal(t, codes.Unset, c.Status().Code)
		_, captured := a["gen_ai.input.messages"]
		assert.False(t, captured, "no content without WithContentCapture")

		kids := attempts[c.SpanContext().SpanID()]
		require.NotEmpty(t, kids)
		assert.Equal(t, int64(len(kids)), a["deluge.attempts"].AsInt64(), "deluge.attempts counts the attempt spans")
		assert.Equal(t, c.SpanContext().TraceID(), kids[0].SpanContext().TraceID())
		for i, k := range kids {
			ka := attrs(k)
			if ka["deluge.attempt"].AsInt64() < int64(len(kids)) {
				et := ka["error.type"].AsString()
				assert.NotEmpty(t, et, "attempt %d of %d failed", i, len(kids))
				assert.Equal(t, codes.Error, k.Status().Code)
				failed[et]++
			} else {
				assert.Empty(t, ka["error.type"].AsString(), "the last attempt succeeded")
			}
		}
		total += len(kids)
	}
	assert.Equal(t, len(arrivals), total, "one attempt span per request the emulator saw")
	var want500, want429 int
	for _, a := range arrivals {
		switch a.Status {
		case 500:
			want500++
		case 429:
			want429++
		}
	}
	assert.Equal(t, want500, failed["unavailable"])
	assert.Equal(t, want429, failed["rate_limited"])

	// Metrics agree with the spans and with Stats.
	ms := collect(t, r.reader)
	assert.Equal(t, int64(n), sumInt(t, ms["deluge.client.requests"], attribute.String("deluge.outcome", "success")))
	assert.Equal(t, int64(total), sumInt(t, ms["deluge.client.attempts"]))
	assert.Equal(t, int64(want500), sumInt(t, ms["deluge.client.attempts"], attribute.String("error.type", "unavailable")))
	assert.Equal(t, int64(want429), sumInt(t, ms["deluge.client.attempts"], attribute.String("error.type", "rate_limited")))

	tok, ok := ms["gen_ai.client.token.usage"].Data.(metricdata.Histogram[int64])
	require.True(t, ok)
	var in, out int64
	for _, p := range tok.DataPoints {
		assert.Equal(t, uint64(n), p.Count)
		assert.Equal(t, []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}, p.Bounds)
		tt, _ := p.Attributes.Value("gen_ai.token.type")
		if tt.AsString() == "input" {
			in += p.Sum
		} else {
			out += p.Sum
		}
	}
	assert.Equal(t, st.InputTokens, in)
	assert.Equal(t, st.OutputTokens, out)

	dur, ok := ms["gen_ai.client.operation.duration"].Data.(metricdata.Histogram[float64])
	require.True(t, ok)
	require.Len(t, dur.DataPoints, 1)
	assert.Equal(t, uint64(n), dur.DataPoints[0].Count)

	cost, ok := ms["deluge.client.cost"].Data.(metricdata.Sum[float64])
	require.True(t, ok)
	require.Len(t, cost.DataPoints, 1)
	assert.InDelta(t, st.Cost, cost.DataPoints[0].Value, 1e-12)

	// A 429 rests the model for its retry-after: the retry waited for the
	// cooldown, which the wait histogram and the call's span show.
	require.Positive(t, want429, "the seeded faults include 429s")
	{
		waits, ok := ms["deluge.client.wait.duration"].Data.(metricdata.Histogram[float64])
		require.True(t, ok)
		var cooldowns uint64
		for _, p := range waits.DataPoints {
			if v, _ := p.Attributes.Value("deluge.wait.reason"); v.AsString() == "cooldown" {
				cooldowns += p.Count
			}
		}
		assert.Positive(t, cooldowns)
		events := 0
		for _, c := range calls {
			for _, e := range c.Events() {
				if e.Name == "deluge.wait" {
					events++
				}
			}
		}
		assert.Positive(t, events)
	}
}

func TestContentCaptureStreamAndCache(t *testing.T) {
	r := newRig(t, nil, []telemetry.Option{telemetry.WithContentCapture(true), telemetry.WithLegacySystemAttribute()},
		llm.WithCache(cache.NewMemory(10)))
	conv := conversation.New().System("Be brief.").User("Hello there")
	for range 2 { // the second is a cache hit
		var text strings.Builder
		for ch, err := range r.client.Stream(context.Background(), conv, llm.WithTemperature(0.5)) {
			require.NoError(t, err)
			text.WriteString(ch.Text)
		}
		assert.Equal(t, azuretest.ExpectedReply("Hello there"), text.String())
	}
	calls, attempts := split(r.spans.Ended())
	require.Len(t, calls, 2)
	first, second := attrs(calls[0]), attrs(calls[1])
	assert.True(t, first["deluge.stream"].AsBool())
	assert.Equal(t, "az.ai.openai", first["gen_ai.system"].AsString())
	assert.Equal(t, 0.5, first["gen_ai.request.temperature"].AsFloat64())
	var in []map[string]any
	require.NoError(t, json.Unmarshal([]byte(first["gen_ai.input.messages"].AsString()), &in))
	assert.Equal(t, []map[string]any{
		{"role": "system", "parts": []any{map[string]any{"type": "text", "content": "Be brief."}}},
		{"role": "user", "parts": []any{map[string]any{"type": "text", "content": "Hello there"}}},
	}, in)
	var out []map[string]any
	require.NoError(t, json.Unmarshal([]byte(first["gen_ai.output.messages"].AsString()), &out))
	assert.Equal(t, []map[string]any{{"role": "assistant", "finish_reason": "stop",
		"parts": []any{map[string]any{"type": "text", "content": azuretest.ExpectedReply("Hello there")}}}}, out)
	assert.Len(t, attempts[calls[0].SpanContext().SpanID()], 1)

	assert.True(t, second["deluge.cached"].AsBool())
	assert.Equal(t, int64(0), second["deluge.attempts"].AsInt64())
	assert.Empty(t, attempts[calls[1].SpanContext().SpanID()])
	ms := collect(t, r.reader)
	assert.Equal(t, int64(1), sumInt(t, ms["deluge.client.cache.hits"]))
	assert.Equal(t, int64(1), sumInt(t, ms["deluge.client.requests"], attribute.String("deluge.outcome", "cached")))
	assert.Equal(t, int64(1), sumInt(t, ms["deluge.client.requests"], attribute.String("gen_ai.system", "az.ai.openai"),
		attribute.String("deluge.outcome", "success")))
}

func TestFailedCallAndParentSpan(t *testing.T) {
	r := newRig(t, []azuretest.Option{azuretest.WithFaults(azuretest.Faults{Rate500: 1})}, nil, llm.WithMaxAttempts(2))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "job")
	_, err := r.client.Generate(ctx, conversation.New().User("hi"))
	parent.End()
	require.Error(t, err)

	calls, attempts := split(r.spans.Ended())
	var call sdktrace.ReadOnlySpan
	for _, c := range calls {
		if c.Name() == "chat gpt-4o" {
			call = c
		}
	}
	require.NotNil(t, call)
	assert.Equal(t, parent.SpanContext().SpanID(), call.Parent().SpanID(), "the call is a child of the caller's span")
	assert.Equal(t, codes.Error, call.Status().Code)
	assert.Equal(t, "unavailable", attrs(call)["error.type"].AsString())
	kids := attempts[call.SpanContext().SpanID()]
	require.Len(t, kids, 2)
	assert.Equal(t, int64(500), attrs(kids[0])["http.response.status_code"].AsInt64())

	ms := collect(t, r.reader)
	assert.Equal(t, int64(1), sumInt(t, ms["deluge.client.requests"], attribute.String("deluge.outcome", "error"),
		attribute.String("error.type", "unavailable")))
	_, ok := ms["gen_ai.client.token.usage"]
	assert.False(t, ok, "no tokens recorded for a failed call")
}

func TestEmbeddings(t *testing.T) {
	r := newRig(t, []azuretest.Option{azuretest.WithDeployment("text-embedding-3-small", "")}, nil)
	p, err := azurefoundry.New(azurefoundry.Config{Endpoint: r.srv.URL, Logger: quiet})
	require.NoError(t, err)
	defer p.Close()
	obsClient, err := llm.NewClient("azure-text-embedding-3-small", llm.WithProviderInstance(p), llm.WithLogger(quiet),
		llm.WithObserver(telemetry.New(telemetry.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))))))
	require.NoError(t, err)
	_, err = obsClient.Embed(context.Background(), []string{"one", "two", "three"}, llm.WithDimensions(256))
	require.NoError(t, err)
	calls, attempts := split(r.spans.Ended())
	require.Len(t, calls, 1)
	a := attrs(calls[0])
	assert.Equal(t, "embeddings text-embedding-3-small", calls[0].Name())
	assert.Equal(t, "embeddings", a["gen_ai.operation.name"].AsString())
	assert.Equal(t, int64(3), a["deluge.embeddings.inputs"].AsInt64())
	assert.Equal(t, int64(256), a["gen_ai.embeddings.dimension.count"].AsInt64())
	assert.Positive(t, a["gen_ai.usage.input_tokens"].AsInt64())
	_, hasOut := a["gen_ai.usage.output_tokens"]
	assert.False(t, hasOut)
	assert.Len(t, attempts[calls[0].SpanContext().SpanID()], 1)
}

func TestProviderName(t *testing.T) {
	get := func(id string) registry.Model {
		m, err := registry.Lookup(id)
		require.NoError(t, err)
		return m
	}
	serverless := get("azure-gpt-4o")
	serverless.APIBase = "https://my-mistral.eastus2.models.ai.azure.com"
	assert.Equal(t, "azure.ai.openai", telemetry.ProviderName(get("azure-gpt-4o")))
	assert.Equal(t, "anthropic", telemetry.ProviderName(get("azure-claude-sonnet-4-5")), "Claude on Foundry speaks Anthropic's API")
	assert.Equal(t, "azure.ai.inference", telemetry.ProviderName(serverless))
	assert.Equal(t, "openai", telemetry.ProviderName(registry.Model{Provider: "openai"}))
	assert.Equal(t, "my-provider", telemetry.ProviderName(registry.Model{Provider: "my-provider"}))
}

// TestHalfOff: with OpenTelemetry half switched off, the other half still
// records everything — metrics with no span sampled, spans with the no-op
// meter (the observer builds nothing only when neither records).
func TestHalfOff(t *testing.T) {
	srv := azuretest.NewServer(azuretest.WithFaults(azuretest.Faults{Rate500: 0.4}), azuretest.WithSeed(3))
	t.Cleanup(srv.Close)
	p, err := azurefoundry.New(azurefoundry.Config{Endpoint: srv.URL, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	generate := func(obs llm.Observer) {
		c, err := llm.NewClient("azure-gpt-4o", llm.WithProviderInstance(p), llm.WithObserver(obs), llm.WithLogger(quiet),
			llm.WithMaxAttempts(8), llm.WithRetryBackoff(time.Millisecond, 2*time.Millisecond))
		require.NoError(t, err)
		defer c.Close()
		for range 4 {
			_, err := c.Generate(context.Background(), conversation.New().User("hi"))
			require.NoError(t, err)
		}
	}

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	generate(telemetry.New(telemetry.WithTracerProvider(unsampled), telemetry.WithMeterProvider(mp)))
	ms := collect(t, reader)
	assert.Equal(t, int64(4), sumInt(t, ms["deluge.client.requests"], attribute.String("deluge.outcome", "success")))
	ok := sumInt(t, ms["deluge.client.attempts"], attribute.String("deluge.outcome", "success"))
	failed := sumInt(t, ms["deluge.client.attempts"], attribute.String("deluge.outcome", "error"))
	assert.Equal(t, int64(4), ok)
	assert.Positive(t, failed, "the emulator failed some attempts (seeded)")
	assert.Contains(t, ms, "gen_ai.client.token.usage")

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	generate(telemetry.New(telemetry.WithTracerProvider(tp), telemetry.WithMeterProvider(metricnoop.NewMeterProvider())))
	calls, attempts := split(spans.Ended())
	require.Len(t, calls, 4)
	var good, bad int
	for _, c := range calls {
		assert.Positive(t, attrs(c)["gen_ai.usage.input_tokens"].AsInt64())
		assert.Equal(t, "gpt-4o", attrs(c)["gen_ai.request.model"].AsString())
		for _, a := range attempts[c.SpanContext().SpanID()] {
			if a.Status().Code == codes.Error {
				bad++
				assert.Equal(t, int64(500), attrs(a)["http.response.status_code"].AsInt64())
			} else {
				good++
				assert.Positive(t, attrs(a)["gen_ai.usage.input_tokens"].AsInt64())
			}
		}
	}
	assert.Equal(t, 4, good)
	assert.Positive(t, bad, "the emulator failed some attempts (seeded)")
}

// TestOffSeesNothing: with no SDK (the API's no-op providers) and no span
// to continue, the observer declines the call, so the engine runs none of
// its hooks; under a caller's span it still takes part, to keep the
// trace's context.
func TestOffSeesNothing(t *testing.T) {
	o := telemetry.New(telemetry.WithTracerProvider(tracenoop.NewTracerProvider()), telemetry.WithMeterProvider(metricnoop.NewMeterProvider()))
	info := &llm.CallInfo{Operation: "chat", Model: registry.Model{ID: "azure-gpt-4o", Name: "gpt-4o", Provider: "azure-foundry"}}
	ctx := context.Background()
	got, co := o.StartCall(ctx, info)
	assert.Nil(t, co, "nothing records: the call is declined")
	assert.Equal(t, ctx, got)

	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	_, co = telemetry.New(telemetry.WithTracerProvider(unsampled), telemetry.WithMeterProvider(metricnoop.NewMeterProvider())).StartCall(ctx, info)
	assert.NotNil(t, co, "an SDK's unsampled span still carries a trace context to propagate")
}

// TestSDKInstalledAfterNew: an observer made from the global providers
// before the program installs its SDK declines calls until then, and
// records every call after, the first one included, with its name and
// attributes.
func TestSDKInstalledAfterNew(t *testing.T) {
	before := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(before) })
	o := telemetry.New(telemetry.WithMeterProvider(metricnoop.NewMeterProvider())) // the global tracer: no SDK yet
	info := &llm.CallInfo{Operation: "chat", Model: registry.Model{ID: "azure-gpt-4o", Name: "gpt-4o", Provider: "azure-foundry"},
		Request: &llm.Request{Sampling: llm.Sampling{MaxNewTokens: 64}}}
	_, co := o.StartCall(context.Background(), info)
	require.Nil(t, co, "no SDK: declined")

	spans := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	for range 2 {
		_, co = o.StartCall(context.Background(), info)
		require.NotNil(t, co)
		co.End(&llm.CallEnd{})
	}
	ended := spans.Ended()
	require.Len(t, ended, 2)
	for _, s := range ended {
		assert.Equal(t, "chat gpt-4o", s.Name())
		assert.Equal(t, trace.SpanKindClient, s.SpanKind())
		assert.Equal(t, "azure-gpt-4o", attrs(s)["deluge.model.id"].AsString())
		assert.Equal(t, int64(64), attrs(s)["gen_ai.request.max_tokens"].AsInt64())
	}
}
