package main

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// These tests check the harness, not performance: the canned bodies are
// what they claim, every contender decodes them to the same reply, and the
// report has the keys issue 7 asks for. They take well under a second.

func TestCannedBodies(t *testing.T) {
	if n := len(smallBody); n < 1300 || n > 1500 {
		t.Errorf("small body is %d bytes, want about 1.4 KB", n)
	}
	if n := len(largeBody); n < 9500 || n > 10900 {
		t.Errorf("large body is %d bytes, want about 10 KB", n)
	}
	for _, b := range [][]byte{smallBody, largeBody} {
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %.80s", b)
		}
	}
	for _, s := range [][]byte{shortStream, longStream} {
		events := strings.Split(strings.TrimSpace(string(s)), "\n\n")
		if last := events[len(events)-1]; last != "data: [DONE]" {
			t.Errorf("stream ends with %q", last)
		}
		for _, e := range events[:len(events)-1] {
			if !json.Valid([]byte(strings.TrimPrefix(e, "data: "))) {
				t.Fatalf("invalid event %.80s", e)
			}
		}
	}
}

// TestSameReply: the three clients, through the in-memory doer, decode the
// canned bodies to the same completion, so the overhead figure compares
// equal work.
func TestSameReply(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		body []byte
		want string
	}{{smallBody, smallContent}, {largeBody, largeContent()}} {
		cs, err := memClients(c.body)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkReply(ctx, cs.all(), benchPrompt, c.want); err != nil {
			t.Error(err)
		}
		cs.close()
	}
}

// TestSameStream: deluge and go-openai read the same text chunks from the
// canned streams.
func TestSameStream(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		body   []byte
		chunks int
	}{{shortStream, shortChunks}, {longStream, longChunks}} {
		d, g, closeFn, err := memStreamers(c.body)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []streamer{d, g} {
			ttft, n, err := s.run(ctx)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if n != c.chunks || ttft <= 0 {
				t.Errorf("%s: %d chunks (want %d), ttft %v", s.name, n, c.chunks, ttft)
			}
		}
		closeFn()
	}
}

// TestReportKeys: the JSON has at least the keys of issue 7.
func TestReportKeys(t *testing.T) {
	r := &report{
		Overhead: &overheadResult{}, Throughput: &throughputResult{}, Scheduling: &schedulingResult{RPMBound: &shapeResult{}},
		Memory: &memoryResult{}, Stream: &streamResult{},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"overhead":   {"deluge_ns_per_op", "goopenai_ns_per_op", "openaigo_ns_per_op", "ratio_vs_goopenai", "loopback_added_us"},
		"throughput": {"deluge_rps", "baseline_rps", "ratio", "p50_ms", "p99_ms"},
		"scheduling": {"rpm_bound", "tpm_bound", "over_configured"},
		"memory":     {"rss_mb_10k", "rss_mb_100k", "ratio"},
		"stream":     {"ttft_added_us", "chunk_overhead_ns"},
	}
	var rpm map[string]json.RawMessage
	if err := json.Unmarshal(got["scheduling"], &rpm); err != nil {
		t.Fatal(err)
	}
	var shape map[string]any
	if err := json.Unmarshal(rpm["rpm_bound"], &shape); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"wall_s", "ideal_s", "ratio", "server_429", "refused_pct", "baseline_ratio", "baseline_server_429", "baseline_refused_pct"} {
		if _, ok := shape[k]; !ok {
			t.Errorf("scheduling.rpm_bound.%s missing", k)
		}
	}
	for fig, keys := range want {
		var obj map[string]any
		if err := json.Unmarshal(got[fig], &obj); err != nil {
			t.Fatalf("%s: %v", fig, err)
		}
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s.%s missing", fig, k)
			}
		}
	}
}

func TestStats(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median = %v", m)
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median(nil) is not NaN")
	}
	s := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if p := percentile(s, 50); p != 5 {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(s, 99); p != 10 {
		t.Errorf("p99 = %v", p)
	}
	if got := rotate([]int{0, 1, 2}, 4); !slices.Equal(got, []int{1, 2, 0}) {
		t.Errorf("rotate = %v", got)
	}
	if got := ratios([]float64{2, 6}, []float64{1, 3}); !slices.Equal(got, []float64{2, 2}) {
		t.Errorf("ratios = %v", got)
	}
}

// TestRespEmbHarness: the respemb figure's contenders get the same answer
// from its canned bodies, and a short run produces every figure.
func TestRespEmbHarness(t *testing.T) {
	if !json.Valid(responsesBody) || !json.Valid(embeddingsBody) {
		t.Fatal("invalid canned body")
	}
	r, err := runRespEmb(context.Background(), overheadParams{rounds: 1, slices: 1, slice: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Responses.RatioVsChatGoopenai <= 0 || r.Responses.RatioVsRaw <= 0 || r.Embeddings.Ratio <= 0 {
		t.Errorf("missing ratios: %+v %+v", r.Responses, r.Embeddings)
	}
	if r.Embeddings.Inputs != embedInputs || r.Embeddings.Dimensions != embedDims {
		t.Errorf("embeddings shape %+v", r.Embeddings)
	}
}
