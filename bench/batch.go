package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// batchResult is the batch figure: batch.Client.Submit of N prompts to the
// emulator's Global Batch deployment — build the input files from an
// iterator (one line per prompt, serialized by the chat serializer),
// split them at Azure's 100,000 lines, upload each over loopback HTTP,
// wait until processed, create its job — measured in a fresh process per
// count (the runner re-executes itself) so that one count's high-water
// mark cannot leak into the other's. The emulator runs in the parent and
// holds its jobs (HoldAsync): the child's RSS and time are the client's.
type batchResult struct {
	LinesPerSecSmall float64 `json:"lines_per_s_small"`
	LinesPerSecLarge float64 `json:"lines_per_s_large"`
	RSSMBSmall       float64 `json:"rss_mb_small"`
	RSSMBLarge       float64 `json:"rss_mb_large"`
	Ratio            float64 `json:"rss_ratio"`
	HeapPeakMBLarge  float64 `json:"heap_peak_mb_large"`

	Small batchChildResult `json:"small"`
	Large batchChildResult `json:"large"`
}

type batchParams struct{ small, large int }

// batchChildResult is what a batch child reports on stdout.
type batchChildResult struct {
	Lines       int     `json:"lines"`
	Files       int     `json:"files"`
	Jobs        int     `json:"jobs"`
	Bytes       int64   `json:"bytes"`
	WallS       float64 `json:"wall_s"`
	LinesPerSec float64 `json:"lines_per_s"`
	MBPerSec    float64 `json:"mb_per_s"`
	// VmHWMKB is the peak resident set (/proc/self/status VmHWM).
	VmHWMKB       int64  `json:"vmhwm_kb"`
	HeapPeakBytes uint64 `json:"heap_peak_bytes"`
	NumGC         uint32 `json:"num_gc"`
}

const batchBenchDeployment = "gpt-4o-mini-batch"

func runBatch(ctx context.Context, p batchParams) (*batchResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "deluge-bench-batch-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	child := func(n int) (batchChildResult, error) {
		srv := azuretest.NewServer(azuretest.WithAPIKeys(benchKey), azuretest.WithArrivalLog(0), azuretest.WithStorageDir(dir),
			azuretest.WithBatchDeployment(batchBenchDeployment, "gpt-4o-mini"))
		defer srv.Close()
		srv.HoldAsync(true) // the jobs are not run: only the submission is measured
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, exe, "-batch-child", strconv.Itoa(n), "-batch-endpoint", srv.URL, "-batch-dir", dir)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return batchChildResult{}, fmt.Errorf("child for %d lines: %w: %s", n, err, strings.TrimSpace(stderr.String()))
		}
		var r batchChildResult
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			return batchChildResult{}, fmt.Errorf("child for %d lines: %w: %q", n, err, stdout.String())
		}
		if got := len(srv.Batches()); got != r.Jobs || r.Lines != n {
			return r, fmt.Errorf("child for %d lines: %d lines in %d jobs, the emulator holds %d", n, r.Lines, r.Jobs, got)
		}
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
	return &batchResult{
		LinesPerSecSmall: small.LinesPerSec,
		LinesPerSecLarge: large.LinesPerSec,
		RSSMBSmall:       mb(small.VmHWMKB),
		RSSMBLarge:       mb(large.VmHWMKB),
		Ratio:            round3(float64(large.VmHWMKB) / float64(small.VmHWMKB)),
		HeapPeakMBLarge:  round1(float64(large.HeapPeakBytes) / (1 << 20)),
		Small:            small,
		Large:            large,
	}, nil
}

// batchChild is the child process: submit n generated prompts, then
// report on stdout.
func batchChild(n int, endpoint, dir string) error {
	sampler := startSampler(10 * time.Millisecond)
	p, err := azurefoundry.New(azurefoundry.Config{Endpoint: endpoint, APIKey: benchKey, Logger: quietLogger,
		BatchDeployments: map[string]string{"azure-gpt-4o-mini": batchBenchDeployment}})
	if err != nil {
		return err
	}
	defer p.Close()
	c, err := llm.NewClient("azure-gpt-4o-mini", llm.WithProviderInstance(p), llm.WithLogger(quietLogger), llm.WithMaxNewTokens(100))
	if err != nil {
		return err
	}
	bc := batch.New(c, batch.WithSpoolDir(dir), batch.WithLogger(quietLogger))
	// The prompts of the memory figure, generated as they are read.
	jobs := func(yield func(string, llm.Job) bool) {
		for i := range n {
			id := fmt.Sprintf("p%07d", i)
			prompt := fmt.Sprintf("Prompt %07d: explain the water cycle to a curious twelve-year-old in three sentences.", i)
			if !yield(id, llm.Job{Conversation: conversation.New().User(prompt)}) {
				return
			}
		}
	}
	st := batch.NewState()
	start := time.Now()
	if err := bc.Submit(context.Background(), st, jobs); err != nil {
		return err
	}
	wall := time.Since(start)
	peak, _ := sampler.stop()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res := batchChildResult{Lines: st.Lines(), Files: len(st.Parts), WallS: round2(wall.Seconds()),
		LinesPerSec: round1(float64(n) / wall.Seconds()), HeapPeakBytes: peak, NumGC: ms.NumGC}
	for _, p := range st.Parts {
		res.Bytes += p.Bytes
		if p.Created() {
			res.Jobs++
		}
	}
	res.MBPerSec = round1(float64(res.Bytes) / (1 << 20) / wall.Seconds())
	if res.VmHWMKB, err = procStatusKB("VmHWM"); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(&res)
}
