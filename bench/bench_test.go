package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// The Go benchmarks are the short form of the runner's figures, for
// profiling one contender at a time:
//
//	go test -bench . -benchmem ./bench/...
//	go test -bench 'Overhead/1.4KB/deluge' -cpuprofile cpu.out ./bench/
//
// Compare contenders with benchstat over -count runs, or use the runner,
// which interleaves them.

func BenchmarkOverhead(b *testing.B) {
	for _, body := range []struct {
		name string
		body []byte
	}{{"1.4KB", smallBody}, {"10KB", largeBody}} {
		cs, err := memClients(body.body)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(cs.close)
		for _, c := range cs.all() {
			b.Run(body.name+"/"+c.name, func(b *testing.B) { benchCaller(b, c) })
		}
	}
}

// BenchmarkLoopback is BenchmarkOverhead over loopback HTTP against the
// zero-latency emulator.
func BenchmarkLoopback(b *testing.B) {
	srv := azuretest.NewServer(azuretest.WithArrivalLog(0))
	b.Cleanup(srv.Close)
	cs, err := loopbackClients(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cs.close)
	for _, c := range cs.all() {
		b.Run(c.name, func(b *testing.B) { benchCaller(b, c) })
	}
}

func benchCaller(b *testing.B, c caller) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.call(ctx, benchPrompt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStream reads a canned Azure stream from the in-memory doer;
// ns/chunk is the whole stream's time divided by its text chunks (the
// runner separates the per-chunk cost from the fixed cost).
func BenchmarkStream(b *testing.B) {
	for _, s := range []struct {
		name   string
		body   []byte
		chunks int
	}{{"short", shortStream, shortChunks}, {"long", longStream, longChunks}} {
		d, g, closeFn, err := memStreamers(s.body)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(closeFn)
		for _, st := range []streamer{d, g} {
			b.Run(s.name+"/"+st.name, func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					_, n, err := st.run(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if n != s.chunks {
						b.Fatalf("%d chunks, want %d", n, s.chunks)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*s.chunks), "ns/chunk")
			})
		}
	}
}

// BenchmarkBatch is figure 2 in small: a batch of 1,000 prompts against the
// zero-latency emulator, Process against errgroup + go-openai at the same
// concurrency; ns/op is per batch.
func BenchmarkBatch(b *testing.B) {
	const n, concurrency = 1000, 64
	srv := azuretest.NewServer(azuretest.WithArrivalLog(0))
	b.Cleanup(srv.Close)
	prompts := batchPrompts(n)
	b.Run("deluge", func(b *testing.B) {
		c, p, err := newDeluge(delugeConfig{endpoint: srv.URL, opts: []llm.ClientOption{llm.WithMaxConcurrency(concurrency)}})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		convs := make([]*conversation.Conversation, n)
		for i, s := range prompts {
			convs[i] = conversation.New().User(s)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := processBatch(context.Background(), c, convs); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "req/s")
	})
	b.Run("errgroup", func(b *testing.B) {
		tr := newPooledTransport()
		defer tr.CloseIdleConnections()
		c := newGoOpenAI(srv.URL, &http.Client{Transport: tr})
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := errgroupBatch(context.Background(), c, prompts, concurrency); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "req/s")
	})
}

// BenchmarkGenerateParallel is Generate from many goroutines through the
// in-memory doer: contention in the engine and provider, no server.
func BenchmarkGenerateParallel(b *testing.B) {
	cs, err := memClients(smallBody)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cs.close)
	for _, c := range []caller{cs.deluge, cs.goopenai} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(32)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.call(context.Background(), benchPrompt); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkScheduling runs the scheduling figure's shapes at the -quick
// size (about 3 s per contender each), reporting each contender's wall
// time over the ideal and the share of requests the server refused. Run
// it once per shape:
//
//	go -C bench test -run '^$' -bench Scheduling -benchtime 1x .
func BenchmarkScheduling(b *testing.B) {
	for _, s := range schedulingShapes(schedulingParams{rpmPrompts: 600, tpmPrompts: 300}) {
		s.latency, s.concurrency, s.baselineRetryGap = 50*time.Millisecond, 256, time.Second
		b.Run(s.name, func(b *testing.B) {
			for b.Loop() {
				r, err := runShape(context.Background(), s)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.Ratio, "x-ideal")
				b.ReportMetric(r.RefusedPct, "%-refused")
				b.ReportMetric(r.BaselineRatio, "baseline-x-ideal")
				b.ReportMetric(r.BaselineRefusedPct, "baseline-%-refused")
			}
		})
	}
}
