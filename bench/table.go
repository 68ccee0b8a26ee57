package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
)

// printTable writes the headline figures as a table for people; the JSON
// that follows it has everything.
func printTable(w io.Writer, r *report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tdeluge\tbaseline\tratio / added\ttarget")
	if o := r.Overhead; o != nil {
		fmt.Fprintf(tw, "overhead, in-memory %.1f KB (ns/op)\t%.0f\tgo-openai %.0f, openai-go %.0f\t%.3f× go-openai\t≤ 1.10×\n",
			float64(o.BodyBytes)/1024, o.DelugeNsPerOp, o.GoopenaiNsPerOp, o.OpenaigoNsPerOp, o.RatioVsGoopenai)
		fmt.Fprintf(tw, "  allocs/op, B/op\t%.0f, %.0f\tgo-openai %.0f, %.0f; openai-go %.0f, %.0f\t\t\n",
			o.DelugeAllocsPerOp, o.DelugeBytesPerOp, o.GoopenaiAllocs, o.GoopenaiBytes, o.OpenaigoAllocs, o.OpenaigoBytes)
		if l := o.Large; l != nil {
			fmt.Fprintf(tw, "overhead, in-memory %.1f KB (ns/op)\t%.0f\tgo-openai %.0f, openai-go %.0f\t%.3f× go-openai\t\n",
				float64(l.BodyBytes)/1024, l.DelugeNsPerOp, l.GoopenaiNsPerOp, l.OpenaigoNsPerOp, l.RatioVsGoopenai)
		}
		if l := o.Loopback; l != nil {
			fmt.Fprintf(tw, "overhead, loopback emulator (µs/op)\t%.1f\tgo-openai %.1f, openai-go %.1f\t+%.1f µs\t≤ 50 µs\n",
				l.DelugeNsPerOp/1e3, l.GoopenaiNsPerOp/1e3, l.OpenaigoNsPerOp/1e3, o.LoopbackAddedUs)
		}
	}
	if t := r.Throughput; t != nil {
		fmt.Fprintf(tw, "throughput, %d prompts × c=%d (req/s)\t%.0f\terrgroup %.0f\t%.3f×\t≥ 0.97×\n", t.Prompts, t.Concurrency, t.DelugeRPS, t.BaselineRPS, t.Ratio)
		fmt.Fprintf(tw, "  latency p50 / p99 (ms)\t%.2f / %.2f\t%.2f / %.2f\t\t\n", t.P50Ms, t.P99Ms, t.BaselineP50Ms, t.BaselineP99Ms)
	}
	if s := r.Scheduling; s != nil {
		for _, sh := range []struct {
			name, goal string
			r          *shapeResult
		}{{"rpm-bound", "≤ 1.02×, ≤ 0.2%", s.RPMBound}, {"tpm-bound", "≤ 1.02×, ≤ 0.2%", s.TPMBound}, {"over-configured +30%", "≤ 1.10×, < 2%", s.OverConfigured}} {
			if sh.r == nil {
				continue
			}
			x := sh.r
			fmt.Fprintf(tw, "scheduling %s, %d prompts, RPM %d TPM %d (s)\t%.2f (429s: %d, %.2f%%)\tx/time/rate %.2f (429s: %d, %.2f%%)\t%.3f× ideal %.2f s (baseline %.3f×)\t%s\n",
				sh.name, x.Prompts, x.RPM, x.TPM, x.WallS, x.Server429, x.RefusedPct, x.BaselineWallS, x.BaselineServer429, x.BaselineRefusedPct, x.Ratio, x.IdealS, x.BaselineRatio, sh.goal)
		}
	}
	if m := r.Memory; m != nil {
		fmt.Fprintf(tw, "memory, ProcessSeq JSONL→JSONL (peak RSS MB)\t%d: %.1f, %d: %.1f\t\t%.3f×\t≤ 1.2×, < 150 MB\n",
			m.Small.Prompts, m.RSSMB10k, m.Large.Prompts, m.RSSMB100k, m.Ratio)
		fmt.Fprintf(tw, "  peak heap (MB)\t%.1f, %.1f\t\t%.3f×\t\n", m.HeapPeakMB10k, m.HeapPeakMB100k, m.HeapRatio)
	}
	if s := r.Stream; s != nil {
		fmt.Fprintf(tw, "stream, time to first token (µs)\t%.1f\tgo-openai %.1f\t+%.1f µs\t\n", s.DelugeTTFTUs, s.GoopenaiTTFTUs, s.TTFTAddedUs)
		fmt.Fprintf(tw, "stream, per chunk (ns)\t%.0f\tgo-openai %.0f\t+%.0f ns (%.3f×)\t\n", s.DelugeChunkNs, s.GoopenaiChunkNs, s.ChunkOverheadNs, s.ChunkRatio)
		fmt.Fprintf(tw, "stream, loopback time to first token (µs)\t%.1f\tgo-openai %.1f\t+%.1f µs\t\n", s.LoopbackDelugeTTFTUs, s.LoopbackGoopenaiTTFTs, s.LoopbackTTFTAddedUs)
	}
	if b := r.Batch; b != nil {
		fmt.Fprintf(tw, "batch submit, build + upload (lines/s)\t%d: %.0f, %d: %.0f\t\t%.1f MB/s\t\n",
			b.Small.Lines, b.LinesPerSecSmall, b.Large.Lines, b.LinesPerSecLarge, b.Large.MBPerSec)
		fmt.Fprintf(tw, "  peak RSS (MB)\t%.1f, %.1f\t\t%.3f×\t< 100 MB, flat\n", b.RSSMBSmall, b.RSSMBLarge, b.Ratio)
	}
	if so := r.ScaleOut; so != nil && so.Shared != nil {
		for _, m := range []struct {
			name, goal string
			m          *scaleoutMode
		}{{"shared through Redis", "≥ 0.98 used, ≤ 0.2%", so.Shared}, {"static split (¼ each)", "", so.Static}, {"unaware (whole quota each)", "", so.Unaware}} {
			if m.m == nil {
				continue
			}
			fmt.Fprintf(tw, "scale-out %d workers, %d prompts (%v), RPM %d: %s (s)\t%.2f (429s: %d, %.2f%%)\t\t%.3f of the quota, %.3f× ideal %.2f s\t%s\n",
				so.Workers, so.Prompts, so.Shares, so.RPM, m.name, m.m.WallS, m.m.Server429, m.m.RefusedPct, m.m.QuotaUsed, m.m.RatioToIdeal, so.IdealS, m.goal)
		}
		fmt.Fprintf(tw, "  shared / static split (wall)\t%.3f\t\t\t< 1\n", so.SharedVsStatic)
	}
	if re := r.RespEmb; re != nil {
		x := re.Responses
		fmt.Fprintf(tw, "responses, in-memory %.1f KB (ns/op)\t%.0f\tnet/http %.0f, openai-go %.0f, go-openai chat %.0f\t%.3f× chat, %.3f× net/http (+%.1f µs)\t≤ 1.10× chat\n",
			float64(x.BodyBytes)/1024, x.DelugeNsPerOp, x.RawNsPerOp, x.OpenaigoNsPerOp, x.ChatGoopenaiNsPerOp, x.RatioVsChatGoopenai, x.RatioVsRaw, x.AddedUsVsRaw)
		e := re.Embeddings
		fmt.Fprintf(tw, "embeddings, %d × %d, %.0f KB (ns/op)\t%.0f\tgo-openai %.0f\t%.3f× (+%.1f µs)\t≤ 1.10×\n",
			e.Inputs, e.Dimensions, float64(e.BodyBytes)/1024, e.DelugeNsPerOp, e.GoopenaiNsPerOp, e.Ratio, e.AddedUs)
	}
	if te := r.Telemetry; te != nil {
		fmt.Fprintf(tw, "telemetry, in-memory %.1f KB (ns/op)\tnone %.0f\toff %.0f, metrics %.0f, on %.0f\toff %.3f× (+%.1f µs), metrics %.3f×, on %.3f× (+%.1f µs)\t≤ 1.05× off\n",
			float64(te.BodyBytes)/1024, te.NoneNsPerOp, te.OffNsPerOp, te.MetricsNsPerOp, te.OnNsPerOp, te.OffRatio, te.OffAddedUs, te.MetricsRatio, te.OnRatio, te.OnAddedUs)
		fmt.Fprintf(tw, "  allocs/op\t%.0f\toff %.0f, metrics %.0f, on %.0f\t\t\n", te.NoneAllocs, te.OffAllocs, te.MetricsAllocs, te.OnAllocs)
	}
	if a := r.Anthropic; a != nil {
		for _, s := range []struct {
			name string
			s    *anthropicSet
			goal string
		}{{"in-memory", a.InMemory, "≤ +10 µs, < 1× SDK"}, {"loopback emulator", a.Loopback, ""}} {
			if s.s == nil {
				continue
			}
			x := s.s
			fmt.Fprintf(tw, "anthropic, %s (ns/op)\t%.0f (provider %.0f)\tnet/http %.0f, anthropic-sdk-go %.0f\t+%.1f µs net/http, %.3f× SDK\t%s\n",
				s.name, x.DelugeNsPerOp, x.ProviderNsPerOp, x.RawNsPerOp, x.SDKNsPerOp, x.AddedUsVsRaw, x.RatioVsSDK, s.goal)
		}
	}
	tw.Flush()
	for _, k := range slices.Sorted(maps.Keys(r.Targets)) {
		t := r.Targets[k]
		mark := "MET"
		if !t.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "target %-18s %-7s %v  (%s)\n", k, mark, t.Value, t.Goal)
	}
	for k, e := range r.Errors {
		fmt.Fprintf(w, "error in %s: %s\n", k, e)
	}
}
