//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// TestE2EEmbedAgainstEmulator: "deluge embed" as a process, through the
// azure-foundry provider, against the emulator: 5,000 texts in requests of
// 2,048, killed midway and resumed, each ID embedded exactly once in the
// end with the emulator's vector.
func TestE2EEmbedAgainstEmulator(t *testing.T) {
	srv := azuretest.NewServer(azuretest.WithAPIKeys(emulatorKey), azuretest.WithDeployment("text-embedding-3-small", ""),
		azuretest.WithLatency(300*time.Millisecond, 0))
	defer srv.Close()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl")
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, `{"id":"d%d","text":"document number %d"}`+"\n", i, i)
	}
	writeTo(t, in, b.String())
	args := []string{"embed", "-m", "azure-text-embedding-3-small", "-i", in, "-o", out, "--dimensions", "64",
		"--tpm", "100000000", "--concurrency", "1", "--no-cache"}

	c := startDeluge(t, srv.URL, args...)
	waitLines(t, out, 2048)
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	c.wait(t)
	first := readEmbedResults(t, out)
	require.Less(t, len(first), 5000, "killed midway")

	srv.SetLatency(0, 0)
	settle(t, srv)
	srv.ResetStats()
	code, _, stderr := runDeluge(t, srv.URL, args...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stderr, "resuming:")
	assert.Less(t, srv.Requests(), 3, "only what was left is sent")
	assert.NotContains(t, stderr, emulatorKey)

	got := readEmbedResults(t, out)
	require.Len(t, got, 5000)
	for _, i := range []int{0, 2047, 2048, 4999} {
		r := got[fmt.Sprintf("d%d", i)]
		require.Nil(t, r.Error)
		assert.Equal(t, azuretest.Embedding("text-embedding-3-small", fmt.Sprintf("document number %d", i), 64), vectorOf(t, r.Embedding))
		assert.Equal(t, 64, r.Dimensions)
		assert.Equal(t, "azure-text-embedding-3-small", r.Model)
		assert.Positive(t, r.Cost)
	}
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(string(data), "\n"), "whole lines only")
}
