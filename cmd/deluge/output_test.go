package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
)

func TestResultJSONSchema(t *testing.T) {
	p := &prompt{Line: 3, ID: "q1"}
	ok := successResult(p, &llm.Response{
		Model: "azure-gpt-4o", Provider: "azure-foundry", Region: "East US", Completion: "hi <there> & \"you\"\nbye",
		FinishReason: "stop", Usage: llm.Usage{InputTokens: 10, OutputTokens: 2}, Cost: 0.5, Attempts: 2,
		Latency: 1500 * time.Millisecond, RequestID: "req-1",
	})
	data, err := json.Marshal(ok)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	for _, k := range []string{"id", "model", "provider", "region", "completion", "finish_reason", "usage", "cost",
		"attempts", "latency_ms", "error", "content_filter"} {
		assert.Contains(t, m, k, "every documented field is present")
	}
	assert.Nil(t, m["error"])
	assert.Nil(t, m["content_filter"])
	assert.Equal(t, 1500.0, m["latency_ms"])
	assert.Equal(t, 3.0, m["line"])

	cf := &llm.ContentFilterResults{Violence: llm.SeverityResult{Filtered: true, Severity: "high"}}
	bad := errorResult(p, "azure-gpt-4o", "azure-foundry", &llm.Error{
		Code: llm.CodeContentFiltered, Provider: "azure-foundry", Model: "azure-gpt-4o", StatusCode: 400,
		Message: "prompt filtered", ContentFilter: cf, RequestID: "req-2",
	})
	require.NotNil(t, bad.Error)
	assert.Equal(t, "content_filtered", bad.Error.Code)
	assert.Equal(t, 400, bad.Error.Status)
	assert.Contains(t, bad.Error.Message, "prompt filtered")
	assert.Same(t, cf, bad.Filter)
	assert.Equal(t, "req-2", bad.RequestID)

	plain := errorResult(p, "m", "prov", fmt.Errorf("wrapped: %w", errors.New("boom")))
	assert.Equal(t, "unknown", plain.Error.Code)

	malformed := errorResult(&prompt{Line: 9, ID: "9", Err: errors.New("invalid JSON")}, "m", "prov", nil)
	assert.Equal(t, codeInvalidInput, malformed.Error.Code)
	assert.Equal(t, "line 9: invalid JSON", malformed.Error.Message)
}

func TestResultWriterConcurrentLinesAreWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	f, ix, err := openOutput(path)
	require.NoError(t, err)
	w := newResultWriter(f, f, ix.size)
	w.syncInterval = 0 // fsync every line: exercise the path

	const writers, each = 8, 50
	big := strings.Repeat("z", 10_000) // several lines larger than a pipe buffer
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				r := &result{ID: fmt.Sprintf("g%d-%d", g, i), Completion: big + "\n\"quoted\""}
				assert.NoError(t, w.Write(r))
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Close())
	assert.Equal(t, writers*each, w.Lines())

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(nil, 1<<20)
	seen := map[string]bool{}
	for sc.Scan() {
		var r result
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "every line is one whole JSON object")
		assert.False(t, seen[r.ID], "no line is written twice")
		seen[r.ID] = true
		assert.Equal(t, big+"\n\"quoted\"", r.Completion)
	}
	assert.Len(t, seen, writers*each)
	assert.True(t, strings.HasSuffix(string(data), "}\n"))
}

// failingFile fails a write after writing part of it, like a full disk.
type failingFile struct {
	f     *os.File
	after int // bytes accepted before failing
}

func (ff *failingFile) Write(p []byte) (int, error) {
	if len(p) <= ff.after {
		ff.after -= len(p)
		return ff.f.Write(p)
	}
	n, _ := ff.f.Write(p[:ff.after])
	ff.after = 0
	return n, errors.New("no space left on device")
}

func TestResultWriterShortWriteLeavesNoPartialLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	f, ix, err := openOutput(path)
	require.NoError(t, err)
	w := newResultWriter(&failingFile{f: f, after: 300}, f, ix.size)
	require.NoError(t, w.Write(&result{ID: "a"}))
	err = w.Write(&result{ID: "b", Completion: strings.Repeat("x", 400)})
	require.ErrorContains(t, err, "no space left")
	require.ErrorContains(t, w.Write(&result{ID: "c"}), "no space left", "a failed writer stays failed")
	require.Error(t, w.Close())

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, 1, "the partial second line was taken back out")
	assert.Contains(t, lines[0], `"id":"a"`)
}
