package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/deluge-go/deluge/telemetry"
)

// envCaptureContent turns on the recording of prompts and completions in
// spans, under the name OpenTelemetry's GenAI instrumentations use.
const envCaptureContent = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

// otelFlushTimeout bounds the export of what is buffered when deluge exits.
const otelFlushTimeout = 10 * time.Second

// otelSetup is the OpenTelemetry SDK that --otel installs: spans and
// metrics exported over OTLP/HTTP to the endpoint the standard
// OTEL_EXPORTER_OTLP_* variables name (http://localhost:4318 by default).
type otelSetup struct {
	observer *telemetry.Observer
	tp       *sdktrace.TracerProvider
	mp       *sdkmetric.MeterProvider
}

// startOTel builds the exporters, providers and observer. Nothing is sent
// until there is something to export; an unreachable collector is reported
// (as a warning) when an export fails, and never fails the command.
func startOTel(ctx context.Context, e *env, logger *slog.Logger) (*otelSetup, error) {
	for _, v := range []string{"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"} {
		if p := strings.TrimSpace(e.getenv(v)); p != "" && p != "http/protobuf" {
			return nil, usageErrorf("--otel exports OTLP over HTTP (http/protobuf) only, but %s=%s: unset it, or point the collector's OTLP/HTTP receiver (port 4318) at deluge", v, p)
		}
	}
	capture := false
	switch v := strings.ToLower(strings.TrimSpace(e.getenv(envCaptureContent))); v {
	case "", "false", "0":
	case "true", "1":
		capture = true
	default:
		return nil, usageErrorf("%s=%s: want true or false", envCaptureContent, v)
	}
	// service.name is deluge unless OTEL_SERVICE_NAME or
	// OTEL_RESOURCE_ATTRIBUTES say otherwise (later options win).
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "deluge"), attribute.String("service.version", version())),
		resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil {
		return nil, usageErrorf("--otel: resource: %v", err)
	}
	te, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, usageErrorf("--otel: trace exporter: %v", err)
	}
	me, err := otlpmetrichttp.New(ctx)
	if err != nil {
		return nil, usageErrorf("--otel: metric exporter: %v", err)
	}
	s := &otelSetup{
		tp: sdktrace.NewTracerProvider(sdktrace.WithBatcher(te), sdktrace.WithResource(res)),
		mp: sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(me)), sdkmetric.WithResource(res)),
	}
	otel.SetTracerProvider(s.tp)
	otel.SetMeterProvider(s.mp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("deluge: OpenTelemetry export failed", slog.String("error", err.Error()))
	}))
	s.observer = telemetry.New(telemetry.WithTracerProvider(s.tp), telemetry.WithMeterProvider(s.mp),
		telemetry.WithContentCapture(capture))
	return s, nil
}

// shutdown exports what is buffered (the last spans, a final collection of
// the metrics) and stops the exporters. It runs when the command returns,
// interrupted or not, with its own deadline: the command's context may be
// canceled already.
func (s *otelSetup) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), otelFlushTimeout)
	defer cancel()
	err := errors.Join(s.tp.Shutdown(ctx), s.mp.Shutdown(ctx))
	if err != nil {
		return fmt.Errorf("exporting telemetry: %w", err)
	}
	return nil
}
