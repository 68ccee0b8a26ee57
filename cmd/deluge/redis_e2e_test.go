//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/internal/redistest"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// End-to-end tests of scaling out: deluge worker processes (this test
// binary re-executed, see TestMain) sharing one emulator quota through a
// real redis-server.

// startWorker starts deluge like startDeluge, with extra environment.
func startWorker(t *testing.T, url string, extraEnv []string, args ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	home := t.TempDir()
	c := &child{cmd: exec.Command(exe, args...)}
	c.cmd.Env = append([]string{
		"DELUGE_CLI_SUBPROCESS=1",
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CACHE_HOME=" + home,
		"NO_COLOR=1",
		"AZURE_OPENAI_ENDPOINT=" + url,
		"AZURE_OPENAI_API_KEY=" + emulatorKey,
	}, extraEnv...)
	c.cmd.Stdout = &c.stdout
	c.cmd.Stderr = &c.stderr
	require.NoError(t, c.cmd.Start())
	t.Cleanup(func() { c.cmd.Process.Kill() })
	return c
}

// numberedPrompts writes n prompts with IDs r0001… to a file.
func numberedPrompts(t *testing.T, n int) string {
	t.Helper()
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"id":"r%04d","prompt":"Question %d: name a prime number larger than %d."}`+"\n", i, i, i)
	}
	return writeFile(t, "in.jsonl", b.String())
}

// eachOnce checks that the outputs hold exactly one successful line for
// each of the n IDs, and nothing else.
func eachOnce(t *testing.T, n int, outs ...string) {
	t.Helper()
	seen := map[string]int{}
	lines := 0
	for _, o := range outs {
		for _, r := range readResults(t, o) {
			lines++
			require.Nil(t, r.Error, "%s: %s failed: %+v", o, r.ID, r.Error)
			seen[r.ID]++
		}
	}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("r%04d", i)
		require.Equal(t, 1, seen[id], "%s appears %d times across the outputs", id, seen[id])
	}
	require.Equal(t, n, lines, "no line besides one per ID")
}

// shardOut names the output of shard k.
func shardOut(dir string, k int) string { return filepath.Join(dir, fmt.Sprintf("out-%d.jsonl", k)) }

// Three workers, each told the deployment's whole quota, share it through
// Redis: one is killed (SIGKILL) midway and rerun; every ID is answered
// exactly once across the outputs, the server refuses at most 0.2 % of the
// requests, and a rerun is answered from the cache in Redis.
func TestE2ERedisWorkersShareAQuota(t *testing.T) {
	rds := redistest.New(t)
	const (
		prompts = 1500
		rpm     = 12_000 // 200 a second: 7.5 s of work for the three together
	)
	srv := azuretest.NewServer(azuretest.WithAPIKeys(emulatorKey), azuretest.WithDefaultRateLimit(rpm, 100_000_000),
		azuretest.WithLatency(20*time.Millisecond, 20*time.Millisecond))
	defer srv.Close()
	in := numberedPrompts(t, prompts)
	dir := t.TempDir()
	args := func(k int, out string) []string {
		return []string{"run", "-m", "azure-gpt-4o-mini", "-i", in, "-o", out,
			"--redis", rds.URL(), "--shard", fmt.Sprintf("%d/3", k),
			"--rpm", fmt.Sprint(rpm), "--tpm", "100000000", "--max-tokens", "16", "--concurrency", "64"}
	}
	workers := make([]*child, 3)
	for k := 1; k <= 3; k++ {
		workers[k-1] = startWorker(t, srv.URL, nil, args(k, shardOut(dir, k))...)
	}
	waitLines(t, shardOut(dir, 1), 100)
	require.NoError(t, workers[0].cmd.Process.Signal(syscall.SIGKILL))
	assert.Equal(t, 128+int(syscall.SIGKILL), workers[0].wait(t))
	killedAt := len(readResults(t, shardOut(dir, 1)))
	for _, w := range workers[1:] {
		require.Equal(t, exitOK, w.wait(t), w.stderr.String())
		assert.Contains(t, w.stderr.String(), "sharing quotas, 429 pauses and the cache through Redis")
		assert.Regexp(t, `other shards\s+[\d,]+ lines`, w.stderr.String())
	}
	again := startWorker(t, srv.URL, nil, args(1, shardOut(dir, 1))...)
	require.Equal(t, exitOK, again.wait(t), again.stderr.String())
	assert.Contains(t, again.stderr.String(), fmt.Sprintf("resuming: %d IDs already done", killedAt))
	eachOnce(t, prompts, shardOut(dir, 1), shardOut(dir, 2), shardOut(dir, 3))

	st := srv.Stats()
	logRefusals(t, st)
	assert.LessOrEqual(t, float64(st.RateLimited), 0.002*float64(st.Requests),
		"server 429s ≤ 0.2%% of requests: %d of %d", st.RateLimited, st.Requests)

	// A rerun of a shard into a fresh output is answered from the cache
	// its first run left in Redis: no request reaches the server.
	srv.ResetStats()
	fresh := filepath.Join(dir, "rerun-2.jsonl")
	code, _, stderr := runDeluge(t, srv.URL, args(2, fresh)...)
	require.Equal(t, exitOK, code, stderr)
	n := len(readResults(t, fresh))
	assert.Positive(t, n)
	assert.Regexp(t, fmt.Sprintf(`cache hits\s+%d`, n), stderr)
	assert.Zero(t, srv.Stats().Requests, "every reply came from the cache in Redis")
}

// Redis lost mid-run (killed, then restarted empty on the same port): the
// workers go on pacing locally at their share, warn once, attach again,
// and lose or duplicate nothing.
func TestE2ERedisLostMidRun(t *testing.T) {
	rds := redistest.New(t)
	const (
		prompts = 900
		rpm     = 6_000
	)
	srv := azuretest.NewServer(azuretest.WithAPIKeys(emulatorKey), azuretest.WithDefaultRateLimit(rpm, 100_000_000),
		azuretest.WithLatency(20*time.Millisecond, 20*time.Millisecond))
	defer srv.Close()
	in := numberedPrompts(t, prompts)
	dir := t.TempDir()
	workers := make([]*child, 3)
	for k := 1; k <= 3; k++ {
		workers[k-1] = startWorker(t, srv.URL, nil, "run", "-m", "azure-gpt-4o-mini", "-i", in, "-o", shardOut(dir, k),
			"--redis", rds.URL(), "--shard", fmt.Sprintf("%d/3", k), "--log-level", "info",
			"--rpm", fmt.Sprint(rpm), "--tpm", "100000000", "--max-tokens", "16", "--concurrency", "32")
	}
	waitLines(t, shardOut(dir, 1), 40)
	rds.Kill()
	// The workers keep going without Redis.
	before := len(readResults(t, shardOut(dir, 2)))
	waitLines(t, shardOut(dir, 2), before+40)
	require.NoError(t, rds.Restart())
	for k, w := range workers {
		code := w.wait(t)
		stderr := w.stderr.String()
		require.Equal(t, exitOK, code, "worker %d: %s", k+1, stderr)
		assert.Equal(t, 1, strings.Count(stderr, "level=WARN msg=\"redispacing: lost Redis"), "worker %d warns once: %s", k+1, stderr)
		assert.Contains(t, stderr, "Redis answers again", "worker %d attached again", k+1)
	}
	eachOnce(t, prompts, shardOut(dir, 1), shardOut(dir, 2), shardOut(dir, 3))
	st := srv.Stats()
	logRefusals(t, st)
	// Each worker paced at its share while Redis was away, and held to it
	// while the others attached again: no more than a stray 429.
	assert.LessOrEqual(t, float64(st.RateLimited), 0.01*float64(st.Requests), "server 429s: %d of %d", st.RateLimited, st.Requests)
}

// logRefusals logs the server's counts and when each 429 came.
func logRefusals(t *testing.T, st azuretest.Stats) {
	t.Helper()
	t.Logf("server: %d requests, %d refused (429)", st.Requests, st.RateLimited)
	if len(st.Arrivals) == 0 {
		return
	}
	start := st.Arrivals[0].Time
	for _, a := range st.Arrivals {
		if a.Status == 429 {
			t.Logf("  429 at %v (%v into its second), retry-after %v", a.Time.Sub(start).Round(time.Millisecond),
				a.Time.Sub(a.Time.Truncate(time.Second)).Round(100*time.Microsecond), a.RetryAfter)
		}
	}
}

// A TLS Redis (rediss://) with a password: the worker connects when told
// the CA (SSL_CERT_FILE), and its errors never show the password.
func TestE2ERedisTLS(t *testing.T) {
	files, err := redistest.NewTLSFiles(t.TempDir())
	require.NoError(t, err)
	const secret = "e2e-redis-Secret"
	rds := redistest.New(t, redistest.Options{TLS: files, Password: secret})
	srv := azuretest.NewServer(azuretest.WithAPIKeys(emulatorKey))
	defer srv.Close()
	in := numberedPrompts(t, 20)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	args := []string{"run", "-m", "azure-gpt-4o-mini", "-i", in, "-o", out, "--redis", rds.URL()}

	c := startWorker(t, srv.URL, []string{"SSL_CERT_FILE=" + files.CAFile}, args...)
	require.Equal(t, exitOK, c.wait(t), c.stderr.String())
	eachOnce(t, 20, out)

	c = startWorker(t, srv.URL, nil, args...) // the CA not trusted
	assert.Equal(t, exitUsage, c.wait(t))
	assert.Contains(t, c.stderr.String(), "authority this host does not trust")
	assert.NotContains(t, c.stderr.String(), secret)

	wrong := strings.Replace(rds.URL(), secret, "not-the-"+secret, 1)
	c = startWorker(t, srv.URL, []string{"SSL_CERT_FILE=" + files.CAFile}, "run", "-m", "azure-gpt-4o-mini", "-i", in, "-o", out, "--redis", wrong)
	assert.Equal(t, exitUsage, c.wait(t))
	assert.Contains(t, c.stderr.String(), "refused the user and password")
	assert.NotContains(t, c.stderr.String(), secret)
}

// With --redis-optional, a worker starts without Redis, paces at its
// share, and finishes.
func TestE2ERedisOptional(t *testing.T) {
	rds := redistest.New(t)
	url := rds.URL()
	rds.Stop()
	srv := azuretest.NewServer(azuretest.WithAPIKeys(emulatorKey))
	defer srv.Close()
	in := numberedPrompts(t, 30)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	code, _, stderr := runDeluge(t, srv.URL, "run", "-m", "azure-gpt-4o-mini", "-i", in, "-o", out, "--redis", url, "--redis-optional", "--shard", "1/1")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "pacing locally at this worker's share")
	eachOnce(t, 30, out)
}
