//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// "deluge batch" with a Responses-only model (azure-o3-pro): its prompts go
// in Responses API lines (url /v1/responses), their replies come back
// through the Responses parser, in deluge run's result format.
func TestE2EBatchResponsesModel(t *testing.T) {
	emu := newBatchEmulator(t, azuretest.WithBatchDeployment("o3-pro-batch", "o3-pro"))
	dir := t.TempDir()
	in, out := examplesFile(t), filepath.Join(dir, "results.jsonl")
	code, _, stderr := runDeluge(t, emu.URL, "batch", "submit", "-m", "azure-o3-pro", "--deployment", "o3-pro-batch",
		"-i", in, "-o", out, "--file-lines", "120", "--wait", "--poll", "20ms")
	// The 15 example prompts with "max_tokens": 5 are below the Responses
	// API's minimum (16), as for 'deluge run': not sent, error lines.
	require.Equal(t, exitFailures, code, stderr)
	assert.Contains(t, stderr, "15 input lines were not submitted")
	assert.Contains(t, stderr, "below the Responses API's minimum of 16", "the refused lines are named")
	assert.Contains(t, stderr, "… and 5 more")
	assert.NotContains(t, stderr, emulatorKey)

	jobs := emu.Batches()
	require.Len(t, jobs, 2, "200 prompts at 120 per file")
	for _, j := range jobs {
		assert.Equal(t, "/v1/responses", j.Endpoint)
		assert.Equal(t, "o3-pro-batch", j.Deployment)
	}
	st := readBatchState(t, statePath(out))
	for _, p := range st.Submission.Parts {
		assert.Equal(t, "/v1/responses", p.Endpoint)
	}

	code, stdout, stderr := runDeluge(t, emu.URL, "batch", "status", "-o", out)
	require.Equal(t, exitOK, code, stderr)
	assert.Regexp(t, `(?m)^1\s+120\s+azure-o3-pro\s+o3-pro-batch\s+responses\s+batch_`, stdout)

	want := examplePrompts(t)
	rs := readResults(t, out)
	require.Len(t, rs, 200, "one line per prompt")
	refused := 0
	for _, r := range rs {
		if r.Error != nil {
			refused++
			assert.Equal(t, "invalid_request", r.Error.Code, r.ID)
			assert.Contains(t, r.Error.Message, "minimum of 16", r.ID)
			assert.Zero(t, r.Attempts)
			continue
		}
		full := azuretest.ExpectedReply(want[r.ID])
		switch r.FinishReason {
		case "length": // cut at the line's max_tokens, reasoning included
			assert.True(t, strings.HasPrefix(full, r.Completion) && len(r.Completion) < len(full), "%s: %q", r.ID, r.Completion)
		default:
			assert.Equal(t, "stop", r.FinishReason, r.ID)
			assert.Equal(t, full, r.Completion, r.ID)
		}
		assert.Equal(t, "azure-o3-pro", r.Model)
		assert.Positive(t, r.Usage.ReasoningTokens, r.ID)
		assert.Positive(t, r.Cost)
		assert.Equal(t, 1, r.Attempts)
		assert.NotNil(t, r.Filter, "Azure's content_filters")
	}
	assert.Equal(t, 15, refused)
	assert.Equal(t, 185, jobs[0].Total+jobs[1].Total, "the refused prompts were not uploaded")
}

// An embeddings model has no batch jobs on Azure: refused before anything
// is written or sent, with what to use instead.
func TestE2EBatchRefusesEmbeddingsModel(t *testing.T) {
	emu := newBatchEmulator(t)
	dir := t.TempDir()
	in, out := examplesFile(t), filepath.Join(dir, "results.jsonl")
	code, _, stderr := runDeluge(t, emu.URL, "batch", "submit", "-m", "azure-text-embedding-3-small", "-i", in, "-o", out)
	assert.Equal(t, exitUsage, code, stderr)
	assert.Contains(t, stderr, "embeddings")
	assert.Contains(t, stderr, "deluge embed")
	assert.Empty(t, emu.Files(), "nothing uploaded")
	_, err := os.Stat(statePath(out))
	assert.ErrorIs(t, err, os.ErrNotExist, "no state file")
}
