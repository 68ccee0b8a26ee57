package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	okLine  = `{"id":"a","completion":"x","error":null}` + "\n"
	errLine = `{"id":"b","error":{"code":"rate_limited","message":"m"}}` + "\n"
	okB     = `{"id":"b","completion":"y","error":null}` + "\n"
	numLine = `{"id":7,"completion":"z"}` + "\n"
)

func TestOpenOutputIndexesResults(t *testing.T) {
	path := writeFile(t, "out.jsonl", okLine+errLine+"not json at all\n\n"+numLine+okB)
	f, ix, err := openOutput(path)
	require.NoError(t, err)
	defer f.Close()
	assert.True(t, ix.isDone("a"))
	assert.True(t, ix.isDone("b"), "a later success counts even after an error line")
	assert.True(t, ix.isDone("7"), "numeric ids match their text form; a line without error is a success")
	assert.False(t, ix.isDone("c"))
	assert.Equal(t, 4, ix.lines)
	assert.Equal(t, 1, ix.failed)
	assert.Equal(t, []int{3}, ix.bad)
	assert.Empty(t, ix.repaired)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fi.Size(), ix.size)
}

func TestOpenOutputFailedOnlyIsNotDone(t *testing.T) {
	f, ix, err := openOutput(writeFile(t, "out.jsonl", errLine))
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, ix.isDone("b"), "failed ids run again")
}

func TestOpenOutputTruncatesTornLine(t *testing.T) {
	torn := `{"id":"c","completion":"half a li`
	path := writeFile(t, "out.jsonl", okLine+torn)
	f, ix, err := openOutput(path)
	require.NoError(t, err)
	assert.False(t, ix.isDone("c"), "a torn line does not count")
	assert.Contains(t, ix.repaired, "removed a partial last line")
	// Appending goes right after the last whole line.
	_, err = f.Write([]byte(okB))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, okLine+okB, string(data))
}

func TestOpenOutputCompletesWholeLineWithoutNewline(t *testing.T) {
	path := writeFile(t, "out.jsonl", okLine+`{"id":"c","error":null}`)
	f, ix, err := openOutput(path)
	require.NoError(t, err)
	assert.True(t, ix.isDone("c"), "a whole result that only lacks its newline is kept")
	assert.Contains(t, ix.repaired, "completed")
	require.NoError(t, f.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, okLine+`{"id":"c","error":null}`+"\n", string(data))
	assert.Equal(t, int64(len(data)), ix.size)
}

func TestOpenOutputCreatesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.jsonl")
	f, ix, err := openOutput(path)
	require.NoError(t, err)
	defer f.Close()
	assert.Empty(t, ix.done)
	assert.FileExists(t, path)
}

func TestOpenOutputErrors(t *testing.T) {
	dir := t.TempDir()
	_, _, err := openOutput(dir)
	require.ErrorContains(t, err, "cannot write output")

	_, _, err = openOutput(filepath.Join(dir, "missing", "out.jsonl"))
	require.ErrorContains(t, err, "no such file or directory")
}

// TestDemoLeavesALockedFileAlone: "deluge demo -o F" used to empty F
// before checking its lock, wiping the results a running "deluge run" was
// writing there (issue 16, item 9).
func TestDemoLeavesALockedFileAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	const line = `{"id":"a","line":1,"error":null}` + "\n"
	require.NoError(t, osWriteFile(path, line))
	running, _, err := openOutput(path) // a run holds the file
	require.NoError(t, err)
	defer running.Close()

	r := cli{inMemory: true}.run(t, "demo", "-o", path, "--latency", "0s")
	assert.Equal(t, exitUsage, r.code, r.stderr)
	assert.Contains(t, r.stderr, "another deluge run is writing this file")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, line, string(data), "the running run's results are intact")

	// Once free, the demo replaces it.
	require.NoError(t, running.Close())
	f, _, err := openOutputFile(path, true)
	require.NoError(t, err)
	defer f.Close()
	fi, err := f.Stat()
	require.NoError(t, err)
	assert.Zero(t, fi.Size())
}

func TestOpenOutputIsLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	f, _, err := openOutput(path)
	require.NoError(t, err)
	_, _, err = openOutput(path)
	require.ErrorContains(t, err, "another deluge run is writing this file")
	require.NoError(t, f.Close())
	f, _, err = openOutput(path)
	require.NoError(t, err, "the lock goes with the file")
	f.Close()
}
