//go:build unix

package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/examples"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// End-to-end tests of "deluge batch": the command as a child process
// against the emulator, killed with SIGKILL at the points a submission
// can stop between two records of its state.

const batchDeployment = "gpt-4o-mini-batch"

// batchEmulator is an emulator with a Global Batch deployment, behind a
// gate that can hold one request and, optionally, let the emulator act on
// it first: the child is killed while the request is held.
type batchEmulator struct {
	*azuretest.Handler
	URL string

	mu      sync.Mutex
	match   func(*http.Request) bool
	forward bool          // let the emulator handle the held request first
	arrived chan struct{} // closed when the request is held
	release chan struct{} // closed to let the held request go
}

func newBatchEmulator(t *testing.T, opts ...azuretest.Option) *batchEmulator {
	t.Helper()
	opts = append([]azuretest.Option{azuretest.WithAPIKeys(emulatorKey), azuretest.WithBatchDeployment(batchDeployment, "gpt-4o-mini"),
		azuretest.WithDeployment("gpt-4o-mini", ""),
		azuretest.WithBatchTiming(azuretest.BatchTiming{Validating: 5 * time.Millisecond, Finalizing: 5 * time.Millisecond})}, opts...)
	e := &batchEmulator{Handler: azuretest.NewHandler(opts...)}
	ts := httptest.NewServer(http.HandlerFunc(e.serve))
	e.URL = ts.URL
	t.Cleanup(func() {
		e.mu.Lock()
		if e.release != nil {
			select {
			case <-e.release:
			default:
				close(e.release)
			}
		}
		e.mu.Unlock()
		ts.Close()
		e.Handler.Close()
	})
	return e
}

// hold makes the next request matching m wait (after the emulator handled
// it, with forward) until release.
func (e *batchEmulator) hold(m func(*http.Request) bool, forward bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.match, e.forward = m, forward
	e.arrived, e.release = make(chan struct{}), make(chan struct{})
}

func (e *batchEmulator) serve(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	held := e.match != nil && e.match(r)
	var arrived, release chan struct{}
	forward := e.forward
	if held {
		e.match = nil
		arrived, release = e.arrived, e.release
	}
	e.mu.Unlock()
	if !held {
		e.Handler.ServeHTTP(w, r)
		return
	}
	if forward {
		e.Handler.ServeHTTP(httptest.NewRecorder(), r)
	}
	close(arrived)
	<-release
	// The client is gone: nothing is answered.
}

func postTo(suffix string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, suffix)
	}
}

// inputFiles counts the emulator's input files.
func inputFiles(h *azuretest.Handler) int {
	n := 0
	for _, f := range h.Files() {
		if f.Purpose == "batch" {
			n++
		}
	}
	return n
}

// examplePrompts maps the IDs of examples.Prompts to their prompt.
func examplePrompts(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	pr := newPromptReader(bytes.NewReader(examples.Prompts), "")
	for {
		p, err := pr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.NoError(t, p.Err)
		last, _ := p.Conv.Last()
		out[p.ID] = last.Text()
	}
	require.Len(t, out, 200)
	return out
}

// checkEveryResult checks that out holds one line per example prompt, the
// emulator's reply to it, at the batch price.
func checkEveryResult(t *testing.T, out string) {
	t.Helper()
	want := examplePrompts(t)
	rs := readResults(t, out)
	require.Len(t, rs, 200, "one line per prompt, each written once")
	seen := map[string]bool{}
	for _, r := range rs {
		require.Nil(t, r.Error, "%s: %+v", r.ID, r.Error)
		require.False(t, seen[r.ID], "%s written twice", r.ID)
		seen[r.ID] = true
		// The reply to the prompt, cut at its max_tokens when the line
		// (or --max-tokens) set one.
		full := azuretest.ExpectedReply(want[r.ID])
		if r.FinishReason == "length" {
			assert.True(t, strings.HasPrefix(full, r.Completion) && len(r.Completion) < len(full), "%s: %q", r.ID, r.Completion)
		} else {
			assert.Equal(t, full, r.Completion, r.ID)
			assert.Equal(t, "stop", r.FinishReason, r.ID)
		}
		assert.Equal(t, "azure-gpt-4o-mini", r.Model)
		assert.Equal(t, "azure-foundry", r.Provider)
		assert.Positive(t, r.Cost)
		assert.Positive(t, r.Line)
		assert.Equal(t, 1, r.Attempts)
	}
}

// readBatchState reads a state file.
func readBatchState(t *testing.T, path string) *batchFile {
	t.Helper()
	b, err := loadBatchFile(path)
	require.NoError(t, err)
	require.NotNil(t, b)
	return b
}

func TestE2EBatchSurvivesKillsBetweenUploadAndCreate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		route   string
		forward bool
		stage   string
	}{
		{"upload reply lost", "/files", true, "uploading"},
		{"killed before create", "/batches", false, "creating"},
		{"create reply lost", "/batches", true, "creating"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu := newBatchEmulator(t)
			dir := t.TempDir()
			in, out := examplesFile(t), filepath.Join(dir, "results.jsonl")
			args := []string{"batch", "submit", "-m", "azure-gpt-4o-mini", "--deployment", batchDeployment, "-i", in, "-o", out,
				"--file-lines", "70", "--max-tokens", "64"}

			emu.hold(postTo(tc.route), tc.forward)
			c := startDeluge(t, emu.URL, args...)
			select {
			case <-emu.arrived:
			case <-time.After(30 * time.Second):
				t.Fatalf("the request never came\n%s", c.stderr.String())
			}
			// The intent is on record before the request was sent.
			st := readBatchState(t, statePath(out))
			require.NotEmpty(t, st.Submission.Parts)
			assert.Equal(t, tc.stage, string(st.Submission.Parts[0].Stage))
			require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
			assert.Equal(t, 128+int(syscall.SIGKILL), c.wait(t))
			close(emu.release)

			code, _, stderr := runDeluge(t, emu.URL, append(args, "--wait", "--poll", "20ms")...)
			require.Equal(t, exitOK, code, stderr)
			assert.Contains(t, stderr, "resuming the submission")
			assert.NotContains(t, stderr, emulatorKey)

			assert.Equal(t, 3, inputFiles(emu.Handler), "200 prompts at 70 per file: 3 uploads, none twice")
			jobs := emu.Batches()
			require.Len(t, jobs, 3, "one job per file, none twice")
			inputs := map[string]bool{}
			for _, j := range jobs {
				assert.False(t, inputs[j.InputFileID], "two jobs on %s", j.InputFileID)
				inputs[j.InputFileID] = true
				assert.Equal(t, batchDeployment, j.Deployment)
			}
			checkEveryResult(t, out)

			// Nothing is left next to the output but the results and the
			// state: no input file, no ID file.
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			assert.ElementsMatch(t, []string{"results.jsonl", "results.jsonl.batch"}, names)

			// fetch again: nothing more is written.
			code, _, stderr = runDeluge(t, emu.URL, "batch", "fetch", "-o", out)
			require.Equal(t, exitOK, code, stderr)
			assert.Contains(t, stderr, "written now     0 lines")
			checkEveryResult(t, out)
		})
	}
}

// A fetch killed while writing a part (its last line torn) and run again
// writes each result once.
func TestE2EBatchFetchTwiceWritesEachResultOnce(t *testing.T) {
	emu := newBatchEmulator(t)
	dir := t.TempDir()
	in, out := examplesFile(t), filepath.Join(dir, "results.jsonl")
	code, _, stderr := runDeluge(t, emu.URL, "batch", "submit", "-m", "azure-gpt-4o-mini", "--deployment", batchDeployment,
		"-i", in, "-o", out, "--file-lines", "70", "--wait", "--poll", "20ms")
	require.Equal(t, exitOK, code, stderr)
	checkEveryResult(t, out)

	// Rewind to the middle of part 2's writing, as a kill would leave it.
	st := readBatchState(t, statePath(out))
	start2, ok := st.FetchStart[2]
	require.True(t, ok)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	cut := int(start2) + bytes.IndexByte(data[start2:], '\n') + 1 // one line of part 2 kept
	cut += bytes.IndexByte(data[cut:], '\n') / 2                  // and half of the next
	require.NoError(t, os.WriteFile(out, data[:cut], 0o644))
	st.Fetched = []int{0, 1}
	delete(st.FetchStart, 3)
	st.Written = writtenCounts{}
	require.NoError(t, st.save(statePath(out)))

	code, _, stderr = runDeluge(t, emu.URL, "batch", "fetch", "-o", out)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "removed a partial last line")
	checkEveryResult(t, out)
	code, _, stderr = runDeluge(t, emu.URL, "batch", "fetch", "-o", out)
	require.Equal(t, exitOK, code, stderr)
	checkEveryResult(t, out)
}

// An expired job: fetch writes what finished and an error line for each
// prompt it did not run; 'deluge run' on the same output sends only those.
func TestE2EBatchExpiredThenRun(t *testing.T) {
	var emu *batchEmulator
	emu = newBatchEmulator(t, azuretest.WithBeforeBatchLine(func(id string, n int) {
		if n == 51 {
			emu.ExpireBatch(id)
		}
	}))
	dir := t.TempDir()
	in, out := examplesFile(t), filepath.Join(dir, "results.jsonl")
	code, _, stderr := runDeluge(t, emu.URL, "batch", "submit", "-m", "azure-gpt-4o-mini", "--deployment", batchDeployment,
		"-i", in, "-o", out, "--wait", "--poll", "20ms")
	require.Equal(t, exitFailures, code, stderr)
	assert.Contains(t, stderr, "expired 1")
	rs := readResults(t, out)
	require.Len(t, rs, 200)
	failed := 0
	for _, r := range rs {
		if r.Error != nil {
			failed++
			assert.Equal(t, "timeout", r.Error.Code, r.ID)
			assert.Contains(t, r.Error.Message, "expired")
			assert.Zero(t, r.Attempts)
		}
	}
	assert.Equal(t, 150, failed, "lines 51 to 200 did not run")

	emu.ResetStats()
	code, _, stderr = runDeluge(t, emu.URL, "run", "-m", "azure-gpt-4o-mini", "-i", in, "-o", out, "--no-cache")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, 150, emu.Requests(), "only the prompts the job did not run are sent")
	requireEachOnce(t, readResults(t, out))
}

func TestE2EBatchErrorsSayWhatToFix(t *testing.T) {
	emu := newBatchEmulator(t, azuretest.WithEnqueuedTokenLimit(batchDeployment, 100))
	dir := t.TempDir()
	in, out := examplesFile(t), filepath.Join(dir, "results.jsonl")
	code, _, stderr := runDeluge(t, emu.URL, "batch", "submit", "-m", "azure-gpt-4o-mini", "--deployment", batchDeployment, "-i", in, "-o", out)
	assert.Equal(t, exitFailures, code, stderr)
	assert.Contains(t, stderr, "enqueued-token quota")
	assert.Contains(t, stderr, "rerun the same command")
	assert.Empty(t, emu.Batches())

	// Not a batch deployment: the job fails validation, fetch says why.
	out2 := filepath.Join(dir, "other.jsonl")
	code, _, stderr = runDeluge(t, emu.URL, "batch", "submit", "-m", "azure-gpt-4o-mini", "--deployment", "gpt-4o-mini",
		"-i", in, "-o", out2, "--wait", "--poll", "20ms")
	assert.Equal(t, exitFailures, code, stderr)
	rs := readResults(t, out2)
	require.Len(t, rs, 200)
	require.NotNil(t, rs[0].Error)
	assert.Contains(t, rs[0].Error.Message, "Global Batch")

	code, _, stderr = runDeluge(t, emu.URL, "batch", "status", "-o", filepath.Join(dir, "none.jsonl"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "no batch submission")
}
