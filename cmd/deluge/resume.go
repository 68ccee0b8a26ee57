package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// resumeIndex is what an existing output file says about earlier runs.
type resumeIndex struct {
	// done holds the IDs with a successful line ("error": null).
	done map[string]struct{}
	// lines counts complete lines; failed those with an error.
	lines, failed int
	// bad lists the line numbers that are not a result (hand edits,
	// corruption); their IDs are not considered done.
	bad []int
	// repaired describes what was done to a torn last line, if anything.
	repaired string
	// size is the file's size after repair: where appending starts.
	size int64
}

// isDone reports whether id already has a successful line.
func (ix *resumeIndex) isDone(id string) bool {
	_, ok := ix.done[id]
	return ok
}

// openOutput opens path for appending results, creating it if needed, and
// indexes the results already there so that a rerun skips them.
//
// A process killed during a write (SIGKILL, OOM, power loss) can leave a last
// line without its newline. If that line is a complete result it is kept
// and its newline added; otherwise it is cut off, and its prompt runs again.
// The file is locked (flock) for the run so that two runs cannot interleave
// their results.
func openOutput(path string) (*os.File, *resumeIndex, error) {
	return openOutputFile(path, false)
}

// openOutputFile is openOutput, and with fresh, for a run that replaces
// the file (the demo), it empties it only once the lock is held, so that a
// file another run is writing is left alone.
func openOutputFile(path string, fresh bool) (*os.File, *resumeIndex, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot write output %s: %w", path, unwrapPathError(err))
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("output %s: %w", path, err)
	}
	if fresh {
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("cannot write output %s: %w", path, unwrapPathError(err))
		}
	}
	ix, err := scanResults(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("reading existing output %s: %w", path, err)
	}
	return f, ix, nil
}

// scanResults indexes the result lines of f and repairs a torn last line.
func scanResults(f *os.File) (*resumeIndex, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s); resuming needs a file", fi.Mode().Type())
	}
	ix := &resumeIndex{done: map[string]struct{}{}}
	br := newLineReader(io.NewSectionReader(f, 0, fi.Size()))
	var (
		offset int64 // of the current line
		line   []byte
		lineNo int
	)
	for {
		line, err = readFullLine(br, line[:0])
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		lineNo++
		if line[len(line)-1] != '\n' {
			// The last line has no newline: a write was cut short.
			if err := repairTail(f, ix, offset, line); err != nil {
				return nil, err
			}
			return ix, nil
		}
		offset += int64(len(line))
		ix.add(lineNo, line)
	}
	ix.size = offset
	return ix, nil
}

// add records one complete line.
func (ix *resumeIndex) add(lineNo int, line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	id, ok, isResult := parseResultLine(line)
	if !isResult {
		ix.bad = append(ix.bad, lineNo)
		return
	}
	ix.lines++
	if ok {
		ix.done[id] = struct{}{}
	} else {
		ix.failed++
	}
}

// repairTail handles a last line without a newline at offset.
func repairTail(f *os.File, ix *resumeIndex, offset int64, tail []byte) error {
	if _, _, isResult := parseResultLine(bytes.TrimSpace(tail)); isResult {
		// The whole line made it; only the newline is missing.
		if _, err := f.Write([]byte{'\n'}); err != nil {
			return fmt.Errorf("completing the last line: %w", err)
		}
		ix.add(0, tail)
		ix.size = offset + int64(len(tail)) + 1
		ix.repaired = "completed the last line, which had no newline"
		return nil
	}
	if err := f.Truncate(offset); err != nil {
		return fmt.Errorf("removing a partial last line: %w", err)
	}
	ix.size = offset
	ix.repaired = fmt.Sprintf("removed a partial last line of %d bytes left by an interrupted run; its prompt will run again", len(tail))
	return nil
}

// parseResultLine reads a result line's id and whether it succeeded.
// isResult is false when the line is not a JSON object with an id.
func parseResultLine(line []byte) (id string, ok, isResult bool) {
	var r struct {
		ID    json.RawMessage `json:"id"`
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(line, &r); err != nil || !isSet(r.ID) {
		return "", false, false
	}
	id, err := parseID(r.ID)
	if err != nil {
		return "", false, false
	}
	return id, !isSet(r.Error), true
}

// readFullLine appends the next line, newline included, to buf. The last
// line of the input may lack its newline. It returns io.EOF only when there
// is nothing left.
func readFullLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		frag, err := br.ReadSlice('\n')
		buf = append(buf, frag...)
		switch {
		case err == nil:
			return buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(buf) > 0:
			return buf, nil
		default:
			return buf, err
		}
	}
}

// unwrapPathError drops the *PathError wrapper, whose text repeats the path.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// newLineReader buffers r for readFullLine.
func newLineReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 256<<10) }
