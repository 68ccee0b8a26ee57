package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/deluge-go/deluge/llm"
)

// result is one output line. Every field is always present (error and
// content_filter are null when there is nothing to say), so consumers get a
// fixed schema.
type result struct {
	ID           string                    `json:"id"`
	Line         int                       `json:"line"`
	Model        string                    `json:"model"`
	Provider     string                    `json:"provider"`
	Region       string                    `json:"region"`
	Completion   string                    `json:"completion"`
	FinishReason string                    `json:"finish_reason"`
	Usage        llm.Usage                 `json:"usage"`
	Cost         float64                   `json:"cost"`
	Attempts     int                       `json:"attempts"`
	LatencyMS    int64                     `json:"latency_ms"`
	Cached       bool                      `json:"cached"`
	RequestID    string                    `json:"request_id,omitempty"`
	Error        *resultError              `json:"error"`
	Filter       *llm.ContentFilterResults `json:"content_filter"`
}

// resultError is the "error" of a failed line.
type resultError struct {
	// Code is an llm.Code ("rate_limited", "content_filtered", …) or
	// "invalid_input" for a malformed input line.
	Code    string `json:"code"`
	Message string `json:"message"`
	Status  int    `json:"status,omitempty"`
}

// codeInvalidInput is the error code of a malformed input line.
const codeInvalidInput = "invalid_input"

// successResult builds the output line of a response.
func successResult(p *prompt, resp *llm.Response) *result {
	return &result{
		ID:           p.ID,
		Line:         p.Line,
		Model:        resp.Model,
		Provider:     resp.Provider,
		Region:       resp.Region,
		Completion:   resp.Completion,
		FinishReason: resp.FinishReason,
		Usage:        resp.Usage,
		Cost:         resp.Cost,
		Attempts:     resp.Attempts,
		LatencyMS:    resp.Latency.Milliseconds(),
		Cached:       resp.Cached,
		RequestID:    resp.RequestID,
		Filter:       resp.ContentFilter,
	}
}

// errorResult builds the output line of a failed prompt. model and provider
// are those the prompt was meant for, when known.
func errorResult(p *prompt, model, provider string, err error) *result {
	r := &result{ID: p.ID, Line: p.Line, Model: model, Provider: provider}
	var le *llm.Error
	switch {
	case p.Err != nil:
		r.Error = &resultError{Code: codeInvalidInput, Message: fmt.Sprintf("line %d: %v", p.Line, p.Err)}
	case errors.As(err, &le):
		r.Error = &resultError{Code: string(le.Code), Message: le.Error(), Status: le.StatusCode}
		r.Filter = le.ContentFilter
		r.RequestID = le.RequestID
		if le.Model != "" {
			r.Model = le.Model
		}
		if le.Provider != "" {
			r.Provider = le.Provider
		}
	default:
		r.Error = &resultError{Code: string(llm.CodeOf(err)), Message: err.Error()}
	}
	return r
}

// resultWriter appends result lines to a file or a stream.
//
// Each line is encoded in full and handed to the kernel in one write(2), by
// one writer at a time, on a file opened with O_APPEND: a line is either
// wholly in the file or not at all as far as any other process is
// concerned. A kill (even SIGKILL) after a write returned loses nothing:
// the data is in the kernel. Only an OS crash or power loss can cut the
// file short, which is why the writer calls fsync(2) at most once per
// syncInterval and on Close, and why resume repairs a torn last line.
// A write that fails midway (disk full) is truncated away, so the file
// never keeps half a line, and every later write fails.
type resultWriter struct {
	mu           sync.Mutex
	w            io.Writer
	f            *os.File // nil for stdout
	size         int64    // bytes in f, to undo a short write
	syncInterval time.Duration
	lastSync     time.Time
	dirty        bool
	buf          bytes.Buffer
	enc          *json.Encoder
	lines        int
	err          error
}

// defaultSyncInterval bounds what an OS crash can lose.
const defaultSyncInterval = time.Second

func newResultWriter(w io.Writer, f *os.File, size int64) *resultWriter {
	rw := &resultWriter{w: w, f: f, size: size, syncInterval: defaultSyncInterval, lastSync: time.Now()}
	rw.enc = json.NewEncoder(&rw.buf)
	rw.enc.SetEscapeHTML(false)
	return rw
}

// Write appends r as one line.
func (rw *resultWriter) Write(r *result) error { return rw.WriteLine(r.ID, r) }

// WriteLine appends v, the result of id, as one JSON line ("deluge embed"
// writes its own result type).
func (rw *resultWriter) WriteLine(id string, v any) error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.err != nil {
		return rw.err
	}
	rw.buf.Reset()
	if err := rw.enc.Encode(v); err != nil { // Encode ends the line with '\n'
		return fmt.Errorf("encoding the result of id %q: %w", id, err)
	}
	n, err := rw.w.Write(rw.buf.Bytes())
	if err != nil {
		if rw.f != nil && n > 0 {
			// Take the partial line back out.
			if terr := rw.f.Truncate(rw.size); terr != nil {
				err = fmt.Errorf("%w (and removing the partial line failed: %v)", err, terr)
			}
		}
		rw.err = fmt.Errorf("writing results: %w", err)
		return rw.err
	}
	rw.size += int64(n)
	rw.lines++
	rw.dirty = true
	if rw.f != nil && time.Since(rw.lastSync) >= rw.syncInterval {
		rw.syncLocked()
	}
	return rw.err
}

func (rw *resultWriter) syncLocked() {
	if rw.f == nil || !rw.dirty {
		return
	}
	if err := rw.f.Sync(); err != nil && rw.err == nil {
		rw.err = fmt.Errorf("syncing results: %w", err)
	}
	rw.dirty = false
	rw.lastSync = time.Now()
}

// Lines returns how many lines were written.
func (rw *resultWriter) Lines() int {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.lines
}

// Close syncs and closes the file (a stream is left open).
func (rw *resultWriter) Close() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.syncLocked()
	if rw.f != nil {
		if err := rw.f.Close(); err != nil && rw.err == nil {
			rw.err = fmt.Errorf("closing results: %w", err)
		}
		rw.f = nil
	}
	return rw.err
}

// openResults opens the results of a run (output "-" or "": standard
// output), locked and read for resuming — emptied under the lock, never
// before, when fresh — and says what it found: lines repaired or ignored,
// IDs already done. done is nil on standard output.
func openResults(u *ui, output string, fresh bool) (*resultWriter, *resumeIndex, error) {
	if output == "-" || output == "" {
		return newResultWriter(u.stdout, nil, 0), nil, nil
	}
	f, ix, err := openOutputFile(output, fresh)
	if err != nil {
		return nil, nil, usageError(err)
	}
	if ix.repaired != "" {
		u.warnf("%s: %s", output, ix.repaired)
	}
	if len(ix.bad) > 0 {
		u.warnf("%s: ignoring %d lines that are not results (first: line %d)", output, len(ix.bad), ix.bad[0])
	}
	if len(ix.done) > 0 {
		u.infof("resuming: %s IDs already done in %s will be skipped", groupDigits(len(ix.done)), output)
	}
	return newResultWriter(f, f, ix.size), ix, nil
}
