package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/deluge-go/deluge/batch"
)

// The state file of "deluge batch": <output>.batch, next to the results.
// It is written before anything is uploaded, rewritten (to a temporary
// file, then renamed over it, then synced) before every request that
// changes the provider's state, and read by every batch subcommand. It
// holds the library's batch.State plus what the command needs to resume
// with the same input and options and to write each result once.

// batchStateVersion is the version of the state file format.
const batchStateVersion = 1

// batchStateSuffix names the state file of an output file.
const batchStateSuffix = ".batch"

// batchFile is the state file.
type batchFile struct {
	Version int `json:"version"`
	// Input is the input file (absolute path).
	Input string `json:"input"`
	// Options are the command's options that shape the requests: a
	// resumed submission must build the same lines.
	Options batchOptions `json:"options"`
	// OutputOffset is the size of the output file when the submission
	// started: the IDs done before it are not submitted; what follows it
	// is this submission's results.
	OutputOffset int64 `json:"output_offset"`
	// Lines maps the positions of the submitted prompts to their input
	// lines; LinesComplete is set once the input was read to its end.
	Lines         lineRuns `json:"lines"`
	LinesComplete bool     `json:"lines_complete"`
	// Malformed are the input lines that were not submitted (invalid,
	// unknown model); fetch writes them as invalid_input results.
	Malformed []malformedLine `json:"malformed,omitempty"`
	// Duplicates counts lines whose ID appeared earlier in the input.
	Duplicates int `json:"duplicates,omitempty"`
	// Fetch records what fetch wrote: per unit (0 for the inputs that
	// were not submitted, n for part n), the output size when its writing
	// started, and the units written whole.
	FetchStart map[int]int64 `json:"fetch_start,omitempty"`
	Fetched    []int         `json:"fetched,omitempty"`
	// Written counts the results of the units written whole.
	Written writtenCounts `json:"written"`
	// Submission is the library's state.
	Submission *batch.State `json:"submission"`
}

// batchOptions are the options of a submission.
type batchOptions struct {
	Model       string   `json:"model"`
	Provider    string   `json:"provider,omitempty"`
	Deployment  string   `json:"deployment,omitempty"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	JSON        bool     `json:"json,omitempty"`
	System      string   `json:"system,omitempty"`
	FileLines   int      `json:"file_lines,omitempty"`
}

// malformedLine is an input line that was not submitted.
type malformedLine struct {
	Line    int    `json:"line"`
	ID      string `json:"id"`
	Model   string `json:"model,omitempty"`
	Message string `json:"message"`
}

// lineRun maps Index..Index+N-1 to Line..Line+N-1.
type lineRun struct{ Index, Line, N int }

// lineRuns maps submission positions to input lines, as runs; in JSON,
// [[index, line, n], …].
type lineRuns []lineRun

func (r *lineRuns) add(index, line int) {
	if n := len(*r); n > 0 {
		last := &(*r)[n-1]
		if last.Index+last.N == index && last.Line+last.N == line {
			last.N++
			return
		}
	}
	*r = append(*r, lineRun{index, line, 1})
}

// line returns the input line of a position, 0 when unknown.
func (r lineRuns) line(index int) int {
	i, found := slices.BinarySearchFunc(r, index, func(run lineRun, idx int) int {
		switch {
		case idx < run.Index:
			return 1
		case idx >= run.Index+run.N:
			return -1
		}
		return 0
	})
	if !found {
		return 0
	}
	return r[i].Line + index - r[i].Index
}

func (r lineRuns) MarshalJSON() ([]byte, error) {
	out := make([][3]int, len(r))
	for i, run := range r {
		out[i] = [3]int{run.Index, run.Line, run.N}
	}
	return json.Marshal(out)
}

func (r *lineRuns) UnmarshalJSON(b []byte) error {
	var in [][3]int
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*r = make(lineRuns, len(in))
	for i, v := range in {
		(*r)[i] = lineRun{v[0], v[1], v[2]}
	}
	return nil
}

// fetched reports whether unit n was written whole.
func (b *batchFile) fetched(n int) bool { return slices.Contains(b.Fetched, n) }

// allFetched reports whether every result of a finished submission was
// written.
func (b *batchFile) allFetched() bool {
	st := b.Submission
	if st == nil || !st.Done() || !b.fetched(0) {
		return false
	}
	for _, p := range st.Parts {
		if !b.fetched(p.N) {
			return false
		}
	}
	return true
}

// statePath is the state file of an output file.
func statePath(output string) string { return output + batchStateSuffix }

// loadBatchFile reads a state file; it returns nil, nil when there is none.
func loadBatchFile(path string) (*batchFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the batch state %s: %w", path, unwrapPathError(err))
	}
	var b batchFile
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("the batch state %s is damaged (%v): it records the files and jobs of a submission; "+
			"restore it, or remove it to start over (jobs already created keep running: see 'deluge batch list')", path, err)
	}
	if b.Version > batchStateVersion {
		return nil, fmt.Errorf("the batch state %s was written by a newer deluge (version %d): upgrade deluge", path, b.Version)
	}
	if b.Submission == nil {
		return nil, fmt.Errorf("the batch state %s holds no submission: remove it to start over", path)
	}
	return &b, nil
}

// save writes the state file atomically and durably: a kill at any point
// leaves either the old state or the new one.
func (b *batchFile) save(path string) error {
	data, err := json.MarshalIndent(b, "", " ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing the batch state: %w", unwrapPathError(err))
	}
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing the batch state %s: %w", path, unwrapPathError(err))
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename itself
		d.Close()
	}
	return nil
}

// indexUpTo indexes the results of f that lie before offset: the IDs a
// submission that started when the file had that size skipped as done.
func indexUpTo(f *os.File, offset int64) (*resumeIndex, error) {
	ix := &resumeIndex{done: map[string]struct{}{}}
	br := newLineReader(io.NewSectionReader(f, 0, offset))
	var line []byte
	for n := 1; ; n++ {
		var err error
		line, err = readFullLine(br, line[:0])
		if errors.Is(err, io.EOF) {
			return ix, nil
		}
		if err != nil {
			return nil, err
		}
		ix.add(n, line)
	}
}

// idsFrom returns the IDs of the result lines of f from offset on: what an
// interrupted fetch of one unit wrote.
func idsFrom(f *os.File, offset int64) (map[string]struct{}, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	ids := map[string]struct{}{}
	if fi.Size() <= offset {
		return ids, nil
	}
	br := newLineReader(io.NewSectionReader(f, offset, fi.Size()-offset))
	var line []byte
	for {
		line, err = readFullLine(br, line[:0])
		if errors.Is(err, io.EOF) {
			return ids, nil
		}
		if err != nil {
			return nil, err
		}
		if id, _, ok := parseResultLine(line); ok {
			ids[id] = struct{}{}
		}
	}
}
