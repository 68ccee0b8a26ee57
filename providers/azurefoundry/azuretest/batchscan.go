package azuretest

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"slices"
	"strings"
)

// BatchError is one entry of a failed batch's errors list.
type BatchError struct {
	Code    string // e.g. "invalid_json_line", "token_limit_exceeded"
	Message string
	Param   string // "" is null
	Line    int    // 1-based line of the input file; 0 is null
}

// inputScan is what one streaming pass over a batch input file learns; it is
// made at upload, so that creating a batch needs no second read of a large
// file except to confirm a suspected duplicate custom_id.
type inputScan struct {
	lines  int // non-blank lines
	bom    bool
	model  string // body.model of the first valid line
	url    string // normalised url of the first valid line
	tokens int64  // prompt tokens of all lines, as a synchronous request counts them
	errs   []BatchError
	// tooMany: more than MaxBatchLines lines; lines past the limit are
	// counted, not parsed.
	tooMany bool
}

const (
	maxBatchLineBytes = 64 << 20 // a longer line is invalid_json_line
	maxReportedErrors = 100      // errors listed for one batch
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// batchInputLine is one line of a batch input file.
type batchInputLine struct {
	CustomID json.RawMessage `json:"custom_id"`
	Method   string          `json:"method"`
	URL      string          `json:"url"`
	Body     json.RawMessage `json:"body"`
}

// normalizeBatchURL maps "/v1/chat/completions" to "/chat/completions"; the
// documentation uses both forms for lines and for the batch endpoint.
func normalizeBatchURL(u string) string {
	if rest, ok := strings.CutPrefix(u, "/v1/"); ok {
		return "/" + rest
	}
	return u
}

type idHash struct {
	h    uint64
	line int
}

func hashID(id string) uint64 {
	f := fnv.New64a()
	f.Write([]byte(id))
	return f.Sum64()
}

// scanInput reads a batch file once, line by line. Memory is one line plus
// 16 bytes per line for duplicate detection, whatever the file's size.
func (h *Handler) scanInput(r io.ReadSeeker) *inputScan {
	s := &inputScan{}
	br := bufio.NewReaderSize(r, 64<<10)
	if b, _ := br.Peek(3); bytes.Equal(b, utf8BOM) {
		s.bom = true
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 64<<10), maxBatchLineBytes)
	var ids []idHash
	lineNo, first := 0, true
	for sc.Scan() {
		lineNo++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		s.lines++
		if s.lines > MaxBatchLines {
			s.tooMany = true
			continue
		}
		var l batchInputLine
		if line[0] != '{' || json.Unmarshal(line, &l) != nil {
			s.addErr(codeInvalidJSONLine, msgInvalidJSONLine, lineNo)
			continue
		}
		var id string
		var body struct {
			Model string `json:"model"`
		}
		if json.Unmarshal(l.CustomID, &id) != nil || id == "" || l.Method != "POST" ||
			json.Unmarshal(l.Body, &body) != nil || body.Model == "" {
			s.addErr(codeInvalidRequest, msgInvalidRequest, lineNo)
			continue
		}
		url := normalizeBatchURL(l.URL)
		switch {
		case first:
			s.url, s.model, first = url, body.Model, false
		case url != s.url:
			s.addErr(codeURLMismatch, msgURLMismatch, lineNo)
		case body.Model != s.model:
			s.addErr(codeModelMismatch, msgModelMismatch, lineNo)
		}
		s.tokens += int64(linePromptTokens(url, l.Body))
		ids = append(ids, idHash{hashID(id), lineNo})
	}
	if err := sc.Err(); err != nil {
		// A line over the limit, or a read error: the rest is unreadable.
		s.addErr(codeInvalidJSONLine, msgInvalidJSONLine, lineNo+1)
	}
	if dups := duplicateLines(r, ids); len(dups) > 0 {
		for _, line := range dups {
			s.errs = append(s.errs, BatchError{Code: codeDuplicateCustomID, Message: msgDuplicateID, Line: line})
		}
	}
	slices.SortStableFunc(s.errs, func(a, b BatchError) int { return cmp.Compare(a.Line, b.Line) })
	if len(s.errs) > maxReportedErrors {
		s.errs = s.errs[:maxReportedErrors]
	}
	return s
}

func (s *inputScan) addErr(code, msg string, line int) {
	if len(s.errs) < maxReportedErrors {
		s.errs = append(s.errs, BatchError{Code: code, Message: msg, Line: line})
	}
}

// linePromptTokens is the prompt_tokens a synchronous request with body would
// report (0 for a body the request would reject).
func linePromptTokens(url string, body []byte) int {
	var req chatRequest
	switch url {
	case "/chat/completions":
		if json.Unmarshal(body, &req) != nil {
			return 0
		}
	case "/responses":
		chat, _, errBody := responsesToChat(body, nil)
		if errBody != nil || json.Unmarshal(chat, &req) != nil {
			return 0
		}
	default:
		return 0
	}
	if _, msg := req.prepare(); msg != "" {
		return 0
	}
	return req.promptTokens
}

// duplicateLines returns the lines whose custom_id repeats an earlier one.
// Hashes find the candidates; a second pass over the candidate lines
// compares the ids themselves, so a hash collision is never reported.
func duplicateLines(r io.ReadSeeker, ids []idHash) []int {
	slices.SortFunc(ids, func(a, b idHash) int {
		if c := cmp.Compare(a.h, b.h); c != 0 {
			return c
		}
		return cmp.Compare(a.line, b.line)
	})
	candidates := make(map[int]bool)
	for i := 1; i < len(ids); i++ {
		if ids[i].h == ids[i-1].h {
			candidates[ids[i].line], candidates[ids[i-1].line] = true, true
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxBatchLineBytes)
	seen := make(map[string]bool)
	var dups []int
	for lineNo := 1; sc.Scan(); lineNo++ {
		if !candidates[lineNo] {
			continue
		}
		var l batchInputLine
		var id string
		if json.Unmarshal(bytes.TrimSpace(sc.Bytes()), &l) != nil || json.Unmarshal(l.CustomID, &id) != nil {
			continue
		}
		if seen[id] {
			dups = append(dups, lineNo)
		}
		seen[id] = true
	}
	return dups
}

// forEachLine calls f with each non-blank line of r and its 1-based number
// until f returns false.
func forEachLine(r io.Reader, f func(line []byte, lineNo int) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxBatchLineBytes)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !f(line, lineNo) {
			return nil
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
