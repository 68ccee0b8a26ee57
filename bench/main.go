// Command bench measures deluge against hand-written baselines, in one run
// on one machine, and prints every figure (with its baseline) as one JSON
// object:
//
//	go -C bench run . -json          # the full run (a few minutes)
//	go -C bench run . -json -quick   # CI-sized: fewer rounds and prompts
//	go -C bench run . -only overhead,stream
//
// The figures (see docs/benchmarks.md for method and meaning):
//
//   - overhead: one chat completion through llm.Client.Generate
//     (azure-foundry) against raw go-openai with an Azure ClientConfig and
//     openai-go with its azure options, through an in-memory HTTP doer
//     returning canned Azure bodies (1.4 KB and 10 KB), then over loopback
//     against the emulator.
//   - throughput: Process of 20,000 prompts at high concurrency against the
//     zero-latency emulator, against an errgroup + go-openai loop.
//   - scheduling: batches against the emulator enforcing Azure's quota
//     windows, with 50 ms latency, in three shapes: RPM-bound and TPM-bound
//     with the clients told the true quota, and RPM-bound with the clients
//     told 30% more; wall time against work/quota, and the server's 429s;
//     the baseline is an errgroup loop paced with x/time/rate (burst 1).
//   - memory: peak RSS and heap of ProcessSeq from a JSONL file to a JSONL
//     file, for 10,000 and 100,000 prompts, each count in a fresh process.
//   - stream: time to first token and per-chunk cost against raw go-openai
//     streaming.
//   - batch: batch.Client.Submit of 250,000 and 1,000,000 prompts to the
//     emulator's Global Batch deployment (build, split, upload, create),
//     each count in a fresh process: lines per second and peak RSS.
//   - scaleout: four worker processes against one emulator quota on an
//     uneven job (one worker's share twice the others'), shared through
//     Redis (pacing/redispacing, a redis-server the runner starts), split
//     statically (a quarter each) and unaware of each other (the whole
//     quota each): quota used, 429s and wall time of each.
//   - respemb: a Responses API call (llm.WithAPI(llm.APIResponses))
//     against a hand-written net/http call, openai-go's Responses.New and
//     go-openai's chat completion of the same prompt; Embed of 16 inputs
//     against go-openai's CreateEmbeddings (in-memory doer).
//   - telemetry: the overhead figure's deluge call with no observer,
//     with telemetry.New() over OpenTelemetry's no-op providers (wired in,
//     switched off), with the SDK recording metrics only, and with the SDK
//     recording metrics and every span.
//   - anthropic: a Messages API call through llm.Client and the anthropic
//     provider (and the provider alone) against anthropic-sdk-go and a
//     hand-written net/http call, in memory and against the emulator's
//     Claude route.
//
// The machine may be shared and noisy, so contenders are measured side by
// side: per-call figures in rounds of millisecond slices that rotate
// between the contenders, batch figures in alternating rounds. Figures are
// medians over rounds; ratios are medians of per-round (paired) ratios.
// Nothing here asserts a timing: the targets are reported, never enforced.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/deluge-go/deluge/internal/redisconn"
)

var figureNames = []string{"overhead", "throughput", "scheduling", "memory", "stream", "batch", "respemb", "telemetry", "anthropic", "scaleout"}

// report is the runner's JSON output.
type report struct {
	Machine    machine            `json:"machine"`
	Quick      bool               `json:"quick"`
	Overhead   *overheadResult    `json:"overhead,omitempty"`
	Throughput *throughputResult  `json:"throughput,omitempty"`
	Scheduling *schedulingResult  `json:"scheduling,omitempty"`
	Memory     *memoryResult      `json:"memory,omitempty"`
	Stream     *streamResult      `json:"stream,omitempty"`
	Batch      *batchResult       `json:"batch,omitempty"`
	RespEmb    *respembResult     `json:"responses_embeddings,omitempty"`
	ScaleOut   *scaleoutResult    `json:"scaleout,omitempty"`
	Telemetry  *telemetryResult   `json:"telemetry,omitempty"`
	Anthropic  *anthropicResult   `json:"anthropic,omitempty"`
	Targets    map[string]target  `json:"targets"`
	Errors     map[string]string  `json:"errors,omitempty"`
	DurationS  float64            `json:"duration_s"`
	Durations  map[string]float64 `json:"figure_duration_s"`
	Params     map[string]any     `json:"params"`
}

// target is one goal of the issues (7, 11 to 15), as the runner evaluates
// it.
type target struct {
	Goal  string  `json:"goal"`
	Value float64 `json:"value"`
	Met   bool    `json:"met"`
}

func main() {
	var (
		asJSON     = flag.Bool("json", false, "print one JSON object (default: a table followed by the JSON)")
		quick      = flag.Bool("quick", false, "CI-sized run: fewer rounds and prompts")
		only       = flag.String("only", "", "comma-separated figures to run (default all): "+strings.Join(figureNames, ","))
		cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
		memChild   = flag.Int("memory-child", 0, "internal: run the memory figure's child for this many prompts")
		memIn      = flag.String("memory-in", "", "internal: the child's input JSONL file")
		memOut     = flag.String("memory-out", "", "internal: the child's output JSONL file")
		memURL     = flag.String("memory-endpoint", "", "internal: the emulator the child sends to")
		batchN     = flag.Int("batch-child", 0, "internal: run the batch figure's child for this many lines")
		batchURL   = flag.String("batch-endpoint", "", "internal: the emulator the batch child submits to")
		batchDir   = flag.String("batch-dir", "", "internal: where the batch child builds its files")
		soChild    = flag.String("scaleout-child", "", "internal: run a scale-out worker on this prompts file")
		soURL      = flag.String("scaleout-endpoint", "", "internal: the emulator the scale-out worker sends to")
		soRPM      = flag.Int("scaleout-rpm", 0, "internal: the scale-out worker's RPM")
		soRedis    = flag.String("scaleout-redis", "", "internal: the Redis the scale-out worker paces through")
	)
	flag.Parse()
	redisconn.RouteLogs(quietLogger) // go-redis logs refused dials on stderr otherwise
	if *soChild != "" {
		if err := scaleoutChild(*soChild, *soURL, *soRPM, *soRedis); err != nil {
			fmt.Fprintln(os.Stderr, "bench scale-out worker:", err)
			os.Exit(1)
		}
		return
	}
	if *batchN > 0 {
		if err := batchChild(*batchN, *batchURL, *batchDir); err != nil {
			fmt.Fprintln(os.Stderr, "bench batch child:", err)
			os.Exit(1)
		}
		return
	}
	if *memChild > 0 {
		if err := memoryChild(*memChild, *memIn, *memOut, *memURL); err != nil {
			fmt.Fprintln(os.Stderr, "bench memory child:", err)
			os.Exit(1)
		}
		return
	}
	figures := figureNames
	if *only != "" {
		figures = nil
		for f := range strings.SplitSeq(*only, ",") {
			f = strings.TrimSpace(f)
			if !slices.Contains(figureNames, f) {
				fmt.Fprintf(os.Stderr, "bench: unknown figure %q (want %s)\n", f, strings.Join(figureNames, ", "))
				os.Exit(2)
			}
			figures = append(figures, f)
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	rep := run(ctx, figures, paramsFor(*quick), *quick)
	out, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if !*asJSON {
		printTable(os.Stdout, rep)
		fmt.Println()
	}
	fmt.Println(string(out))
	if len(rep.Errors) > 0 {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// params are the sizes of a run.
type params struct {
	overhead   overheadParams
	throughput throughputParams
	scheduling schedulingParams
	memory     memoryParams
	stream     streamParams
	batch      batchParams
	scaleout   scaleoutParams
}

func paramsFor(quick bool) params {
	if quick {
		return params{
			overhead:   overheadParams{rounds: 9, slices: 40, slice: 2 * time.Millisecond},
			throughput: throughputParams{prompts: 4_000, concurrency: 256, rounds: 7},
			scheduling: schedulingParams{rpmPrompts: 600, tpmPrompts: 300, latency: 50 * time.Millisecond},
			memory:     memoryParams{small: 2_000, large: 20_000},
			stream:     streamParams{rounds: 9, slices: 20, slice: 3 * time.Millisecond},
			batch:      batchParams{small: 25_000, large: 250_000},
			scaleout:   scaleoutParams{prompts: 1_000, latency: 50 * time.Millisecond},
		}
	}
	return params{
		overhead:   overheadParams{rounds: 15, slices: 50, slice: 2 * time.Millisecond},
		throughput: throughputParams{prompts: 20_000, concurrency: 256, rounds: 7},
		scheduling: schedulingParams{rpmPrompts: 3_000, tpmPrompts: 1_500, latency: 50 * time.Millisecond},
		memory:     memoryParams{small: 10_000, large: 100_000},
		stream:     streamParams{rounds: 15, slices: 25, slice: 3 * time.Millisecond},
		batch:      batchParams{small: 250_000, large: 1_000_000},
		scaleout:   scaleoutParams{prompts: 3_000, latency: 50 * time.Millisecond},
	}
}

func run(ctx context.Context, figures []string, p params, quick bool) *report {
	rep := &report{
		Machine:   describeMachine(),
		Quick:     quick,
		Errors:    map[string]string{},
		Durations: map[string]float64{},
		Params:    map[string]any{},
	}
	start := time.Now()
	for _, f := range figures {
		if ctx.Err() != nil {
			rep.Errors[f] = ctx.Err().Error()
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s…\n", f)
		t0 := time.Now()
		var err error
		switch f {
		case "overhead":
			rep.Overhead, err = runOverhead(ctx, p.overhead)
			rep.Params[f] = map[string]any{"rounds": p.overhead.rounds, "slices_per_round": p.overhead.slices, "slice_ms": p.overhead.slice.Milliseconds()}
		case "throughput":
			rep.Throughput, err = runThroughput(ctx, p.throughput)
			rep.Params[f] = map[string]any{"prompts": p.throughput.prompts, "concurrency": p.throughput.concurrency, "rounds": p.throughput.rounds}
		case "scheduling":
			rep.Scheduling, err = runScheduling(ctx, p.scheduling)
			rep.Params[f] = map[string]any{"rpm_bound_prompts": p.scheduling.rpmPrompts, "tpm_bound_prompts": p.scheduling.tpmPrompts, "latency_ms": p.scheduling.latency.Milliseconds()}
		case "memory":
			rep.Memory, err = runMemory(ctx, p.memory)
			rep.Params[f] = map[string]any{"small": p.memory.small, "large": p.memory.large}
		case "batch":
			rep.Batch, err = runBatch(ctx, p.batch)
			rep.Params[f] = map[string]any{"small": p.batch.small, "large": p.batch.large}
		case "respemb":
			rep.RespEmb, err = runRespEmb(ctx, p.overhead)
			rep.Params[f] = map[string]any{"rounds": p.overhead.rounds, "slices_per_round": p.overhead.slices, "slice_ms": p.overhead.slice.Milliseconds()}
		case "telemetry":
			rep.Telemetry, err = runTelemetry(ctx, p.overhead)
			rep.Params[f] = map[string]any{"rounds": p.overhead.rounds, "slices_per_round": p.overhead.slices, "slice_ms": p.overhead.slice.Milliseconds()}
		case "anthropic":
			rep.Anthropic, err = runAnthropic(ctx, p.overhead)
			rep.Params[f] = map[string]any{"rounds": p.overhead.rounds, "slices_per_round": p.overhead.slices, "slice_ms": p.overhead.slice.Milliseconds()}
		case "scaleout":
			rep.ScaleOut, err = runScaleout(ctx, p.scaleout)
			rep.Params[f] = map[string]any{"prompts": p.scaleout.prompts, "latency_ms": p.scaleout.latency.Milliseconds(), "workers": scaleoutWorkers}
		case "stream":
			rep.Stream, err = runStream(ctx, p.stream)
			rep.Params[f] = map[string]any{"rounds": p.stream.rounds, "slices_per_round": p.stream.slices, "slice_ms": p.stream.slice.Milliseconds()}
		}
		rep.Durations[f] = round2(time.Since(t0).Seconds())
		if err != nil {
			rep.Errors[f] = err.Error()
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", f, err)
		}
	}
	rep.DurationS = round2(time.Since(start).Seconds())
	rep.Machine.LoadEnd = loadAvg()
	rep.Targets = evaluateTargets(rep)
	return rep
}

// evaluateTargets reports the goals (issues 7 and 11 to 15) against the
// figures measured.
func evaluateTargets(r *report) map[string]target {
	t := map[string]target{}
	if o := r.Overhead; o != nil {
		t["overhead_ratio"] = target{"deluge / go-openai ≤ 1.10 (in-memory doer, 1.4 KB)", o.RatioVsGoopenai, o.RatioVsGoopenai <= 1.10}
		t["loopback_added_us"] = target{"added loopback latency ≤ 50 µs", o.LoopbackAddedUs, o.LoopbackAddedUs <= 50}
	}
	if re := r.RespEmb; re != nil {
		t["responses_ratio"] = target{"deluge Responses call / go-openai chat of the same prompt ≤ 1.10", re.Responses.RatioVsChatGoopenai, re.Responses.RatioVsChatGoopenai <= 1.10}
		t["embeddings_ratio"] = target{"deluge Embed / go-openai CreateEmbeddings ≤ 1.10", re.Embeddings.Ratio, re.Embeddings.Ratio <= 1.10}
	}
	if x := r.Throughput; x != nil {
		t["throughput_ratio"] = target{"throughput ≥ 0.97 × errgroup + go-openai", x.Ratio, x.Ratio >= 0.97}
	}
	if s := r.Scheduling; s != nil {
		for _, sh := range []struct {
			name          string
			r             *shapeResult
			ratio, refuse float64
		}{{"rpm_bound", s.RPMBound, 1.02, 0.2}, {"tpm_bound", s.TPMBound, 1.02, 0.2}, {"over_configured", s.OverConfigured, 1.10, 2}} {
			if sh.r == nil {
				continue
			}
			t["scheduling_"+sh.name+"_ratio"] = target{fmt.Sprintf("%s: wall time ≤ %.2f × work/quota", sh.name, sh.ratio), sh.r.Ratio, sh.r.Ratio <= sh.ratio}
			t["scheduling_"+sh.name+"_refused_pct"] = target{fmt.Sprintf("%s: server 429s ≤ %.1f%% of requests", sh.name, sh.refuse), sh.r.RefusedPct, sh.r.RefusedPct <= sh.refuse}
		}
	}
	if so := r.ScaleOut; so != nil && so.Shared != nil {
		t["scaleout_quota_used"] = target{"scale-out, shared through Redis: ≥ 0.98 of the quota used", so.Shared.QuotaUsed, so.Shared.QuotaUsed >= 0.98}
		t["scaleout_refused_pct"] = target{"scale-out, shared through Redis: server 429s ≤ 0.2% of requests", so.Shared.RefusedPct, so.Shared.RefusedPct <= 0.2}
		t["scaleout_vs_static"] = target{"scale-out: the shared run finishes the uneven job faster than the static split (ratio < 1)", so.SharedVsStatic, so.SharedVsStatic < 1}
	}
	if te := r.Telemetry; te != nil {
		t["telemetry_off_ratio"] = target{"OpenTelemetry off (telemetry.New(), no SDK) / no observer ≤ 1.05 (nothing measurable)", te.OffRatio, te.OffRatio <= 1.05}
	}
	if a := r.Anthropic; a != nil && a.InMemory != nil {
		t["anthropic_added_us"] = target{"anthropic: llm.Client + provider adds ≤ 10 µs over hand-written net/http (in memory)", a.InMemory.AddedUsVsRaw, a.InMemory.AddedUsVsRaw <= 10}
		t["anthropic_vs_sdk"] = target{"anthropic: llm.Client + provider / anthropic-sdk-go < 1 (in memory)", a.InMemory.RatioVsSDK, a.InMemory.RatioVsSDK < 1}
	}
	if m := r.Memory; m != nil {
		t["memory_ratio"] = target{"RSS(100k) ≤ 1.2 × RSS(10k)", m.Ratio, m.Ratio <= 1.2}
		t["memory_rss_mb"] = target{"RSS(100k) < 150 MB", m.RSSMB100k, m.RSSMB100k < 150}
	}
	if b := r.Batch; b != nil {
		t["batch_rss_mb"] = target{"batch submit of the large count: peak RSS < 100 MB", b.RSSMBLarge, b.RSSMBLarge < 100}
		t["batch_rss_ratio"] = target{"batch submit: RSS flat in the lines (large ≤ 1.2 × small)", b.Ratio, b.Ratio <= 1.2}
	}
	return t
}

// machine describes where the figures were measured.
type machine struct {
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	CPU        string `json:"cpu"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	GOGC       string `json:"gogc"`
	MemTotal   string `json:"mem_total"`
	Time       string `json:"time"`
	// Load averages (1, 5, 15 min) before and after the run: the machine
	// is shared, and a busy neighbour shows here.
	LoadStart string `json:"loadavg_start"`
	LoadEnd   string `json:"loadavg_end"`
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func describeMachine() machine {
	m := machine{
		GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		GOGC: os.Getenv("GOGC"), Time: time.Now().UTC().Format(time.RFC3339),
	}
	m.LoadStart = loadAvg()
	if m.GOGC == "" {
		m.GOGC = "default (100)"
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
				m.MemTotal = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}
