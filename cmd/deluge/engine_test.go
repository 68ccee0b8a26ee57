package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/cache"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
)

// These tests run "deluge run" through the real llm.Client, against the
// echoing fake provider registered as "clitest".

func TestRunThroughEngineWithCache(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	writeTo(t, in, prompts(30))
	cacheFile := filepath.Join(dir, "cache.db")

	out1 := filepath.Join(dir, "out1.jsonl")
	r := runCLI(t, "run", "-m", "clitest-small", "-i", in, "-o", out1, "--cache", cacheFile, "--rpm", "100000", "--tpm", "10000000")
	require.Equal(t, exitOK, r.code, r.stderr)
	rs := readResults(t, out1)
	require.Len(t, rs, 30)
	for _, res := range rs {
		require.Nil(t, res.Error, "%+v", res.Error)
		assert.Equal(t, fmt.Sprintf("echo: question %d", res.Line), res.Completion)
		assert.Equal(t, "clitest-small", res.Model)
		assert.False(t, res.Cached)
		assert.Positive(t, res.Cost, "priced from the catalog")
		assert.Equal(t, 1, res.Attempts)
	}
	assert.Regexp(t, `cache hits\s+0`, r.stderr)
	var paid llm.Usage
	for _, res := range rs {
		paid = paid.Add(res.Usage)
	}
	assert.Regexp(t, fmt.Sprintf(`tokens\s+in %s \(cached 0\), out %s`, groupDigits(paid.InputTokens), groupDigits(paid.OutputTokens)), r.stderr)

	// The same prompts into a new file: all served by the cache, for free.
	out2 := filepath.Join(dir, "out2.jsonl")
	r = runCLI(t, "run", "-m", "clitest-small", "-i", in, "-o", out2, "--cache", cacheFile)
	require.Equal(t, exitOK, r.code, r.stderr)
	rs = readResults(t, out2)
	require.Len(t, rs, 30)
	for _, res := range rs {
		assert.True(t, res.Cached)
		assert.Zero(t, res.Cost)
	}
	assert.Regexp(t, `cache hits\s+30  \(saved \$0\.`, r.stderr, "what the hits would have cost")
	assert.Contains(t, r.stderr, "cost            $0.00")
	// Tokens count what was paid, as llm.Client.Stats does: none here
	// (they used to add up the cache hits' tokens).
	assert.Contains(t, r.stderr, "tokens          in 0 (cached 0), out 0")
}

func TestRunThroughEnginePerLineOverrides(t *testing.T) {
	before := len(testProvider.Requests())
	r := cli{stdin: `{"id":"a","prompt":"x","model":"clitest-big","max_tokens":9,"temperature":0.25}` + "\n" +
		`{"id":"b","prompt":"y"}` + "\n"}.run(t, "run", "-m", "clitest-small", "--no-cache", "--max-tokens", "42", "--temperature", "1", "--json", "-q")
	require.Equal(t, exitOK, r.code, r.stderr)
	reqs := testProvider.Requests()[before:]
	require.Len(t, reqs, 2)
	byModel := map[string]llm.Request{}
	for _, q := range reqs {
		byModel[q.Model.ID] = q
	}
	a, b := byModel["clitest-big"], byModel["clitest-small"]
	assert.Equal(t, 9, a.MaxNewTokens, "the line's max_tokens wins over --max-tokens")
	require.NotNil(t, a.Temperature)
	assert.Equal(t, 0.25, *a.Temperature)
	assert.Equal(t, 42, b.MaxNewTokens)
	require.NotNil(t, b.Temperature)
	assert.Equal(t, 1.0, *b.Temperature)
	require.NotNil(t, b.ResponseFormat, "--json asks for JSON mode")
	assert.Equal(t, llm.FormatJSONObject, b.ResponseFormat.Type)
}

func TestRunCacheBounds(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	writeTo(t, in, prompts(30))
	cacheFile := filepath.Join(dir, "cache.db")
	r := runCLI(t, "run", "-m", "clitest-small", "-i", in, "-o", filepath.Join(dir, "out.jsonl"), "--cache", cacheFile,
		"--cache-max-entries", "5", "--rpm", "100000", "--tpm", "10000000")
	require.Equal(t, exitOK, r.code, r.stderr)
	store, err := cache.OpenSQLite(cacheFile, cache.WithMaxEntries(5))
	require.NoError(t, err)
	st, err := store.Stats(context.Background())
	require.NoError(t, err)
	require.NoError(t, store.Close())
	assert.Equal(t, int64(5), st.Entries, "the file keeps the newest 5")

	for _, bad := range [][]string{{"--cache-max-entries", "-1"}, {"--cache-ttl", "-1h"}} {
		r := cli{stdin: prompts(1)}.run(t, append([]string{"run", "-m", "clitest-small", "--cache", cacheFile}, bad...)...)
		assert.Equal(t, exitUsage, r.code, bad)
		assert.Contains(t, r.stderr, bad[0], "the error names the flag")
	}
	r = cli{stdin: prompts(1)}.run(t, "run", "-m", "clitest-small", "--no-cache", "--cache-ttl", "1h")
	assert.Equal(t, exitUsage, r.code, "--cache-ttl without a cache is a mistake")
}

func TestRunThroughEngineBadExplicitCache(t *testing.T) {
	dir := t.TempDir()
	r := cli{stdin: prompts(1)}.run(t, "run", "-m", "clitest-small", "--cache", dir) // a directory
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--cache "+dir)
}

// TestClientEngineOutcomeAttempts: the engine's outcomes carry the
// attempts and latency of failed prompts too, as the llm.Client reports
// them in Result.
func TestClientEngineOutcomeAttempts(t *testing.T) {
	fake := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		if llmtest.LastUserText(req) == "down" {
			return nil, llmtest.Error(req, llm.CodeUnavailable, 500, 0)
		}
		return llmtest.Echo(ctx, req, n)
	})
	fake.Latency = time.Millisecond
	const maxAttempts = 3
	client, err := llm.NewClient("clitest-small", llm.WithProviderInstance(fake),
		llm.WithLogger(slog.New(slog.DiscardHandler)), llm.WithMaxAttempts(maxAttempts),
		llm.WithRetryBackoff(time.Millisecond, 2*time.Millisecond))
	require.NoError(t, err)
	e := &clientEngine{client: client, closeCache: func() error { return nil }, inFlight: map[int]*job{}}
	t.Cleanup(func() { _ = e.close() })

	jobs := func(yield func(*job) bool) {
		for i, text := range []string{"down", "up"} {
			if !yield(&job{prompt: prompt{Line: i + 1, ID: text, Conv: conversation.New().User(text)}}) {
				return
			}
		}
	}
	byID := map[string]outcome{}
	for o := range e.process(context.Background(), nil, jobs) {
		byID[o.job.prompt.ID] = o
	}
	down, up := byID["down"], byID["up"]
	require.ErrorIs(t, down.err, llm.ErrUnavailable)
	assert.Equal(t, maxAttempts, down.attempts)
	assert.GreaterOrEqual(t, down.latency, maxAttempts*fake.Latency)
	require.NoError(t, up.err)
	assert.Equal(t, 1, up.attempts)
	assert.Equal(t, up.resp.Latency, up.latency)
}
