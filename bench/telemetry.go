package main

import (
	"context"
	"fmt"
	"net/http"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/telemetry"
)

// The telemetry figure (issue 15: "zero cost when off", "tracing on vs
// off"): the overhead figure's deluge call (llm.Client.Generate, the
// azure-foundry provider, the in-memory doer answering the 1.4 KB body)
// four ways, interleaved:
//
//   - none: no observer, the default — no hook runs but a nil check;
//   - off: the observer telemetry.New() returns in a program that installs
//     no OpenTelemetry SDK (the API's no-op tracer and meter providers):
//     OpenTelemetry wired in but switched off;
//   - metrics: the SDK recording the metrics, its sampler sampling no span
//     (a production setting with a low sampling ratio, for most calls);
//   - on: the SDK recording the metrics and every span, batched to a
//     discarding exporter.
//
// The ratios are medians of per-round ratios against none.

// telemetryResult is the figure.
type telemetryResult struct {
	BodyBytes      int       `json:"body_bytes"`
	NoneNsPerOp    float64   `json:"none_ns_per_op"`
	OffNsPerOp     float64   `json:"off_ns_per_op"`
	MetricsNsPerOp float64   `json:"metrics_ns_per_op"`
	OnNsPerOp      float64   `json:"on_ns_per_op"`
	OffRatio       float64   `json:"off_ratio"`
	OffAddedUs     float64   `json:"off_added_us"`
	MetricsRatio   float64   `json:"metrics_ratio"`
	MetricsAddedUs float64   `json:"metrics_added_us"`
	OnRatio        float64   `json:"on_ratio"`
	OnAddedUs      float64   `json:"on_added_us"`
	NoneAllocs     float64   `json:"none_allocs_per_op"`
	OffAllocs      float64   `json:"off_allocs_per_op"`
	MetricsAllocs  float64   `json:"metrics_allocs_per_op"`
	OnAllocs       float64   `json:"on_allocs_per_op"`
	NoneBytes      float64   `json:"none_bytes_per_op"`
	OffBytes       float64   `json:"off_bytes_per_op"`
	MetricsBytes   float64   `json:"metrics_bytes_per_op"`
	OnBytes        float64   `json:"on_bytes_per_op"`
	OffRatioRounds []float64 `json:"off_ratio_rounds"`
	Rounds         int       `json:"rounds"`
}

func runTelemetry(ctx context.Context, p overheadParams) (*telemetryResult, error) {
	sdkObserver := func(s sdktrace.Sampler) (llm.Observer, func()) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(s), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		return telemetry.New(telemetry.WithTracerProvider(tp), telemetry.WithMeterProvider(mp)), func() {
			_ = tp.Shutdown(context.Background())
			_ = mp.Shutdown(context.Background())
		}
	}
	metricsObs, stopMetrics := sdkObserver(sdktrace.NeverSample())
	defer stopMetrics()
	onObs, stopOn := sdkObserver(sdktrace.AlwaysSample())
	defer stopOn()
	// What telemetry.New() gets from the global providers when no SDK is
	// installed; given explicitly, so that nothing else in the process
	// can have set the globals.
	offObs := telemetry.New(telemetry.WithTracerProvider(tracenoop.NewTracerProvider()), telemetry.WithMeterProvider(metricnoop.NewMeterProvider()))

	doer := newMemDoer(smallBody, "application/json")
	var callers []caller
	for _, c := range []struct {
		name string
		obs  llm.Observer
	}{{"none", nil}, {"off", offObs}, {"metrics", metricsObs}, {"on", onObs}} {
		var opts []llm.ClientOption
		if c.obs != nil {
			opts = append(opts, llm.WithObserver(c.obs))
		}
		dc, prov, err := newDeluge(delugeConfig{endpoint: memEndpoint, httpClient: &http.Client{Transport: doer}, opts: opts})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		defer prov.Close()
		cl := delugeCaller(dc)
		cl.name = c.name
		callers = append(callers, cl)
	}
	if err := checkReply(ctx, callers, benchPrompt, smallContent); err != nil {
		return nil, err
	}
	smp, err := measureCallers(ctx, p, callers)
	if err != nil {
		return nil, err
	}
	const none, off, metrics, on = 0, 1, 2, 3
	med := func(i int, f func(sample) float64) float64 { return round1(median(column(smp[i], f))) }
	wall := func(i int) []float64 { return column(smp[i], wallOf) }
	ratio := func(i int) float64 { return round3(median(ratios(wall(i), wall(none)))) }
	added := func(i int) float64 { return round2(median(diffs(wall(i), wall(none))) / 1e3) }
	return &telemetryResult{
		BodyBytes:      len(smallBody),
		NoneNsPerOp:    med(none, wallOf),
		OffNsPerOp:     med(off, wallOf),
		MetricsNsPerOp: med(metrics, wallOf),
		OnNsPerOp:      med(on, wallOf),
		OffRatio:       ratio(off),
		OffAddedUs:     added(off),
		MetricsRatio:   ratio(metrics),
		MetricsAddedUs: added(metrics),
		OnRatio:        ratio(on),
		OnAddedUs:      added(on),
		NoneAllocs:     med(none, allocsOf),
		OffAllocs:      med(off, allocsOf),
		MetricsAllocs:  med(metrics, allocsOf),
		OnAllocs:       med(on, allocsOf),
		NoneBytes:      med(none, bytesOf),
		OffBytes:       med(off, bytesOf),
		MetricsBytes:   med(metrics, bytesOf),
		OnBytes:        med(on, bytesOf),
		OffRatioRounds: roundAll(ratios(wall(off), wall(none)), round3),
		Rounds:         p.rounds,
	}, nil
}
