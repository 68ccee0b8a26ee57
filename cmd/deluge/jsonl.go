package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"strconv"

	"github.com/deluge-go/deluge/conversation"
)

// maxLineBytes bounds one input line (a prompt with inline images can be
// large). A longer line is reported as malformed and skipped without being
// held in memory.
var maxLineBytes = 64 << 20

// prompt is one input line, parsed.
type prompt struct {
	// Line is the 1-based line number in the input.
	Line int
	// ID is the line's "id" (a number is kept as its JSON text), or the
	// line number when the line has none.
	ID   string
	Conv *conversation.Conversation
	// Model, MaxTokens and Temperature override the command's flags for
	// this line; zero values mean "not set".
	Model       string
	MaxTokens   int
	Temperature *float64
	// Err is set when the line is malformed; ID is then the line's id if it
	// could be read, else the line number.
	Err error
}

// inputLine is the JSON form of an input line. Unknown fields are ignored
// so that datasets can carry their own metadata.
type inputLine struct {
	ID          json.RawMessage `json:"id"`
	Prompt      json.RawMessage `json:"prompt"`
	Messages    json.RawMessage `json:"messages"`
	Model       json.RawMessage `json:"model"`
	MaxTokens   json.RawMessage `json:"max_tokens"`
	Temperature json.RawMessage `json:"temperature"`
}

// promptReader reads prompts from JSONL, one line at a time, so memory stays
// flat however large the input. Blank lines are skipped (but counted); a
// UTF-8 byte-order mark and CRLF line ends are accepted.
type promptReader struct {
	r      *bufio.Reader
	line   int
	system string
	buf    []byte
}

// newPromptReader reads from r; system, when not empty, is prepended as a
// system message to each prompt that does not start with one.
func newPromptReader(r io.Reader, system string) *promptReader {
	return &promptReader{r: bufio.NewReaderSize(r, 64<<10), system: system}
}

// Next returns the next non-blank line. It returns io.EOF at the end of the
// input and another error only when the input cannot be read; a malformed
// line is not an error of Next but a prompt with Err set.
func (pr *promptReader) Next() (prompt, error) {
	line, tooLong, err := pr.nextLine()
	switch {
	case err != nil:
		return prompt{}, err
	case tooLong:
		return prompt{Line: pr.line, ID: strconv.Itoa(pr.line),
			Err: fmt.Errorf("line is longer than %d MiB", maxLineBytes>>20)}, nil
	}
	return pr.parse(line), nil
}

// nextLine returns the next non-blank line, trimmed, counting lines in
// pr.line; tooLong reports a line longer than maxLineBytes, which was
// dropped. The error is io.EOF at the end of the input, or a read error.
// "deluge embed" reads its input with it too.
func (pr *promptReader) nextLine() (line []byte, tooLong bool, err error) {
	for {
		line, tooLong, err := pr.readLine()
		if err != nil && (err != io.EOF || (len(line) == 0 && !tooLong)) {
			return nil, false, err
		}
		pr.line++
		if tooLong {
			return nil, true, nil
		}
		if pr.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			if err == io.EOF {
				return nil, false, io.EOF
			}
			continue
		}
		return line, false, nil
	}
}

// readLine returns the next line without its newline. A line longer than
// maxLineBytes is consumed and dropped (tooLong). At the end of the input it
// returns the last, unterminated line (if any) with io.EOF.
func (pr *promptReader) readLine() (line []byte, tooLong bool, err error) {
	pr.buf = pr.buf[:0]
	for {
		frag, err := pr.r.ReadSlice('\n')
		if !tooLong {
			if len(pr.buf)+len(frag) > maxLineBytes+2 { // +2: "\r\n"
				tooLong = true
				pr.buf = pr.buf[:0]
			} else {
				pr.buf = append(pr.buf, frag...)
			}
		}
		switch {
		case err == nil:
			return bytes.TrimSuffix(pr.buf, []byte("\n")), tooLong, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return pr.buf, tooLong, err
		}
	}
}

// parse turns one line into a prompt, reporting what is wrong with it.
func (pr *promptReader) parse(data []byte) prompt {
	p := prompt{Line: pr.line, ID: strconv.Itoa(pr.line)}
	fail := func(format string, args ...any) prompt {
		p.Err = fmt.Errorf(format, args...)
		return p
	}
	if data[0] != '{' {
		return fail("want a JSON object such as {\"id\": \"q1\", \"prompt\": \"…\"}, got %s", preview(data))
	}
	var in inputLine
	if err := json.Unmarshal(data, &in); err != nil {
		return fail("invalid JSON: %v", jsonErrorText(err))
	}
	if isSet(in.ID) {
		id, err := parseID(in.ID)
		if err != nil {
			return fail("%v", err)
		}
		p.ID = id
	}
	switch {
	case isSet(in.Prompt) && isSet(in.Messages):
		return fail(`has both "prompt" and "messages": give one`)
	case isSet(in.Prompt):
		var text string
		if err := json.Unmarshal(in.Prompt, &text); err != nil {
			return fail(`"prompt" must be a string`)
		}
		if text == "" {
			return fail(`"prompt" is empty`)
		}
		p.Conv = conversation.New()
		if pr.system != "" {
			p.Conv.System(pr.system)
		}
		p.Conv.User(text)
	case isSet(in.Messages):
		var conv conversation.Conversation
		if err := json.Unmarshal(in.Messages, &conv); err != nil {
			return fail(`"messages": %v`, err)
		}
		if err := conv.Validate(); err != nil {
			return fail(`"messages": %v`, err)
		}
		if first := conv.At(0); pr.system != "" && first.Role != conversation.RoleSystem {
			p.Conv = conversation.New().System(pr.system).Add(conv.Messages()...)
		} else {
			p.Conv = &conv
		}
	default:
		return fail(`has neither "prompt" nor "messages"`)
	}
	if isSet(in.Model) {
		if err := json.Unmarshal(in.Model, &p.Model); err != nil || p.Model == "" {
			return fail(`"model" must be a non-empty string`)
		}
	}
	if isSet(in.MaxTokens) {
		var n float64
		if err := json.Unmarshal(in.MaxTokens, &n); err != nil || n < 1 || n != math.Trunc(n) || n > math.MaxInt32 {
			return fail(`"max_tokens" must be a positive integer, got %s`, preview(in.MaxTokens))
		}
		p.MaxTokens = int(n)
	}
	if isSet(in.Temperature) {
		var t float64
		if err := json.Unmarshal(in.Temperature, &t); err != nil || t < 0 || t > 2 {
			return fail(`"temperature" must be a number from 0 to 2, got %s`, preview(in.Temperature))
		}
		p.Temperature = &t
	}
	return p
}

// parseID reads an "id": a non-empty string, or a number kept as written
// (so 7 and "7" are the same ID).
func parseID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf(`"id": %v`, err)
		}
		if s == "" {
			return "", errors.New(`"id" is empty: give a unique string or number, or leave it out to use the line number`)
		}
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf(`"id" must be a string or a number, got %s`, preview(raw))
	}
	return n.String(), nil
}

// isSet reports whether a field was present and not null.
func isSet(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// preview quotes the start of a piece of input for an error message.
func preview(b []byte) string {
	const n = 40
	if len(b) > n {
		return strconv.Quote(string(b[:n])) + "…"
	}
	return strconv.Quote(string(b))
}

// jsonErrorText makes encoding/json's errors read well after "invalid JSON: ".
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has the wrong type (%s)", te.Field, te.Value)
	}
	return err.Error()
}

// disposition says what to do with a prompt.
type disposition int

const (
	// send the prompt to the model.
	dispSend disposition = iota
	// dispMalformed: write an error result for the line.
	dispMalformed
	// dispDuplicate: the ID appeared earlier in this input; report it and
	// write nothing (the output keeps one outcome per ID).
	dispDuplicate
	// dispDone: the ID already succeeded in the output file; skip it.
	dispDone
	// dispOtherShard: the ID belongs to another shard (--shard); leave it.
	dispOtherShard
)

// promptSource reads prompts and classifies them: malformed, a duplicate
// of an earlier line of the same input, already done in the output file,
// or to send.
type promptSource struct {
	r    *promptReader
	done *resumeIndex // nil: nothing done yet
	// seen maps each ID read to the line it first appeared on; seenHash,
	// when set (hashIDs), does in its place by a 64-bit hash of the ID.
	seen     map[string]int
	seenHash map[uint64]int
	seed     maphash.Seed
	// shard, when set, leaves the lines of other shards alone.
	shard shard
}

// hashIDs makes s remember the IDs it read by a 64-bit hash: a fraction of
// the memory for a million IDs, at about one chance in thirty million of
// taking a new ID for a repeat (which is reported, never silent).
func (s *promptSource) hashIDs() {
	s.seen, s.seenHash, s.seed = nil, map[uint64]int{}, maphash.MakeSeed()
}

func newPromptSource(r io.Reader, system string, done *resumeIndex) *promptSource {
	return &promptSource{r: newPromptReader(r, system), done: done, seen: map[string]int{}}
}

// Next returns the next prompt and what to do with it; firstLine is the
// earlier line of a duplicate. The error is io.EOF at the end or a read
// failure.
func (s *promptSource) Next() (p prompt, d disposition, firstLine int, err error) {
	p, err = s.r.Next()
	if err != nil {
		return p, 0, 0, err
	}
	if !s.shard.owns(p.ID) {
		// Before the duplicate check: a repeated ID is in the same shard,
		// so the shard that owns it reports it.
		return p, dispOtherShard, 0, nil
	}
	if s.seenHash != nil {
		h := maphash.String(s.seed, p.ID)
		if first, dup := s.seenHash[h]; dup {
			return p, dispDuplicate, first, nil
		}
		s.seenHash[h] = p.Line
	} else {
		if first, dup := s.seen[p.ID]; dup {
			return p, dispDuplicate, first, nil
		}
		s.seen[p.ID] = p.Line
	}
	switch {
	case s.done != nil && s.done.isDone(p.ID):
		return p, dispDone, 0, nil
	case p.Err != nil:
		return p, dispMalformed, 0, nil
	}
	return p, dispSend, 0, nil
}
