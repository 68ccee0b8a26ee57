// Package telemetry records an [llm.Client]'s calls as OpenTelemetry spans
// and metrics, following the OpenTelemetry semantic conventions for
// generative AI (gen_ai.*). It is the [llm.Observer] of package llm, which
// itself imports no OpenTelemetry module:
//
//	client, err := llm.NewClient("azure-gpt-4o", llm.WithObserver(telemetry.New()))
//
// Each call (a Generate, a Stream, one prompt of a batch, one embeddings
// request) is a span named "{operation} {model}" ("chat gpt-4o"), of kind
// client, with the gen_ai attributes of the request and the reply; each
// attempt sent to a provider is a child span "deluge.attempt", so retries,
// 429s and failovers show in the trace. The HTTP request of an attempt runs
// under the attempt's span: an instrumented transport (otelhttp) nests its
// span there and propagates the trace to the server.
//
// Metrics: gen_ai.client.token.usage and gen_ai.client.operation.duration
// (the conventions' histograms, with their bucket boundaries), and
// deluge.client.requests (calls by outcome), deluge.client.attempts,
// deluge.client.wait.duration (time held back by rpm, tpm, cooldown or
// concurrency), deluge.client.cache.hits and deluge.client.cost (USD).
// docs/observability.md lists every attribute, and the routes to Azure
// Monitor and Prometheus.
//
// Prompts and completions are recorded only with [WithContentCapture], as
// the gen_ai.input.messages and gen_ai.output.messages span attributes
// (JSON, in the conventions' message schema): they may hold personal data.
//
// The observer uses the global tracer and meter providers unless given
// others ([WithTracerProvider], [WithMeterProvider]); with no
// OpenTelemetry SDK installed they record nothing, and the observer
// declines each call after one no-op span start, so that the engine runs
// none of its other hooks; an SDK installed later is picked up from its
// first call. The package imports
// only the OpenTelemetry API; a program installs the SDK and exporters
// (the deluge CLI does with --otel).
package telemetry
