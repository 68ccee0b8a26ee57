package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// memoryResult is figure 4: the memory of ProcessSeq streaming prompts from
// a JSONL file to a JSONL file, measured in a fresh process per count (the
// runner re-executes itself), so one count's high-water mark cannot leak
// into the other's. The emulator runs in the parent process: the child's
// RSS is the client's alone. The client has deluge's default concurrency
// (llm.DefaultMaxConcurrency) and no rate limits; GOGC is left alone.
type memoryResult struct {
	RSSMB10k  float64 `json:"rss_mb_10k"`
	RSSMB100k float64 `json:"rss_mb_100k"`
	Ratio     float64 `json:"ratio"`

	HeapPeakMB10k  float64 `json:"heap_peak_mb_10k"`
	HeapPeakMB100k float64 `json:"heap_peak_mb_100k"`
	HeapRatio      float64 `json:"heap_ratio"`
	// RSSKBPer1kPrompts is the slope between the two counts.
	RSSKBPer1kPrompts float64 `json:"rss_kb_per_1k_prompts"`

	Small memoryChildResult `json:"small"`
	Large memoryChildResult `json:"large"`
}

type memoryParams struct{ small, large int }

// memoryChildResult is what a child reports on stdout.
type memoryChildResult struct {
	Prompts   int     `json:"prompts"`
	Succeeded int     `json:"succeeded"`
	Failed    int     `json:"failed"`
	WallS     float64 `json:"wall_s"`
	RPS       float64 `json:"rps"`
	// VmHWMKB is the peak resident set (/proc/self/status VmHWM).
	VmHWMKB int64 `json:"vmhwm_kb"`
	// HeapPeakBytes is the largest heap-objects size sampled every 10 ms
	// (runtime/metrics /memory/classes/heap/objects:bytes).
	HeapPeakBytes uint64 `json:"heap_peak_bytes"`
	// HeapLiveBytes is the heap after a final GC, with the client alive.
	HeapLiveBytes uint64 `json:"heap_live_bytes"`
	// SysBytes is the memory the Go runtime obtained from the OS.
	SysBytes       uint64 `json:"sys_bytes"`
	GoroutinesPeak int    `json:"goroutines_peak"`
	NumGC          uint32 `json:"num_gc"`
	OutputBytes    int64  `json:"output_bytes"`
}

func runMemory(ctx context.Context, p memoryParams) (*memoryResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "deluge-bench-memory-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	srv := azuretest.NewServer(azuretest.WithArrivalLog(0))
	defer srv.Close()

	child := func(n int) (memoryChildResult, error) {
		in := filepath.Join(dir, fmt.Sprintf("prompts-%d.jsonl", n))
		out := filepath.Join(dir, fmt.Sprintf("results-%d.jsonl", n))
		if err := writePrompts(in, n); err != nil {
			return memoryChildResult{}, err
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, exe, "-memory-child", strconv.Itoa(n), "-memory-in", in, "-memory-out", out, "-memory-endpoint", srv.URL)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return memoryChildResult{}, fmt.Errorf("child for %d prompts: %w: %s", n, err, strings.TrimSpace(stderr.String()))
		}
		var r memoryChildResult
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			return memoryChildResult{}, fmt.Errorf("child for %d prompts: %w: %q", n, err, stdout.String())
		}
		if r.Succeeded != n {
			return r, fmt.Errorf("child for %d prompts: %d succeeded, %d failed", n, r.Succeeded, r.Failed)
		}
		os.Remove(in)
		os.Remove(out)
		return r, nil
	}
	small, err := child(p.small)
	if err != nil {
		return nil, err
	}
	large, err := child(p.large)
	if err != nil {
		return nil, err
	}
	mb := func(kb int64) float64 { return round1(float64(kb) / 1024) }
	hmb := func(b uint64) float64 { return round1(float64(b) / (1 << 20)) }
	return &memoryResult{
		RSSMB10k:          mb(small.VmHWMKB),
		RSSMB100k:         mb(large.VmHWMKB),
		Ratio:             round3(float64(large.VmHWMKB) / float64(small.VmHWMKB)),
		HeapPeakMB10k:     hmb(small.HeapPeakBytes),
		HeapPeakMB100k:    hmb(large.HeapPeakBytes),
		HeapRatio:         round3(float64(large.HeapPeakBytes) / float64(small.HeapPeakBytes)),
		RSSKBPer1kPrompts: round1(float64(large.VmHWMKB-small.VmHWMKB) / (float64(p.large-p.small) / 1000)),
		Small:             small,
		Large:             large,
	}, nil
}

// writePrompts writes n prompts as JSONL: {"id": …, "prompt": …}.
func writePrompts(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	for i := range n {
		fmt.Fprintf(w, "{\"id\":\"p%07d\",\"prompt\":\"Prompt %07d: explain the water cycle to a curious twelve-year-old in three sentences.\"}\n", i, i)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// promptLine is one input line; resultLine one output line.
type promptLine struct {
	ID     string `json:"id"`
	Prompt string `json:"prompt"`
}

type resultLine struct {
	ID           string `json:"id"`
	Completion   string `json:"completion,omitempty"`
	InputTokens  int    `json:"input_tokens,omitempty"`
	OutputTokens int    `json:"output_tokens,omitempty"`
	Error        string `json:"error,omitempty"`
}

// memoryChild is the child process: ProcessSeq from in to out, then a
// report of its memory on stdout.
func memoryChild(n int, in, out, endpoint string) error {
	sampler := startSampler(10 * time.Millisecond)
	c, prov, err := newDeluge(delugeConfig{endpoint: endpoint, opts: []llm.ClientOption{llm.WithMaxNewTokens(100)}})
	if err != nil {
		return err
	}
	defer prov.Close()
	inf, err := os.Open(in)
	if err != nil {
		return err
	}
	defer inf.Close()
	outf, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(outf, 1<<16)
	enc := json.NewEncoder(w)

	// ids maps the index of each prompt in flight to its ID; entries are
	// removed as results are written, so it holds at most the prompts in
	// flight.
	var (
		mu      sync.Mutex
		ids     = map[int]string{}
		readErr error
	)
	prompts := func(yield func(int, *conversation.Conversation) bool) {
		r := bufio.NewReaderSize(inf, 1<<16)
		for i := 0; ; i++ {
			line, err := r.ReadSlice('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				var p promptLine
				if jerr := json.Unmarshal(line, &p); jerr != nil {
					readErr = fmt.Errorf("line %d: %w", i+1, jerr)
					return
				}
				mu.Lock()
				ids[i] = p.ID
				mu.Unlock()
				if !yield(i, conversation.New().User(p.Prompt)) {
					return
				}
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				readErr = err
				return
			}
		}
	}

	res := memoryChildResult{Prompts: n}
	start := time.Now()
	for i, r := range c.ProcessSeq(context.Background(), prompts, llm.WithProgressTotal(n)) {
		mu.Lock()
		id := ids[i]
		delete(ids, i)
		mu.Unlock()
		line := resultLine{ID: id}
		if r.Err != nil {
			res.Failed++
			line.Error = r.Err.Error()
		} else {
			res.Succeeded++
			line.Completion = r.Response.Completion
			line.InputTokens, line.OutputTokens = r.Response.Usage.InputTokens, r.Response.Usage.OutputTokens
		}
		if err := enc.Encode(&line); err != nil {
			return err
		}
	}
	wall := time.Since(start)
	if readErr != nil {
		return readErr
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := outf.Close(); err != nil {
		return err
	}
	peak, goroutines := sampler.stop()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.WallS = round2(wall.Seconds())
	res.RPS = round1(float64(n) / wall.Seconds())
	res.VmHWMKB, err = procStatusKB("VmHWM")
	if err != nil {
		return err
	}
	res.HeapPeakBytes = peak
	res.HeapLiveBytes = ms.HeapAlloc
	res.SysBytes = ms.Sys
	res.GoroutinesPeak = goroutines
	res.NumGC = ms.NumGC
	if fi, err := os.Stat(out); err == nil {
		res.OutputBytes = fi.Size()
	}
	runtime.KeepAlive(c)
	return json.NewEncoder(os.Stdout).Encode(&res)
}

// sampler records the peak heap and goroutine count.
type sampler struct {
	done       chan struct{}
	finished   chan struct{}
	peak       uint64
	goroutines int
}

func startSampler(every time.Duration) *sampler {
	s := &sampler{done: make(chan struct{}), finished: make(chan struct{})}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/sched/goroutines:goroutines"}}
	read := func() {
		metrics.Read(samples)
		if v := samples[0].Value; v.Kind() == metrics.KindUint64 {
			s.peak = max(s.peak, v.Uint64())
		}
		if v := samples[1].Value; v.Kind() == metrics.KindUint64 {
			s.goroutines = max(s.goroutines, int(v.Uint64()))
		}
	}
	go func() {
		defer close(s.finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			read()
			select {
			case <-t.C:
			case <-s.done:
				read()
				return
			}
		}
	}()
	return s
}

func (s *sampler) stop() (peakHeap uint64, peakGoroutines int) {
	close(s.done)
	<-s.finished
	return s.peak, s.goroutines
}

// procStatusKB reads a "kB" field of /proc/self/status.
func procStatusKB(field string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("reading peak RSS: %w (the memory figure needs Linux)", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != field {
			continue
		}
		v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
		return strconv.ParseInt(v, 10, 64)
	}
	return 0, errors.New("no " + field + " in /proc/self/status")
}
