package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// streamResult is figure 5: llm.Client.Stream against raw go-openai
// streaming (CreateChatCompletionStream + Recv), both reading a canned
// Azure SSE body from the in-memory doer. Time to first token is from the
// call to the first chunk with text. The per-chunk cost of each client is
// the difference between a long stream (404 content chunks) and a short
// one (4), divided by the 400 extra chunks; chunk_overhead_ns is deluge's
// minus go-openai's. The loopback figures repeat the time to first token
// against the zero-latency emulator.
type streamResult struct {
	TTFTAddedUs     float64 `json:"ttft_added_us"`
	ChunkOverheadNs float64 `json:"chunk_overhead_ns"`

	DelugeTTFTUs          float64 `json:"deluge_ttft_us"`
	GoopenaiTTFTUs        float64 `json:"goopenai_ttft_us"`
	DelugeChunkNs         float64 `json:"deluge_chunk_ns"`
	GoopenaiChunkNs       float64 `json:"goopenai_chunk_ns"`
	ChunkRatio            float64 `json:"chunk_ratio"`
	DelugeChunkCPUNs      float64 `json:"deluge_chunk_cpu_ns"`
	GoopenaiChunkCPUNs    float64 `json:"goopenai_chunk_cpu_ns"`
	ChunkOverheadCPUNs    float64 `json:"chunk_overhead_cpu_ns"`
	ChunkCPURatio         float64 `json:"chunk_cpu_ratio"`
	DelugeChunkAllocs     float64 `json:"deluge_chunk_allocs"`
	GoopenaiChunkAllocs   float64 `json:"goopenai_chunk_allocs"`
	DelugeChunkBytes      float64 `json:"deluge_chunk_bytes"`
	GoopenaiChunkBytes    float64 `json:"goopenai_chunk_bytes"`
	LoopbackTTFTAddedUs   float64 `json:"loopback_ttft_added_us"`
	LoopbackDelugeTTFTUs  float64 `json:"loopback_deluge_ttft_us"`
	LoopbackGoopenaiTTFTs float64 `json:"loopback_goopenai_ttft_us"`
	// DelugeStreamNs and GoopenaiStreamNs are whole short streams.
	DelugeStreamNs   float64 `json:"deluge_short_stream_ns"`
	GoopenaiStreamNs float64 `json:"goopenai_short_stream_ns"`
	ShortStreamBytes int     `json:"short_stream_bytes"`
	LongStreamBytes  int     `json:"long_stream_bytes"`
	Rounds           int     `json:"rounds"`
}

type streamParams struct {
	rounds, slices int
	slice          time.Duration
}

// streamer runs one stream and returns the time to the first text and the
// number of text chunks.
type streamer struct {
	name string
	run  func(ctx context.Context) (ttft time.Duration, chunks int, err error)
}

func delugeStreamer(c *llm.Client, prompt string) streamer {
	return streamer{"deluge", func(ctx context.Context) (time.Duration, int, error) {
		start := time.Now()
		var ttft time.Duration
		n := 0
		for ch, err := range c.Stream(ctx, conversation.New().User(prompt)) {
			if err != nil {
				return 0, 0, err
			}
			if ch.Text != "" {
				if n == 0 {
					ttft = time.Since(start)
				}
				n++
			}
		}
		return ttft, n, nil
	}}
}

func goOpenAIStreamer(c *goopenai.Client, prompt string) streamer {
	return streamer{"goopenai", func(ctx context.Context) (time.Duration, int, error) {
		start := time.Now()
		req := goOpenAIRequest(prompt, benchMaxTokens)
		req.Stream = true
		req.StreamOptions = &goopenai.StreamOptions{IncludeUsage: true}
		s, err := c.CreateChatCompletionStream(ctx, req)
		if err != nil {
			return 0, 0, err
		}
		defer s.Close()
		var ttft time.Duration
		n := 0
		for {
			r, err := s.Recv()
			if errors.Is(err, io.EOF) {
				return ttft, n, nil
			}
			if err != nil {
				return 0, 0, err
			}
			if len(r.Choices) > 0 && r.Choices[0].Delta.Content != "" {
				if n == 0 {
					ttft = time.Since(start)
				}
				n++
			}
		}
	}}
}

// memStreamers builds a deluge and a go-openai streamer over one memDoer.
func memStreamers(body []byte) (streamer, streamer, func(), error) {
	doer := newMemDoer(body, "text/event-stream")
	dc, p, err := newDeluge(delugeConfig{endpoint: memEndpoint, httpClient: &http.Client{Transport: doer}})
	if err != nil {
		return streamer{}, streamer{}, nil, err
	}
	gc := newGoOpenAI(memEndpoint, &http.Client{Transport: doer})
	return delugeStreamer(dc, benchPrompt), goOpenAIStreamer(gc, benchPrompt), func() { p.Close() }, nil
}

func runStream(ctx context.Context, p streamParams) (*streamResult, error) {
	dShort, gShort, closeShort, err := memStreamers(shortStream)
	if err != nil {
		return nil, err
	}
	defer closeShort()
	dLong, gLong, closeLong, err := memStreamers(longStream)
	if err != nil {
		return nil, err
	}
	defer closeLong()

	cons := []*contender{
		streamContender(ctx, dShort, shortChunks), streamContender(ctx, gShort, shortChunks),
		streamContender(ctx, dLong, longChunks), streamContender(ctx, gLong, longChunks),
	}
	smp, err := interleave(ctx, cons, p.rounds, p.slices, p.slice)
	if err != nil {
		return nil, err
	}
	const dS, gS, dL, gL = 0, 1, 2, 3
	extraChunks := float64(longChunks - shortChunks)
	perChunk := func(long, short int, f func(sample) float64) []float64 {
		out := make([]float64, p.rounds)
		for r := range out {
			out[r] = (f(smp[long][r]) - f(smp[short][r])) / extraChunks
		}
		return out
	}
	ttft := func(i int) []float64 { return column(smp[i], extraOf) }
	dChunk, gChunk := perChunk(dL, dS, wallOf), perChunk(gL, gS, wallOf)
	dChunkCPU, gChunkCPU := perChunk(dL, dS, cpuOf), perChunk(gL, gS, cpuOf)
	res := &streamResult{
		TTFTAddedUs:         round2(median(diffs(ttft(dS), ttft(gS))) / 1e3),
		ChunkOverheadNs:     round1(median(diffs(dChunk, gChunk))),
		DelugeTTFTUs:        round2(median(ttft(dS)) / 1e3),
		GoopenaiTTFTUs:      round2(median(ttft(gS)) / 1e3),
		DelugeChunkNs:       round1(median(dChunk)),
		GoopenaiChunkNs:     round1(median(gChunk)),
		ChunkRatio:          round3(median(ratios(dChunk, gChunk))),
		DelugeChunkCPUNs:    round1(median(dChunkCPU)),
		GoopenaiChunkCPUNs:  round1(median(gChunkCPU)),
		ChunkOverheadCPUNs:  round1(median(diffs(dChunkCPU, gChunkCPU))),
		ChunkCPURatio:       round3(median(ratios(dChunkCPU, gChunkCPU))),
		DelugeChunkAllocs:   round2(median(perChunk(dL, dS, allocsOf))),
		GoopenaiChunkAllocs: round2(median(perChunk(gL, gS, allocsOf))),
		DelugeChunkBytes:    round1(median(perChunk(dL, dS, bytesOf))),
		GoopenaiChunkBytes:  round1(median(perChunk(gL, gS, bytesOf))),
		DelugeStreamNs:      round1(median(column(smp[dS], wallOf))),
		GoopenaiStreamNs:    round1(median(column(smp[gS], wallOf))),
		ShortStreamBytes:    len(shortStream),
		LongStreamBytes:     len(longStream),
		Rounds:              p.rounds,
	}

	// Loopback: time to first token against the emulator.
	srv := azuretest.NewServer(azuretest.WithArrivalLog(0))
	defer srv.Close()
	dc, prov, err := newDeluge(delugeConfig{endpoint: srv.URL})
	if err != nil {
		return nil, err
	}
	defer prov.Close()
	tr := newPooledTransport()
	defer tr.CloseIdleConnections()
	const loopPrompt = "Count to 3."
	loop := []*contender{
		streamContender(ctx, delugeStreamer(dc, loopPrompt), 0),
		streamContender(ctx, goOpenAIStreamer(newGoOpenAI(srv.URL, &http.Client{Transport: tr}), loopPrompt), 0),
	}
	lsmp, err := interleave(ctx, loop, p.rounds, p.slices, p.slice)
	if err != nil {
		return nil, err
	}
	res.LoopbackTTFTAddedUs = round2(median(diffs(column(lsmp[0], extraOf), column(lsmp[1], extraOf))) / 1e3)
	res.LoopbackDelugeTTFTUs = round2(median(column(lsmp[0], extraOf)) / 1e3)
	res.LoopbackGoopenaiTTFTs = round2(median(column(lsmp[1], extraOf)) / 1e3)
	return res, nil
}

// streamContender runs s, checks the number of text chunks (unless
// wantChunks is 0) and reports the time to first token.
func streamContender(ctx context.Context, s streamer, wantChunks int) *contender {
	return &contender{name: s.name, op: func() (float64, error) {
		ttft, n, err := s.run(ctx)
		if err != nil {
			return 0, err
		}
		if wantChunks > 0 && n != wantChunks {
			return 0, fmt.Errorf("%s: %d chunks, want %d", s.name, n, wantChunks)
		}
		return float64(ttft), nil
	}}
}
