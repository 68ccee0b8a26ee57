package telemetry

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/deluge-go/deluge/llm"
)

// ScopeName is the instrumentation scope of deluge's spans and metrics.
const ScopeName = "github.com/deluge-go/deluge/telemetry"

// Bucket boundaries the GenAI conventions specify for their histograms.
var (
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
)

// An Option configures [New].
type Option func(*config)

type config struct {
	tp      trace.TracerProvider
	mp      metric.MeterProvider
	content bool
	legacy  bool
}

// WithTracerProvider records spans with tp (default: otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider records metrics with mp (default: otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithContentCapture records prompts and completions on the call spans, as
// the gen_ai.input.messages and gen_ai.output.messages attributes (JSON in
// the conventions' message schema). Off by default: they may hold personal
// data, and they are large. Embeddings inputs are never recorded.
func WithContentCapture(on bool) Option {
	return func(c *config) { c.content = on }
}

// WithLegacySystemAttribute adds gen_ai.system, the attribute the
// conventions used before gen_ai.provider.name (semantic conventions 1.36
// and older: "az.ai.openai" for Azure OpenAI), to spans and metrics, for
// backends and dashboards that still read it.
func WithLegacySystemAttribute() Option {
	return func(c *config) { c.legacy = true }
}

// Observer is the [llm.Observer] that records OpenTelemetry spans and
// metrics. It is safe for concurrent use; share one among clients.
type Observer struct {
	tracer trace.Tracer
	// tracerLive is set once tracer has made a span of its own: from
	// then on every call's span starts with its attributes.
	tracerLive atomic.Bool
	content    bool
	legacy     bool

	tokens    metric.Int64Histogram
	duration  metric.Float64Histogram
	requests  metric.Int64Counter
	attempts  metric.Int64Counter
	waits     metric.Float64Histogram
	cacheHits metric.Int64Counter
	cost      metric.Float64Counter
}

var _ llm.Observer = (*Observer)(nil)

// New returns an Observer configured by opts. Instruments that the meter
// provider refuses are replaced by no-op ones (the error goes to
// otel.Handle), so New never fails.
func New(opts ...Option) *Observer {
	c := config{}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	m := c.mp.Meter(ScopeName)
	o := &Observer{tracer: c.tp.Tracer(ScopeName), content: c.content, legacy: c.legacy}
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	o.tokens, err = m.Int64Histogram("gen_ai.client.token.usage", metric.WithUnit("{token}"),
		metric.WithDescription("Number of input and output tokens used."), metric.WithExplicitBucketBoundaries(tokenBuckets...))
	note(err)
	o.duration, err = m.Float64Histogram("gen_ai.client.operation.duration", metric.WithUnit("s"),
		metric.WithDescription("GenAI operation duration."), metric.WithExplicitBucketBoundaries(durationBuckets...))
	note(err)
	o.requests, err = m.Int64Counter("deluge.client.requests", metric.WithUnit("{request}"),
		metric.WithDescription("Calls by outcome (deluge.outcome: success, error, cached; error.type for errors)."))
	note(err)
	o.attempts, err = m.Int64Counter("deluge.client.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("Requests sent to providers, retries included, by outcome (error.type for failed ones)."))
	note(err)
	o.waits, err = m.Float64Histogram("deluge.client.wait.duration", metric.WithUnit("s"),
		metric.WithDescription("Time calls were held back before an attempt, by deluge.wait.reason (rpm, tpm, cooldown, concurrency)."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	note(err)
	o.cacheHits, err = m.Int64Counter("deluge.client.cache.hits", metric.WithUnit("{request}"),
		metric.WithDescription("Calls answered from the cache or by an identical call in flight, sending nothing."))
	note(err)
	o.cost, err = m.Float64Counter("deluge.client.cost", metric.WithUnit("{USD}"),
		metric.WithDescription("Price of the replies received, in US dollars (cache hits are free)."))
	note(err)
	if len(errs) > 0 {
		otel.Handle(errors.Join(errs...))
	}
	return o
}

// StartCall implements [llm.Observer]: it starts the call's span.
//
// Until its tracer has made a span of its own, the observer starts a bare
// one first: when that is the API's no-op span (no SDK installed) and no
// metric is enabled either, it declines the call, having built nothing,
// so OpenTelemetry switched off costs the engine one no-op Start. Once a
// real span is seen (an SDK installed, perhaps after New), spans start
// with their attributes, for samplers to see.
func (o *Observer) StartCall(ctx context.Context, info *llm.CallInfo) (context.Context, llm.CallObserver) {
	provider := ProviderName(info.Model)
	model := info.Model.Name
	var span trace.Span
	if !o.tracerLive.Load() {
		parent := trace.SpanContextFromContext(ctx)
		sctx, probe := o.tracer.Start(ctx, info.Operation, trace.WithSpanKind(trace.SpanKindClient))
		sc := probe.SpanContext()
		if !probe.IsRecording() && (!sc.IsValid() || sc.SpanID() == parent.SpanID()) {
			// The no-op tracer: it made no span, at most it carries the
			// caller's. Metrics may still be on.
			if !o.anyMetricOn(ctx) {
				return ctx, nil
			}
			return sctx, &call{o: o, span: probe, start: time.Now(), operation: info.Operation, provider: provider, model: model}
		}
		o.tracerLive.Store(true)
		ctx, span = sctx, probe
		span.SetName(info.Operation + " " + model)
		if span.IsRecording() {
			span.SetAttributes(o.callAttributes(info, provider, model)...)
		}
	} else {
		ctx, span = o.tracer.Start(ctx, info.Operation+" "+model,
			trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(o.callAttributes(info, provider, model)...))
	}
	if o.content && info.Request != nil && span.IsRecording() {
		span.SetAttributes(keyInputMessages.String(inputMessages(info.Request.Messages)))
	}
	c := &call{o: o, span: span, start: time.Now(), operation: info.Operation, provider: provider, model: model}
	return ctx, c
}

// callAttributes are the attributes of a call's span.
func (o *Observer) callAttributes(info *llm.CallInfo, provider, model string) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 16)
	attrs = append(attrs,
		keyOperation.String(info.Operation),
		keyProvider.String(provider),
		keyRequestModel.String(model),
		keyModelID.String(info.Model.ID),
	)
	if o.legacy {
		attrs = append(attrs, keySystem.String(legacySystem(provider)))
	}
	host, port := server(info.Model)
	if host != "" {
		attrs = append(attrs, keyServerAddress.String(host), keyServerPort.Int(port))
	}
	if info.Stream {
		attrs = append(attrs, keyStream.Bool(true))
	}
	if r := info.Request; r != nil {
		attrs = samplingAttributes(attrs, &r.Sampling)
	}
	if e := info.Embed; e != nil {
		attrs = append(attrs, keyInputsCount.Int(len(e.Inputs)))
		if e.Dimensions > 0 {
			attrs = append(attrs, keyDimensions.Int(e.Dimensions))
		}
	}
	return attrs
}

// samplingAttributes appends the gen_ai.request.* attributes of s.
func samplingAttributes(attrs []attribute.KeyValue, s *llm.Sampling) []attribute.KeyValue {
	if s.MaxNewTokens > 0 {
		attrs = append(attrs, keyMaxTokens.Int(s.MaxNewTokens))
	}
	if s.Temperature != nil {
		attrs = append(attrs, keyTemperature.Float64(*s.Temperature))
	}
	if s.TopP != nil {
		attrs = append(attrs, keyTopP.Float64(*s.TopP))
	}
	if s.Seed != nil {
		attrs = append(attrs, keySeed.Int64(*s.Seed))
	}
	if len(s.Stop) > 0 {
		attrs = append(attrs, keyStopSequences.StringSlice(s.Stop))
	}
	if s.ResponseFormat != nil {
		attrs = append(attrs, keyOutputType.String("json"))
	}
	return attrs
}

// call is the observation of one call: its span and what its metrics are
// recorded under.
type call struct {
	o                          *Observer
	span                       trace.Span
	start                      time.Time
	operation, provider, model string
	lastModel                  string // the model of the latest attempt
}

// StartAttempt implements [llm.CallObserver]: a child span of the call's,
// under the attempt's own context (its deadline).
func (c *call) StartAttempt(ctx context.Context, a *llm.AttemptInfo) (context.Context, llm.AttemptObserver) {
	c.lastModel = a.Model.Name
	parent := trace.ContextWithSpan(ctx, c.span)
	actx, span := c.o.tracer.Start(parent, "deluge.attempt", trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(keyAttempt.Int(a.Number), keyRequestModel.String(a.Model.Name), keyModelID.String(a.Model.ID)))
	return actx, &attempt{c: c, span: span}
}

// Waited implements [llm.CallObserver].
func (c *call) Waited(reason string, d time.Duration) {
	if ctx := context.Background(); c.o.waits.Enabled(ctx) {
		set := attribute.NewSet(keyOperation.String(c.operation), keyProvider.String(c.provider),
			keyRequestModel.String(c.currentModel()), keyWaitReason.String(reason))
		c.o.waits.Record(ctx, d.Seconds(), metric.WithAttributeSet(set))
	}
	if c.span.IsRecording() {
		c.span.AddEvent("deluge.wait", trace.WithAttributes(keyWaitReason.String(reason),
			attribute.Float64("deluge.wait.seconds", d.Seconds())))
	}
}

func (c *call) currentModel() string {
	if c.lastModel != "" {
		return c.lastModel
	}
	return c.model
}

// End implements [llm.CallObserver]: the call's span attributes and
// status, and its metrics.
func (c *call) End(end *llm.CallEnd) {
	o, span := c.o, c.span
	ctx := trace.ContextWithSpan(context.Background(), span) // exemplars link to the span
	resp := end.Response
	rec := span.IsRecording() // an unsampled span takes no attributes
	if !rec && !o.callMetricsOn(ctx) {
		// OpenTelemetry is off (no SDK installed, or one that records
		// neither this span nor these metrics): build nothing.
		span.End()
		return
	}
	base := []attribute.KeyValue{keyOperation.String(c.operation), keyProvider.String(c.provider),
		keyRequestModel.String(c.model)}
	if o.legacy {
		base = append(base, keySystem.String(legacySystem(c.provider)))
	}
	switch {
	case end.Err != nil:
		et := errorType(end.Err)
		if rec {
			span.SetAttributes(keyErrorType.String(et), keyAttempts.Int(end.Attempts))
			span.SetStatus(codes.Error, end.Err.Error())
		}
		attrs := append(base, keyErrorType.String(et))
		o.requests.Add(ctx, 1, metric.WithAttributes(append(attrs, keyOutcome.String("error"))...))
		if end.Attempts > 0 { // something was sent: a GenAI operation took place
			o.duration.Record(ctx, end.Latency.Seconds(), metric.WithAttributes(attrs...))
		}
	case end.Cached || end.Shared:
		if rec {
			span.SetAttributes(keyCached.Bool(end.Cached), keyShared.Bool(end.Shared), keyAttempts.Int(0))
			if resp != nil {
				span.SetAttributes(responseAttributes(nil, resp, c.operation)...)
			}
		}
		o.requests.Add(ctx, 1, metric.WithAttributes(append(base, keyOutcome.String("cached"))...))
		o.cacheHits.Add(ctx, 1, metric.WithAttributes(base...))
		o.captureOutput(span, resp)
	case resp != nil:
		if rec {
			span.SetAttributes(append(responseAttributes(make([]attribute.KeyValue, 0, 12), resp, c.operation),
				keyAttempts.Int(end.Attempts), keyCost.Float64(resp.Cost))...)
		}
		attrs := base
		if resp.ServedModel != "" {
			attrs = append(attrs, keyResponseModel.String(resp.ServedModel))
		}
		o.requests.Add(ctx, 1, metric.WithAttributes(append(attrs, keyOutcome.String("success"))...))
		o.duration.Record(ctx, end.Latency.Seconds(), metric.WithAttributes(attrs...))
		o.tokens.Record(ctx, int64(resp.Usage.InputTokens), metric.WithAttributes(append(attrs, keyTokenType.String("input"))...))
		if c.operation != llm.OperationEmbeddings {
			o.tokens.Record(ctx, int64(resp.Usage.OutputTokens), metric.WithAttributes(append(attrs, keyTokenType.String("output"))...))
		}
		if resp.Cost != 0 {
			o.cost.Add(ctx, resp.Cost, metric.WithAttributes(attrs...))
		}
		o.captureOutput(span, resp)
	}
	span.End()
}

// anyMetricOn reports whether any of the observer's metrics is enabled
// (false for the no-op meter of a program without an SDK).
func (o *Observer) anyMetricOn(ctx context.Context) bool {
	return o.callMetricsOn(ctx) || o.attempts.Enabled(ctx) || o.waits.Enabled(ctx)
}

// callMetricsOn reports whether any metric a call's end records is
// enabled (false for the no-op meter of a program without an SDK).
func (o *Observer) callMetricsOn(ctx context.Context) bool {
	return o.requests.Enabled(ctx) || o.duration.Enabled(ctx) || o.tokens.Enabled(ctx) ||
		o.cacheHits.Enabled(ctx) || o.cost.Enabled(ctx)
}

// captureOutput records the completion on span, with content capture on.
func (o *Observer) captureOutput(span trace.Span, resp *llm.Response) {
	if o.content && resp != nil && resp.Message.Role != "" && span.IsRecording() {
		span.SetAttributes(keyOutputMessages.String(outputMessages(resp)))
	}
}

// responseAttributes appends the gen_ai.response.* and usage attributes of
// resp.
func responseAttributes(attrs []attribute.KeyValue, resp *llm.Response, operation string) []attribute.KeyValue {
	if resp.ServedModel != "" {
		attrs = append(attrs, keyResponseModel.String(resp.ServedModel))
	}
	if resp.ResponseID != "" {
		attrs = append(attrs, keyResponseID.String(resp.ResponseID))
	}
	if resp.FinishReason != "" {
		attrs = append(attrs, keyFinishReasons.StringSlice([]string{resp.FinishReason}))
	}
	attrs = append(attrs, keyInputTokens.Int(resp.Usage.InputTokens))
	if operation != llm.OperationEmbeddings {
		attrs = append(attrs, keyOutputTokens.Int(resp.Usage.OutputTokens))
	}
	if resp.RoutedModel != "" {
		attrs = append(attrs, keyRouted.String(resp.RoutedModel))
	}
	if resp.Region != "" {
		attrs = append(attrs, keyRegion.String(resp.Region))
	}
	if resp.RequestID != "" {
		attrs = append(attrs, keyRequestID.String(resp.RequestID))
	}
	if resp.ServiceTier != "" {
		attrs = append(attrs, keyServiceTier.String(resp.ServiceTier))
	}
	return attrs
}

// attempt is the observation of one attempt.
type attempt struct {
	c    *call
	span trace.Span
}

// End implements [llm.AttemptObserver].
func (a *attempt) End(end *llm.AttemptEnd) {
	c, span := a.c, a.span
	rec := span.IsRecording()
	ctx := trace.ContextWithSpan(context.Background(), span)
	if !rec && !c.o.attempts.Enabled(ctx) {
		span.End() // OpenTelemetry is off: build nothing
		return
	}
	attrs := []attribute.KeyValue{keyOperation.String(c.operation), keyProvider.String(c.provider), keyRequestModel.String(c.lastModel)}
	if end.Err != nil {
		et := errorType(end.Err)
		span.SetAttributes(keyErrorType.String(et))
		var e *llm.Error
		if rec && errors.As(end.Err, &e) {
			if e.StatusCode != 0 {
				span.SetAttributes(keyHTTPStatus.Int(e.StatusCode))
			}
			if e.RetryAfter > 0 {
				span.SetAttributes(keyRetryAfter.Int64(e.RetryAfter.Milliseconds()))
			}
			if e.RequestID != "" {
				span.SetAttributes(keyRequestID.String(e.RequestID))
			}
		}
		span.SetStatus(codes.Error, end.Err.Error())
		attrs = append(attrs, keyErrorType.String(et), keyOutcome.String("error"))
	} else if resp := end.Response; resp != nil && rec {
		span.SetAttributes(responseAttributes(nil, resp, c.operation)...)
		attrs = append(attrs, keyOutcome.String("success"))
	} else if resp != nil {
		attrs = append(attrs, keyOutcome.String("success"))
	}
	c.o.attempts.Add(ctx, 1, metric.WithAttributes(attrs...))
	span.End()
}
