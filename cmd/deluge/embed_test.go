package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/registry"
)

// The embeddings test models have a provider of their own (the same fake),
// so that the other tests' model lists do not change.
func init() {
	llm.RegisterProvider("clitest-embedder", func() (llm.Provider, error) { return testProvider, nil })
	registry.MustRegister(registry.Model{ID: "clitest-embed", Provider: "clitest-embedder", Name: "embed", APISpec: registry.APISpecEmbeddings,
		InputCost: 1, Dimensions: llmtest.DefaultDimensions, SupportsDimensions: true, MaxInputs: 4, ContextWindow: 8192})
	registry.MustRegister(registry.Model{ID: "clitest-embed-fixed", Provider: "clitest-embedder", Name: "embed-fixed", APISpec: registry.APISpecEmbeddings,
		InputCost: 1, Dimensions: llmtest.DefaultDimensions, MaxInputs: 4})
}

// embedLineOut is an output line of "deluge embed", as a consumer reads it.
type embedLineOut struct {
	ID         string          `json:"id"`
	Line       int             `json:"line"`
	Model      string          `json:"model"`
	Dimensions int             `json:"dimensions"`
	Embedding  json.RawMessage `json:"embedding"`
	Usage      embedUsage      `json:"usage"`
	Cost       float64         `json:"cost"`
	Cached     bool            `json:"cached"`
	Error      *resultError    `json:"error"`
}

func readEmbedResults(t *testing.T, path string) map[string]embedLineOut {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	out := map[string]embedLineOut{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var r embedLineOut
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "line %q", sc.Text())
		// Every key is present, as in "deluge run"'s results.
		var keys map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(sc.Bytes(), &keys))
		for _, k := range []string{"id", "line", "model", "provider", "region", "dimensions", "embedding", "usage", "cost", "attempts", "latency_ms", "cached", "error"} {
			assert.Contains(t, keys, k)
		}
		if prev, ok := out[r.ID]; !ok || prev.Error != nil {
			out[r.ID] = r
		}
	}
	return out
}

func vectorOf(t *testing.T, raw json.RawMessage) []float32 {
	t.Helper()
	var v llm.Vector
	require.NoError(t, json.Unmarshal(raw, &v))
	return []float32(v)
}

const embedInput = `{"id": "a", "text": "The quick brown fox."}
{"id": "b", "input": "jumps over"}

{"text": "no id: the line number"}
{"id": "a", "text": "a repeated id"}
{"id": "bad", "prompt": "not text"}
{"id": "c", "text": "the lazy dog"}
{"id": "d", "text": "The quick brown fox."}
{"id": "e", "text": "one more"}
`

func TestEmbedCommand(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	require.NoError(t, os.WriteFile(in, []byte(embedInput), 0o644))
	before := testProvider.Calls()
	res := runCLI(t, "embed", "-m", "clitest-embed", "-i", in, "-o", out, "--no-cache")
	assert.Equal(t, exitFailures, res.code, "one malformed line: %s", res.stderr)
	assert.Contains(t, res.stderr, `line 5: id "a" already appeared on line 1`)
	assert.Contains(t, res.stderr, `line 6: has no "text" to embed`)
	got := readEmbedResults(t, out)
	require.Len(t, got, 7, "a, b, 4, bad, c, d, e")
	texts := map[string]string{"a": "The quick brown fox.", "b": "jumps over", "4": "no id: the line number",
		"c": "the lazy dog", "d": "The quick brown fox.", "e": "one more"}
	for id, text := range texts {
		r := got[id]
		require.Nil(t, r.Error, id)
		assert.Equal(t, []float32(llmtest.Vector(text, 0)), vectorOf(t, r.Embedding), id)
		assert.Equal(t, '[', rune(r.Embedding[0]), "a JSON array by default")
		assert.Equal(t, llmtest.DefaultDimensions, r.Dimensions)
		assert.Equal(t, "clitest-embed", r.Model)
	}
	assert.Equal(t, 4, got["4"].Line)
	assert.Equal(t, codeInvalidInput, got["bad"].Error.Code)
	assert.Equal(t, 2, testProvider.Calls()-before, "6 texts, 4 per request")

	// Rerun: everything done is skipped; only the malformed line fails again.
	before = testProvider.Calls()
	res = runCLI(t, "embed", "-m", "clitest-embed", "-i", in, "-o", out, "--no-cache")
	assert.Equal(t, exitFailures, res.code)
	assert.Contains(t, res.stderr, "resuming: 6 IDs already done")
	assert.Equal(t, before, testProvider.Calls(), "nothing sent again")
}

func TestEmbedCommandFormats(t *testing.T) {
	in := writeFile(t, "in.jsonl", `{"id":"x","text":"hello"}`+"\n")
	res := runCLI(t, "embed", "-m", "clitest-embed", "-i", in, "--base64", "--dimensions", "4", "--no-cache")
	require.Equal(t, exitOK, res.code, res.stderr)
	var r embedLineOut
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(res.stdout)), &r))
	assert.Equal(t, '"', rune(r.Embedding[0]), "base64 text")
	assert.Equal(t, []float32(llmtest.Vector("hello", 4)), vectorOf(t, r.Embedding))
	assert.Equal(t, 4, r.Dimensions)
	assert.Positive(t, r.Usage.InputTokens)
	assert.Positive(t, r.Cost)

	// The cache answers a second run.
	cache := filepath.Join(t.TempDir(), "c.db")
	res = runCLI(t, "embed", "-m", "clitest-embed", "-i", in, "--cache", cache)
	require.Equal(t, exitOK, res.code, res.stderr)
	before := testProvider.Calls()
	res = runCLI(t, "embed", "-m", "clitest-embed", "-i", in, "--cache", cache)
	require.Equal(t, exitOK, res.code, res.stderr)
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(res.stdout)), &r))
	assert.True(t, r.Cached)
	assert.Zero(t, r.Cost)
	assert.Equal(t, before, testProvider.Calls())
}

func TestEmbedCommandRefusals(t *testing.T) {
	in := writeFile(t, "in.jsonl", `{"id":"x","text":"hello"}`+"\n")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"embed", "-i", in}, "needs an embeddings model"},
		{[]string{"embed", "-m", "clitest-small", "-i", in}, "not an embeddings model"},
		{[]string{"embed", "-m", "clitest-embed-fixed", "-i", in, "--dimensions", "4"}, "does not shorten"},
		{[]string{"embed", "-m", "clitest-embed", "-i", in, "--dimensions", "99"}, "has 8"},
		{[]string{"embed", "-m", "clitest-embed", "-i", in, "--tpm", "0"}, "--tpm 0"},
		{[]string{"embed", "-m", "no-such-model", "-i", in}, "unknown model"},
	} {
		res := runCLI(t, tt.args...)
		assert.Equal(t, exitUsage, res.code, "%v", tt.args)
		assert.Contains(t, res.stderr, tt.want, "%v", tt.args)
	}
}
