//go:build unix

package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// collector is a fake OpenTelemetry Collector: an OTLP/HTTP receiver that
// keeps what it is sent.
type collector struct {
	mu      sync.Mutex
	spans   map[string]int // span name → count
	metrics map[string]bool
	service string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch r.URL.Path {
	case "/v1/traces":
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rs := range req.ResourceSpans {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					c.service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					c.spans[s.Name]++
				}
			}
		}
	case "/v1/metrics":
		var req colmetricpb.ExportMetricsServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rm := range req.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					c.metrics[m.Name] = true
				}
			}
		}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
}

func TestE2EOTelExport(t *testing.T) {
	emu := azuretest.NewServer(azuretest.WithAPIKeys(emulatorKey), azuretest.WithSeed(3),
		azuretest.WithFaults(azuretest.Faults{Rate500: 0.2}))
	defer emu.Close()
	col := &collector{spans: map[string]int{}, metrics: map[string]bool{}}
	cs := httptest.NewServer(col)
	defer cs.Close()

	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	writeTo(t, in, `{"id":"a","prompt":"one"}`+"\n"+`{"id":"b","prompt":"two"}`+"\n"+`{"id":"c","prompt":"three"}`+"\n")
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "run", "--otel", "-m", "azure-gpt-4o-mini", "-i", in, "-o", filepath.Join(dir, "out.jsonl"),
		"--rpm", "60000", "--no-cache", "--max-attempts", "10")
	cmd.Env = []string{
		"DELUGE_CLI_SUBPROCESS=1", "PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CACHE_HOME=" + dir, "NO_COLOR=1",
		"AZURE_OPENAI_ENDPOINT=" + emu.URL, "AZURE_OPENAI_API_KEY=" + emulatorKey,
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + cs.URL, "OTEL_SERVICE_NAME=deluge-e2e",
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

	// Everything was flushed before the process exited.
	col.mu.Lock()
	defer col.mu.Unlock()
	assert.Equal(t, 3, col.spans["chat gpt-4o-mini"], "one call span per prompt: %v", col.spans)
	assert.Equal(t, len(emu.Stats().Arrivals), col.spans["deluge.attempt"], "one attempt span per request sent")
	assert.Equal(t, "deluge-e2e", col.service, "OTEL_SERVICE_NAME names the service")
	for _, m := range []string{"gen_ai.client.token.usage", "gen_ai.client.operation.duration", "deluge.client.requests", "deluge.client.attempts", "deluge.client.cost"} {
		assert.True(t, col.metrics[m], "metric %s exported: %v", m, col.metrics)
	}
}

func TestOTelRefusesGRPC(t *testing.T) {
	r := cli{environ: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}}.run(t, "--otel", "models")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "OTLP over HTTP (http/protobuf) only")
	r = cli{environ: map[string]string{envCaptureContent: "maybe"}}.run(t, "--otel", "models")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, envCaptureContent)
}
