package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDemo runs the demo whole (its emulator, pacing, injected failures and
// retries) in a synctest bubble, on fake time, with the emulator reached
// over in-memory connections; TestDemoOnLoopback runs it as a user would.
func TestDemo(t *testing.T) {
	// The demo must not depend on the user's Azure settings.
	t.Setenv("AZURE_OPENAI_ENDPOINT", "https://wrong.invalid")
	t.Setenv("AZURE_OPENAI_API_KEY", "wrong")
	t.Chdir(t.TempDir())
	synctest.Test(t, testDemo)
}

func testDemo(t *testing.T) {
	start := time.Now()
	r := cli{ctx: context.Background(), inMemory: true}.run(t, "demo", "--latency", "2ms")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Less(t, time.Since(start), time.Minute)
	assert.Empty(t, r.stdout)
	assert.Regexp(t, `succeeded\s+200`, r.stderr)
	assert.Contains(t, r.stderr, "What just happened")
	assert.Contains(t, r.stderr, "export AZURE_OPENAI_ENDPOINT=https://<resource>.openai.azure.com")
	rs := readResults(t, "demo-results.jsonl")
	requireEachOnce(t, rs)
	assert.Equal(t, "azure-foundry", rs[0].Provider)

	// A second demo replaces the file rather than resuming it.
	r = cli{inMemory: true}.run(t, "demo", "--latency", "1ms", "--fail-rate", "0", "-q")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Empty(t, r.stderr, "--quiet")
	requireEachOnce(t, readResults(t, "demo-results.jsonl"))
	assert.Len(t, readResults(t, "demo-results.jsonl"), 200)
}

// TestDemoOnLoopback runs the demo with its emulator on a loopback port, as
// "deluge demo" does, without injected failures (their retries are
// TestDemo's).
func TestDemoOnLoopback(t *testing.T) {
	t.Setenv("AZURE_OPENAI_ENDPOINT", "https://wrong.invalid")
	t.Setenv("AZURE_OPENAI_API_KEY", "wrong")
	t.Chdir(t.TempDir())
	r := cli{}.run(t, "demo", "--latency", "0s", "--fail-rate", "0")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "on an in-process Azure OpenAI emulator at http://127.0.0.1:")
	assert.Regexp(t, `succeeded\s+200`, r.stderr)
	requireEachOnce(t, readResults(t, "demo-results.jsonl"))
}

// TestDemoOutputFallsBackToTempDir: when the current directory cannot
// take demo-results.jsonl, the demo writes it to the temporary directory;
// an -o the user gave is an error instead. It used to skip when run as
// root (root writes anywhere), and CI runs as root: the current directory
// is now one that was removed, where nobody can create a file (ENOENT).
func TestDemoOutputFallsBackToTempDir(t *testing.T) {
	check := func(t *testing.T) {
		p, err := demoOutput("demo-results.jsonl", false)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(os.TempDir(), "demo-results.jsonl"), p)
		_, err = demoOutput("demo-results.jsonl", true)
		assert.ErrorContains(t, err, "cannot write output")
	}
	t.Run("removed", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "gone")
		require.NoError(t, os.Mkdir(dir, 0o755))
		t.Chdir(dir)
		require.NoError(t, os.Remove(dir))
		check(t)
	})
	t.Run("read-only", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes to read-only directories; the removed one covers it")
		}
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o555))
		t.Chdir(dir)
		check(t)
	})
}
