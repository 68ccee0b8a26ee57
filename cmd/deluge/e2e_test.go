//go:build unix

package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/cache"
	"github.com/deluge-go/deluge/examples"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// End-to-end tests: the deluge command as a separate process (this test
// binary re-executed, see TestMain) against the Azure emulator.

const emulatorKey = "e2e-key"

// child is a deluge process.
type child struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
}

// startDeluge starts deluge with args, pointed at the emulator at url, with
// a clean environment (none of the user's AZURE_* variables, a private
// cache directory).
func startDeluge(t *testing.T, url string, args ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	home := t.TempDir()
	c := &child{cmd: exec.Command(exe, args...)}
	c.cmd.Env = []string{
		"DELUGE_CLI_SUBPROCESS=1",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CACHE_HOME=" + home,
		"NO_COLOR=1",
		"AZURE_OPENAI_ENDPOINT=" + url,
		"AZURE_OPENAI_API_KEY=" + emulatorKey,
	}
	c.cmd.Stdout = &c.stdout
	c.cmd.Stderr = &c.stderr
	require.NoError(t, c.cmd.Start())
	t.Cleanup(func() { c.cmd.Process.Kill() })
	return c
}

// wait waits for the process and returns its exit code.
func (c *child) wait(t *testing.T) int {
	t.Helper()
	err := c.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	require.NoError(t, err)
	return 0
}

// runDeluge runs deluge to completion.
func runDeluge(t *testing.T, url string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	c := startDeluge(t, url, args...)
	code = c.wait(t)
	return code, c.stdout.String(), c.stderr.String()
}

// waitLines waits until path has at least n lines.
func waitLines(t *testing.T, path string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		data, _ := os.ReadFile(path)
		return bytes.Count(data, []byte("\n")) >= n
	}, 30*time.Second, 2*time.Millisecond, "waiting for %d result lines", n)
}

func TestE2ERunAgainstEmulator(t *testing.T) {
	srv := azuretest.NewServer(azuretest.WithAPIKeys(emulatorKey), azuretest.WithLatency(2*time.Millisecond, 3*time.Millisecond),
		azuretest.WithFaults(azuretest.Faults{Rate500: 0.03, Rate503: 0.03}))
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	writeTo(t, in, string(examples.Prompts)+
		"{\"id\":\"broken\",\"prompt\":\n"+
		`{"id":"filtered","prompt":"please FILTER_PROMPT this"}`+"\n")
	out := filepath.Join(dir, "out.jsonl")

	code, stdout, stderr := runDeluge(t, srv.URL, "run", "-m", "azure-gpt-4o-mini", "-i", in, "-o", out,
		"--rpm", "60000", "--tpm", "100000000", "--cache", filepath.Join(dir, "cache.db"))
	assert.Equal(t, exitFailures, code, "a malformed line and a filtered prompt fail: exit 1\n%s", stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "line 201: invalid JSON")
	assert.Regexp(t, `succeeded\s+200`, stderr)
	assert.Regexp(t, `failed\s+2\s+\(content_filtered 1, invalid_input 1\)`, stderr)

	rs := readResults(t, out)
	require.Len(t, rs, 202, "one line per input line")
	requireEachOnce(t, rs)
	byID := map[string]result{}
	for _, r := range rs {
		byID[r.ID] = r
	}
	p1 := byID["p001"]
	assert.Equal(t, azuretest.ExpectedReply("Explain photosynthesis to a curious twelve-year-old in three sentences."), p1.Completion)
	assert.Equal(t, "azure-foundry", p1.Provider)
	assert.Equal(t, azuretest.DefaultRegion, p1.Region)
	assert.Positive(t, p1.Cost)
	assert.NotNil(t, p1.Filter, "Azure's content-filter annotations are kept")
	f := byID["filtered"]
	require.NotNil(t, f.Error)
	assert.Equal(t, "content_filtered", f.Error.Code)
	assert.Equal(t, 400, f.Error.Status)
	// Sent once, unless an injected 5xx (drawn before the prompt filter)
	// was retried first: a filtered prompt itself is never retried.
	assert.GreaterOrEqual(t, f.Attempts, 1, "a failed prompt reports its attempts")
	require.NotNil(t, f.Filter)
	assert.True(t, f.Filter.Filtered())
	require.NotNil(t, byID["201"].Error)
	assert.Equal(t, "invalid_input", byID["201"].Error.Code)
	assert.Zero(t, byID["201"].Attempts, "never sent")
	assert.NotContains(t, stderr, emulatorKey, "secrets are never printed")

	// Rerun: nothing left but the two failures, which fail again. Without
	// injected 5xx faults, so that no retry blurs the request count.
	srv.SetFaults(azuretest.Faults{})
	srv.ResetStats()
	code, _, stderr = runDeluge(t, srv.URL, "run", "-m", "azure-gpt-4o-mini", "-i", in, "-o", out, "--cache", filepath.Join(dir, "cache.db"))
	assert.Equal(t, exitFailures, code)
	assert.Regexp(t, `skipped\s+200 already done`, stderr)
	assert.Equal(t, 1, srv.Requests(), "only the filtered prompt is sent again")
	requireEachOnce(t, readResults(t, out))
}

// TestE2EFailedPromptReportsAttempts: a prompt that fails after every
// attempt (the emulator answers 500 to each) says so in its result line:
// attempts = --max-attempts. (The emulator answers faults before its
// latency, so latency_ms is checked in TestClientEngineOutcomeAttempts.)
func TestE2EFailedPromptReportsAttempts(t *testing.T) {
	srv := azuretest.NewServer(azuretest.WithAPIKeys(emulatorKey), azuretest.WithFaults(azuretest.Faults{Rate500: 1}))
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	writeTo(t, in, `{"id":"a","prompt":"first"}`+"\n"+`{"id":"b","prompt":"second"}`+"\n")
	out := filepath.Join(dir, "out.jsonl")

	const maxAttempts = 3
	code, _, stderr := runDeluge(t, srv.URL, "run", "-m", "azure-gpt-4o-mini", "-i", in, "-o", out, "--no-cache",
		"--max-attempts", fmt.Sprint(maxAttempts))
	assert.Equal(t, exitFailures, code, stderr)
	rs := readResults(t, out)
	require.Len(t, rs, 2)
	for _, r := range rs {
		require.NotNil(t, r.Error, r.ID)
		assert.Equal(t, "unavailable", r.Error.Code, r.ID)
		assert.Equal(t, 500, r.Error.Status, r.ID)
		assert.Equal(t, maxAttempts, r.Attempts, "%s: every attempt is counted", r.ID)
	}
	assert.Equal(t, 2*maxAttempts, srv.Requests())
}

func TestE2EResumeAfterSIGKILL(t *testing.T) {
	srv := azuretest.NewServer(azuretest.WithAPIKeys(emulatorKey), azuretest.WithLatency(20*time.Millisecond, 10*time.Millisecond))
	defer srv.Close()
	dir := t.TempDir()
	in := examplesFile(t)
	out := filepath.Join(dir, "out.jsonl")
	cacheFile := filepath.Join(dir, "cache.db")
	args := []string{"run", "-m", "azure-gpt-4o-mini", "-i", in, "-o", out, "--cache", cacheFile,
		"--rpm", "60000", "--tpm", "100000000", "--concurrency", "4"}

	c := startDeluge(t, srv.URL, args...)
	waitLines(t, out, 40)
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	assert.Equal(t, 128+int(syscall.SIGKILL), c.wait(t))

	first := readResults(t, out) // every line whole
	require.Less(t, len(first), 200, "killed midway")
	done := len(successCounts(first))
	// A crash in the middle of a write would leave a torn last line: add
	// one, as the worst case, to check that the rerun repairs it.
	torn, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = torn.WriteString(`{"id":"p200","line":200,"model":"azure-gpt-4o-mini","compl`)
	require.NoError(t, err)
	require.NoError(t, torn.Close())

	settle(t, srv)
	srv.ResetStats()
	srv.SetLatency(0, 0) // the latency only served to kill the first run midway
	code, _, stderr := runDeluge(t, srv.URL, args...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "removed a partial last line")
	assert.Regexp(t, fmt.Sprintf(`skipped\s+%d already done`, done), stderr)
	requireEachOnce(t, readResults(t, out))
	// Nothing done before the kill was paid again: at most the prompts not
	// yet written were sent (fewer when the cache had their replies).
	assert.LessOrEqual(t, srv.Stats().ByStatus[200], 200-done)
}

func TestE2ESIGINTFinishesInFlightThenResumes(t *testing.T) {
	srv := azuretest.NewServer(azuretest.WithAPIKeys(emulatorKey), azuretest.WithLatency(80*time.Millisecond, 0))
	defer srv.Close()
	dir := t.TempDir()
	in := examplesFile(t)
	out := filepath.Join(dir, "out.jsonl")
	args := []string{"run", "-m", "azure-gpt-4o-mini", "-i", in, "-o", out, "--no-cache",
		"--rpm", "60000", "--tpm", "100000000", "--concurrency", "5"}

	c := startDeluge(t, srv.URL, args...)
	waitLines(t, out, 10)
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGINT))
	code := c.wait(t)
	stderr := c.stderr.String()
	require.Equal(t, exitInterrupted, code, stderr)
	assert.Contains(t, stderr, "finishing the requests in flight")
	assert.Contains(t, stderr, "deluge: interrupted in")
	first := readResults(t, out)
	require.Less(t, len(first), 200)
	st := srv.Stats()
	assert.Equal(t, st.ByStatus[200], len(first), "every request answered before exiting was written")

	srv.SetLatency(0, 0) // the latency only served to interrupt the first run midway
	code, _, stderr = runDeluge(t, srv.URL, args...)
	require.Equal(t, exitOK, code, stderr)
	requireEachOnce(t, readResults(t, out))
}

// TestE2ESIGINTSendsNothingNew: after the first SIGINT nothing new is
// sent, not even the prompts the engine's workers had already taken and
// were pacing out. At 120 RPM with 20 workers, those used to keep going
// out, two a second, for ten seconds (at 60 RPM, for minutes) (issue 16,
// item 7). The emulator's arrival log says what arrived after the signal:
// at most the one request that may have been admitted in the instant
// before it.
func TestE2ESIGINTSendsNothingNew(t *testing.T) {
	srv := azuretest.NewServer(azuretest.WithAPIKeys(emulatorKey), azuretest.WithLatency(30*time.Millisecond, 0), azuretest.WithArrivalLog(1000))
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	args := []string{"run", "-m", "azure-gpt-4o-mini", "-i", examplesFile(t), "-o", out, "--no-cache",
		"--rpm", "120", "--tpm", "100000000", "--concurrency", "20"}

	c := startDeluge(t, srv.URL, args...)
	waitLines(t, out, 4)
	signalled := time.Now()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGINT))
	exited := make(chan int, 1)
	go func() { exited <- c.wait(t) }()
	select {
	case code := <-exited:
		require.Equal(t, exitInterrupted, code, c.stderr.String())
	case <-time.After(8 * time.Second): // the queued prompts, paced, would take 10 s
		c.cmd.Process.Kill()
		t.Fatalf("still running 8 s after SIGINT: prompts queued before the signal are still being sent\n%s", c.stderr.String())
	}
	stderr := c.stderr.String()
	assert.Contains(t, stderr, "sending nothing new")
	assert.Regexp(t, `not run\s+\d+`, stderr, "the queued prompts were not sent, and say so")
	after := 0
	for _, a := range srv.Stats().Arrivals {
		if a.Time.After(signalled) {
			after++
		}
	}
	assert.LessOrEqual(t, after, 1, "requests sent after the signal")
	rs := readResults(t, out)
	assert.Equal(t, srv.Stats().ByStatus[200], len(rs), "every reply received was written, nothing else")
	for _, r := range rs {
		assert.Nil(t, r.Error, "a prompt not sent is not written as a failure")
	}

	// The rerun finishes the job, each ID once.
	srv.SetLatency(0, 0)
	code, _, stderr := runDeluge(t, srv.URL, append(args[:len(args)-6], "--rpm", "60000", "--tpm", "100000000")...)
	require.Equal(t, exitOK, code, stderr)
	requireEachOnce(t, readResults(t, out))
	assert.Len(t, readResults(t, out), 200)
}

// TestE2EKillNeverLosesAWrittenReplyFromTheCache: a reply is committed to
// the response cache before its result line is written, so a kill -9 can
// never leave a line whose reply the cache lost. The test holds the cache
// file's write lock, as another deluge process committing would: the
// cache used to queue the reply and let the line be written at once, and
// the kill then lost the queued rows (with a slower line writer, replies
// were lost from both: paid twice, issue 16, item 10). Now the line waits
// for the commit; the kill comes while the lock is held.
func TestE2EKillNeverLosesAWrittenReplyFromTheCache(t *testing.T) {
	srv := azuretest.NewServer(azuretest.WithAPIKeys(emulatorKey), azuretest.WithLatency(10*time.Millisecond, 0))
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	cacheFile := filepath.Join(dir, "cache.db")
	store, err := cache.OpenSQLite(cacheFile)
	require.NoError(t, err)
	require.NoError(t, store.Close())

	db, err := sql.Open("sqlite", cacheFile)
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(context.Background(), "BEGIN IMMEDIATE") // the write lock
	require.NoError(t, err)

	const concurrency = 4
	c := startDeluge(t, srv.URL, "run", "-m", "azure-gpt-4o-mini", "-i", examplesFile(t), "-o", out, "--cache", cacheFile,
		"--rpm", "60000", "--tpm", "100000000", "--concurrency", fmt.Sprint(concurrency))
	// Kill once lines appear (a line written before its reply is
	// committed), or once the workers have their replies and are all
	// waiting for the commit: then nothing more is sent.
	require.Eventually(t, func() bool {
		data, _ := os.ReadFile(out)
		return bytes.Count(data, []byte("\n")) > 0 || srv.Stats().ByStatus[200] >= concurrency
	}, 30*time.Second, time.Millisecond)
	time.Sleep(200 * time.Millisecond) // room for lines to appear, well within the cache's 5 s busy timeout
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	c.wait(t)
	_, err = conn.ExecContext(context.Background(), "ROLLBACK")
	require.NoError(t, err)

	written := len(successCounts(readResults(t, out)))
	var rows int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM responses").Scan(&rows))
	t.Logf("replies received %d, lines written %d, cached %d", srv.Stats().ByStatus[200], written, rows)
	assert.GreaterOrEqual(t, rows, written, "every line written has its reply in the cache")

	// Without the lock, killed midway: the same holds, and the rerun pays
	// only for what was neither written nor cached.
	c = startDeluge(t, srv.URL, "run", "-m", "azure-gpt-4o-mini", "-i", examplesFile(t), "-o", out, "--cache", cacheFile,
		"--rpm", "60000", "--tpm", "100000000", "--concurrency", fmt.Sprint(concurrency))
	waitLines(t, out, 60)
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	c.wait(t)
	written = len(successCounts(readResults(t, out)))
	require.NoError(t, db.QueryRow("SELECT count(*) FROM responses").Scan(&rows))
	assert.GreaterOrEqual(t, rows, written, "every line written has its reply in the cache")
	settle(t, srv)
	srv.ResetStats()
	code, _, stderr := runDeluge(t, srv.URL, "run", "-m", "azure-gpt-4o-mini", "-i", examplesFile(t), "-o", out, "--cache", cacheFile,
		"--rpm", "60000", "--tpm", "100000000")
	require.Equal(t, exitOK, code, stderr)
	requireEachOnce(t, readResults(t, out))
	assert.Equal(t, 200-rows, srv.Stats().ByStatus[200], "the rerun sends exactly what the cache does not hold")
}

func TestE2ENoCredentials(t *testing.T) {
	code, _, stderr := runDeluge(t, "", "run", "-m", "azure-gpt-4o-mini", "-i", examplesFile(t), "-o", filepath.Join(t.TempDir(), "o.jsonl"))
	assert.Equal(t, exitUsage, code)
	// The child has a key but no endpoint: only the endpoint is asked for.
	assert.Contains(t, stderr, "Set AZURE_OPENAI_ENDPOINT")
	assert.NotContains(t, stderr, "Set AZURE_OPENAI_API_KEY", "the key is set")
}

// TestE2ERunSummarySplitsRoutedModels: a run through Azure's model router
// ends with the split of its replies by the model the router chose.
func TestE2ERunSummarySplitsRoutedModels(t *testing.T) {
	srv := azuretest.NewServer(azuretest.WithAPIKeys(emulatorKey), azuretest.WithModelRouter("model-router"))
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	prompts := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}
	want := map[string]int{}
	var lines strings.Builder
	for i, p := range prompts {
		fmt.Fprintf(&lines, "{\"id\":\"%d\",\"prompt\":%q}\n", i, p)
		want[azuretest.RoutedModel(p)]++
	}
	writeTo(t, in, lines.String())
	require.Greater(t, len(want), 1, "the prompts reach more than one model")

	code, _, stderr := runDeluge(t, srv.URL, "run", "-m", "azure-model-router", "-i", in, "-o", filepath.Join(dir, "out.jsonl"), "--no-cache")
	require.Equal(t, exitOK, code, stderr)
	assert.Regexp(t, `succeeded\s+8`, stderr)
	for m, n := range want {
		assert.Regexp(t, `routed\s+.*`+regexp.QuoteMeta(fmt.Sprintf("%s %d ($", m, n)), stderr)
	}
}
