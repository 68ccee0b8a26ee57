package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/registry"
)

func TestEstimateBatchPricesTheBatchRoute(t *testing.T) {
	in := writeFile(t, "p.jsonl", promptLine("a", "")+promptLine("b", ""))
	var sync, batched estimate
	r := runCLI(t, "estimate", "-m", "azure-gpt-4o", "-i", in, "--max-tokens", "100", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &sync))
	r = runCLI(t, "estimate", "-m", "azure-gpt-4o", "-i", in, "--max-tokens", "100", "--json", "--batch")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &batched))
	assert.Equal(t, "batch", batched.Route)
	assert.InDelta(t, sync.Total.MaxCost*azurefoundry.GlobalBatch.BatchMultiplier(), batched.Total.MaxCost, 1e-12)
	assert.InDelta(t, sync.Total.MinCost/2, batched.Total.MinCost, 1e-12)

	t.Setenv(azurefoundry.EnvBatchDeploymentType, "data-zone-batch")
	m, err := registry.Lookup("azure-gpt-4o")
	require.NoError(t, err)
	assert.InDelta(t, azurefoundry.BatchCost(m, llm.Usage{InputTokens: 10, OutputTokens: 5}, azurefoundry.DataZoneBatch), batchPrice(m, 10, 5), 1e-15)
	mo, err := registry.Lookup("gpt-4o")
	require.NoError(t, err)
	assert.InDelta(t, mo.Cost(10, 0, 5)/2, batchPrice(mo, 10, 5), 1e-15, "OpenAI: half price")

	r = runCLI(t, "estimate", "-m", "azure-gpt-4o", "-i", in, "--batch")
	require.Equal(t, exitOK, r.code)
	assert.Contains(t, r.stdout, "batch prices")
}

func TestLineRuns(t *testing.T) {
	var r lineRuns
	for i, line := range []int{1, 2, 3, 5, 6, 9} {
		r.add(i, line)
	}
	assert.Equal(t, lineRuns{{0, 1, 3}, {3, 5, 2}, {5, 9, 1}}, r)
	for i, want := range []int{1, 2, 3, 5, 6, 9} {
		assert.Equal(t, want, r.line(i))
	}
	assert.Zero(t, r.line(6))
	b, err := json.Marshal(r)
	require.NoError(t, err)
	assert.JSONEq(t, `[[0,1,3],[3,5,2],[5,9,1]]`, string(b))
	var back lineRuns
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, r, back)
}

func TestBatchStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl.batch")
	b, err := loadBatchFile(path)
	require.NoError(t, err)
	assert.Nil(t, b, "no state file")

	b = &batchFile{Version: batchStateVersion, Input: "/in.jsonl", Options: batchOptions{Model: "m"}, Submission: batch.NewState()}
	b.Lines.add(0, 1)
	require.NoError(t, b.save(path))
	back, err := loadBatchFile(path)
	require.NoError(t, err)
	assert.Equal(t, b.Submission.ID, back.Submission.ID)
	assert.Equal(t, b.Lines, back.Lines)
	entries, _ := os.ReadDir(filepath.Dir(path))
	assert.Len(t, entries, 1, "no temporary file left")

	require.NoError(t, os.WriteFile(path, []byte(`{"version":1,"submission":`), 0o644))
	_, err = loadBatchFile(path)
	require.ErrorContains(t, err, "damaged")
	require.NoError(t, os.WriteFile(path, []byte(`{"version":99,"submission":{}}`), 0o644))
	_, err = loadBatchFile(path)
	require.ErrorContains(t, err, "newer deluge")
}

func TestBatchSubmitUsage(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, "p.jsonl", promptLine("a", ""))
	r := runCLI(t, "batch", "submit", "-m", "azure-gpt-4o", "-i", in)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "batch needs an output file")
	r = runCLI(t, "batch", "submit", "-i", in, "-o", filepath.Join(dir, "o.jsonl"))
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "needs a model")
	r = runCLI(t, "batch", "submit", "-m", "azure-gpt-4o", "-i", "-", "-o", filepath.Join(dir, "o.jsonl"))
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "not stdin")
	r = runCLI(t, "batch", "submit", "-m", "azure-gpt-4o", "-i", in, "-o", filepath.Join(dir, "o.jsonl"), "--poll", "0s")
	assert.Equal(t, exitUsage, r.code)
	r = runCLI(t, "batch", "fetch", "-o", filepath.Join(dir, "none.jsonl"))
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "no batch submission")
	// clitest's provider has no batch API: said at submit, nothing written
	// but the state.
	out := filepath.Join(dir, "c.jsonl")
	r = runCLI(t, "batch", "submit", "-m", "clitest-small", "-i", in, "-o", out)
	assert.Equal(t, exitUsage, r.code, r.stderr)
	assert.Contains(t, r.stderr, "has no batch API")
	assert.Contains(t, r.stderr, "deluge run")
}
