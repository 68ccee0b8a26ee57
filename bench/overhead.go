package main

import (
	"context"
	"fmt"
	"time"

	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// overheadResult is figure 1: the cost of one chat completion through
// deluge's whole path (llm.Client.Generate → limiter → azure-foundry
// provider → go-openai) against raw go-openai and openai-go, first against
// the in-memory doer (the client's own cost), then over loopback HTTP
// against the emulator (what a caller waits for).
type overheadResult struct {
	// The 1.4 KB body, in-memory doer.
	DelugeNsPerOp     float64 `json:"deluge_ns_per_op"`
	GoopenaiNsPerOp   float64 `json:"goopenai_ns_per_op"`
	OpenaigoNsPerOp   float64 `json:"openaigo_ns_per_op"`
	RatioVsGoopenai   float64 `json:"ratio_vs_goopenai"`
	RatioVsOpenaigo   float64 `json:"ratio_vs_openaigo"`
	AddedUs           float64 `json:"added_us"`
	DelugeBytesPerOp  float64 `json:"deluge_bytes_per_op"`
	GoopenaiBytes     float64 `json:"goopenai_bytes_per_op"`
	OpenaigoBytes     float64 `json:"openaigo_bytes_per_op"`
	DelugeAllocsPerOp float64 `json:"deluge_allocs_per_op"`
	GoopenaiAllocs    float64 `json:"goopenai_allocs_per_op"`
	OpenaigoAllocs    float64 `json:"openaigo_allocs_per_op"`
	BodyBytes         int     `json:"body_bytes"`

	// LoopbackAddedUs is deluge's median added latency per sequential
	// request over loopback HTTP against the zero-latency emulator.
	LoopbackAddedUs float64 `json:"loopback_added_us"`

	Small    *overheadSet `json:"small_body"`
	Large    *overheadSet `json:"large_body"`
	Loopback *overheadSet `json:"loopback"`

	Rounds int `json:"rounds"`
}

// overheadSet is one comparison (a body size, or loopback).
type overheadSet struct {
	BodyBytes       int     `json:"body_bytes,omitempty"`
	DelugeNsPerOp   float64 `json:"deluge_ns_per_op"`
	GoopenaiNsPerOp float64 `json:"goopenai_ns_per_op"`
	OpenaigoNsPerOp float64 `json:"openaigo_ns_per_op"`
	RatioVsGoopenai float64 `json:"ratio_vs_goopenai"`
	RatioVsOpenaigo float64 `json:"ratio_vs_openaigo"`
	AddedUs         float64 `json:"added_us"`
	// CPU time of the process per operation.
	DelugeCPUNsPerOp   float64 `json:"deluge_cpu_ns_per_op"`
	GoopenaiCPUNsPerOp float64 `json:"goopenai_cpu_ns_per_op"`
	OpenaigoCPUNsPerOp float64 `json:"openaigo_cpu_ns_per_op"`
	CPURatioVsGoopenai float64 `json:"cpu_ratio_vs_goopenai"`
	CPUAddedUs         float64 `json:"cpu_added_us"`
	DelugeBytesPerOp   float64 `json:"deluge_bytes_per_op"`
	GoopenaiBytes      float64 `json:"goopenai_bytes_per_op"`
	OpenaigoBytes      float64 `json:"openaigo_bytes_per_op"`
	DelugeAllocsPerOp  float64 `json:"deluge_allocs_per_op"`
	GoopenaiAllocs     float64 `json:"goopenai_allocs_per_op"`
	OpenaigoAllocs     float64 `json:"openaigo_allocs_per_op"`
	// OpsPerSlice is how many operations each client runs per slice.
	OpsPerSlice []int `json:"ops_per_slice"`
	// RatioRounds is deluge / go-openai (wall) of each round.
	RatioRounds []float64 `json:"ratio_rounds"`
}

type overheadParams struct {
	rounds, slices int
	slice          time.Duration
}

func runOverhead(ctx context.Context, p overheadParams) (*overheadResult, error) {
	small, err := compareCallers(ctx, p, func() (clientSet, error) { return memClients(smallBody) })
	if err != nil {
		return nil, fmt.Errorf("in-memory 1.4 KB: %w", err)
	}
	small.BodyBytes = len(smallBody)
	large, err := compareCallers(ctx, p, func() (clientSet, error) { return memClients(largeBody) })
	if err != nil {
		return nil, fmt.Errorf("in-memory 10 KB: %w", err)
	}
	large.BodyBytes = len(largeBody)
	srv := azuretest.NewServer(azuretest.WithArrivalLog(0))
	defer srv.Close()
	loop, err := compareCallers(ctx, p, func() (clientSet, error) { return loopbackClients(srv.URL) })
	if err != nil {
		return nil, fmt.Errorf("loopback: %w", err)
	}
	return &overheadResult{
		DelugeNsPerOp:     small.DelugeNsPerOp,
		GoopenaiNsPerOp:   small.GoopenaiNsPerOp,
		OpenaigoNsPerOp:   small.OpenaigoNsPerOp,
		RatioVsGoopenai:   small.RatioVsGoopenai,
		RatioVsOpenaigo:   small.RatioVsOpenaigo,
		AddedUs:           small.AddedUs,
		DelugeBytesPerOp:  small.DelugeBytesPerOp,
		GoopenaiBytes:     small.GoopenaiBytes,
		OpenaigoBytes:     small.OpenaigoBytes,
		DelugeAllocsPerOp: small.DelugeAllocsPerOp,
		GoopenaiAllocs:    small.GoopenaiAllocs,
		OpenaigoAllocs:    small.OpenaigoAllocs,
		BodyBytes:         small.BodyBytes,
		LoopbackAddedUs:   loop.AddedUs,
		Small:             small,
		Large:             large,
		Loopback:          loop,
		Rounds:            p.rounds,
	}, nil
}

// compareCallers measures the three clients with interleave and
// summarizes: medians over rounds, and medians of the per-round ratios
// and differences (paired, which cancels drift in the machine's speed).
// Wall time is what a caller waits; CPU time (the whole process) does not
// count time spent descheduled, but a busy neighbour still slows it.
func compareCallers(ctx context.Context, p overheadParams, build func() (clientSet, error)) (*overheadSet, error) {
	cs, err := build()
	if err != nil {
		return nil, err
	}
	defer cs.close()
	callers := cs.all()
	if err := checkReply(ctx, callers, benchPrompt, ""); err != nil {
		return nil, err
	}
	cons := make([]*contender, len(callers))
	for i, c := range callers {
		cons[i] = &contender{name: c.name, op: func() (float64, error) { _, err := c.call(ctx, benchPrompt); return 0, err }}
	}
	smp, err := interleave(ctx, cons, p.rounds, p.slices, p.slice)
	if err != nil {
		return nil, err
	}
	const d, g, o = 0, 1, 2
	med := func(i int, f func(sample) float64) float64 { return round1(median(column(smp[i], f))) }
	wall := func(i int) []float64 { return column(smp[i], wallOf) }
	cpu := func(i int) []float64 { return column(smp[i], cpuOf) }
	ops := make([]int, len(cons))
	for i, c := range cons {
		ops[i] = c.n
	}
	return &overheadSet{
		DelugeNsPerOp:      med(d, wallOf),
		GoopenaiNsPerOp:    med(g, wallOf),
		OpenaigoNsPerOp:    med(o, wallOf),
		RatioVsGoopenai:    round3(median(ratios(wall(d), wall(g)))),
		RatioVsOpenaigo:    round3(median(ratios(wall(d), wall(o)))),
		AddedUs:            round2(median(diffs(wall(d), wall(g))) / 1e3),
		DelugeCPUNsPerOp:   med(d, cpuOf),
		GoopenaiCPUNsPerOp: med(g, cpuOf),
		OpenaigoCPUNsPerOp: med(o, cpuOf),
		CPURatioVsGoopenai: round3(median(ratios(cpu(d), cpu(g)))),
		CPUAddedUs:         round2(median(diffs(cpu(d), cpu(g))) / 1e3),
		DelugeBytesPerOp:   med(d, bytesOf),
		GoopenaiBytes:      med(g, bytesOf),
		OpenaigoBytes:      med(o, bytesOf),
		DelugeAllocsPerOp:  med(d, allocsOf),
		GoopenaiAllocs:     med(g, allocsOf),
		OpenaigoAllocs:     med(o, allocsOf),
		OpsPerSlice:        ops,
		RatioRounds:        roundAll(ratios(wall(d), wall(g)), round3),
	}, nil
}

func roundAll(xs []float64, f func(float64) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
