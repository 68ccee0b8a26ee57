package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each "prompt" of 400 ASCII characters estimates at 3 (priming) + 4
// (message framing) + 100 = 107 tokens.
var prompt400 = strings.Repeat("abcd", 100)

func promptLine(id, extra string) string {
	return `{"id":"` + id + `","prompt":"` + prompt400 + `"` + extra + "}\n"
}

func TestEstimateJSON(t *testing.T) {
	input := promptLine("a", "") + promptLine("b", `,"max_tokens":10`) + promptLine("c", `,"model":"clitest-big"`) +
		"{broken\n" + promptLine("a", "")
	r := cli{stdin: input}.run(t, "estimate", "-m", "clitest-small", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var est estimate
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &est))
	assert.Equal(t, 3, est.Prompts)
	assert.Equal(t, 1, est.Malformed)
	assert.Equal(t, 1, est.Duplicates)
	assert.Contains(t, r.stderr, "line 4: invalid JSON")

	byModel := map[string]modelEstimate{}
	for _, m := range est.Models {
		byModel[m.Model] = m
	}
	small := byModel["clitest-small"]
	assert.Equal(t, 2, small.Prompts)
	assert.Equal(t, 214, small.InputTokens)
	assert.Equal(t, 110, small.MaxOutputTokens, "model maximum (100) for a, the line's max_tokens (10) for b")
	assert.InDelta(t, 214*1.0/1e6, small.MinCost, 1e-12)
	assert.InDelta(t, (214*1.0+110*2.0)/1e6, small.MaxCost, 1e-12)

	big := byModel["clitest-big"]
	assert.Equal(t, 1, big.Unbounded, "clitest-big has no maximum output and no --max-tokens was given")
	assert.Equal(t, 3, est.Total.Prompts)
	assert.InDelta(t, small.MaxCost+big.MaxCost, est.Total.MaxCost, 1e-12)
}

func TestEstimateTable(t *testing.T) {
	path := writeFile(t, "p.jsonl", promptLine("a", "")+promptLine("b", ""))
	r := runCLI(t, "estimate", "-m", "clitest-small", "-i", path, "--max-tokens", "50")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `clitest-small\s+2\s+~214\s+100\s+\$0\.000214\s+\$0\.000414`, r.stdout)
	assert.NotContains(t, r.stdout, "note:")
}

func TestEstimateSkipsDoneWithOutput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "p.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	writeTo(t, in, promptLine("a", "")+promptLine("b", ""))
	writeTo(t, out, `{"id":"a","error":null}`+"\n")
	r := runCLI(t, "estimate", "-m", "clitest-small", "-i", in, "-o", out, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var est estimate
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &est))
	assert.Equal(t, 1, est.Prompts)
	assert.Equal(t, 1, est.Done)
}

func TestEstimateErrors(t *testing.T) {
	r := runCLI(t, "estimate", "-m", "clitest-smal", "-i", "whatever.jsonl")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `did you mean "clitest-small"`)

	r = runCLI(t, "estimate", "-m", "clitest-small", "-i", filepath.Join(t.TempDir(), "missing.jsonl"))
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "cannot read input")

	r = cli{}.run(t, "estimate", "-m", "clitest-small")
	assert.Equal(t, exitOK, r.code, "empty stdin is an empty estimate")

	r = cli{stdin: promptLine("a", `,"model":"nope-model"`)}.run(t, "estimate", "-m", "clitest-small", "--json")
	require.Equal(t, exitOK, r.code)
	assert.Contains(t, r.stderr, `line 1: unknown model "nope-model"`)
}

func writeTo(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, osWriteFile(path, content))
}

// TestEstimateBatchRefusesWhatBatchJobsCannotCarry: embeddings and Claude
// models are refused by 'deluge batch submit', so 'estimate --batch'
// prices them at no batch rate: the whole run for the -m model, the line
// for a line's own model.
func TestEstimateBatchRefusesWhatBatchJobsCannotCarry(t *testing.T) {
	in := writeFile(t, "prompts.jsonl", `{"id":"a","prompt":"hello"}`+"\n"+
		`{"id":"b","prompt":"hello","model":"azure-claude-haiku-4-5"}`+"\n"+
		`{"id":"c","prompt":"hello","model":"azure-gpt-4o-mini"}`+"\n")

	r := runCLI(t, "estimate", "-m", "azure-text-embedding-3-small", "-i", in, "--batch")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "embeddings model")
	assert.Contains(t, r.stderr, "deluge embed")
	r = runCLI(t, "estimate", "-m", "azure-text-embedding-3-small", "-i", in)
	assert.Equal(t, exitOK, r.code, "without --batch an embeddings model is priced: %s", r.stderr)

	r = runCLI(t, "estimate", "-m", "azure-gpt-4o-mini", "-i", in, "--batch", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "line 2: model azure-claude-haiku-4-5 is a Claude model")
	var est estimate
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &est))
	assert.Equal(t, 2, est.Prompts)
	assert.Equal(t, 1, est.Malformed)
	assert.Equal(t, "batch", est.Route)
}
