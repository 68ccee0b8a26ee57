package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deluge-go/deluge/examples"
	"github.com/deluge-go/deluge/internal/fixture"
)

// jsonlSeeds are input lines: the example prompts, the forms the docs show,
// malformed lines, and the chat request bodies of fixtures/azure turned
// into lines ({"messages": …}).
func jsonlSeeds(f *testing.F) {
	for line := range bytes.Lines(examples.Prompts) {
		f.Add(line)
	}
	for _, s := range []string{
		`{"id": "q1", "prompt": "Translate 'hello' into French."}` + "\n",
		`{"id": 3, "prompt": "Write a haiku about rain.", "model": "azure-gpt-4o", "max_tokens": 60, "temperature": 0.9}`,
		"\xef\xbb\xbf" + `{"id":"bom","prompt":"x"}` + "\r\n\n   \n" + `{"prompt":"no id"}`,
		`{"id": "m", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]}`,
		`{"id":"broken","prompt":` + "\n" + `[1,2]` + "\n" + `{"id":"","prompt":"x"}` + "\n" + `{"id":1e999,"prompt":"x"}`,
		`{"id":"t","prompt":"x","temperature":-1,"max_tokens":1.5}` + "\n" + `{"prompt":"a","messages":[]}`,
		`{"id":{"nested":true},"prompt":"x"}` + "\n" + `{"id":"d","prompt":"x"}` + "\n" + `{"id":"d","prompt":"y"}`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range fixture.Seeds(f) {
		if s.Kind != fixture.SeedRequest {
			continue
		}
		var req struct {
			Messages json.RawMessage `json:"messages"`
		}
		if json.Unmarshal(s.Body, &req) == nil && len(req.Messages) > 0 {
			line, _ := json.Marshal(map[string]any{"id": s.Name, "messages": req.Messages})
			f.Add(append(line, '\n'))
		}
	}
}

// FuzzJSONL reads any input as "deluge run" does. Every non-blank line
// gives exactly one prompt; a prompt without an error has an ID, a valid
// conversation and options within their ranges, and reads back the same
// when written as a messages line; nothing panics.
func FuzzJSONL(f *testing.F) {
	jsonlSeeds(f)
	f.Fuzz(func(t *testing.T, input []byte) {
		src := newPromptSource(bytes.NewReader(input), "", nil)
		lines := 0
		for {
			p, d, first, err := src.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("a read from memory failed: %v", err)
			}
			lines++
			if p.Line < lines || p.ID == "" {
				t.Fatalf("prompt %d: line %d, id %q", lines, p.Line, p.ID)
			}
			switch d {
			case dispDuplicate:
				if first <= 0 || first >= p.Line {
					t.Fatalf("duplicate of line %d on line %d", first, p.Line)
				}
				continue
			case dispMalformed:
				if p.Err == nil || p.Err.Error() == "" {
					t.Fatal("a malformed line without an error")
				}
				continue
			}
			if p.Err != nil || p.Conv == nil {
				t.Fatalf("line %d to send: err %v, conv %v", p.Line, p.Err, p.Conv)
			}
			if err := p.Conv.Validate(); err != nil {
				t.Fatalf("line %d: an invalid conversation is sent: %v", p.Line, err)
			}
			if p.MaxTokens < 0 || p.Temperature != nil && (*p.Temperature < 0 || *p.Temperature > 2) {
				t.Fatalf("line %d: options out of range: %d %v", p.Line, p.MaxTokens, *p.Temperature)
			}
			// Written back as a messages line, it reads the same.
			msgs, err := json.Marshal(p.Conv)
			if err != nil {
				t.Fatalf("line %d: %v", p.Line, err)
			}
			id, _ := json.Marshal(p.ID)
			again := newPromptReader(strings.NewReader(`{"id":`+string(id)+`,"messages":`+string(msgs)+`}`), "")
			q, err := again.Next()
			if err != nil || q.Err != nil {
				t.Fatalf("line %d written back as %s: %v %v", p.Line, msgs, err, q.Err)
			}
			a, _ := json.Marshal(q.Conv)
			if q.ID != p.ID || !bytes.Equal(a, msgs) {
				t.Fatalf("line %d: read back as %q %s, want %q %s", p.Line, q.ID, a, p.ID, msgs)
			}
		}
		if n := nonBlankLines(input); lines != n {
			t.Fatalf("%d prompts for %d non-blank lines", lines, n)
		}
	})
}

// nonBlankLines counts the lines promptReader does not skip.
func nonBlankLines(input []byte) int {
	input = bytes.TrimPrefix(input, []byte("\xef\xbb\xbf"))
	n := 0
	for line := range bytes.Lines(input) {
		if len(bytes.TrimSpace(line)) > 0 {
			n++
		}
	}
	return n
}

// FuzzResumeIndex reads any output file as a rerun does: it never panics,
// leaves the file ending with a newline (or empty), never grows it but by
// that newline, and counts each line once.
func FuzzResumeIndex(f *testing.F) {
	f.Add([]byte(`{"id":"a","line":1,"error":null}` + "\n" + `{"id":"b","line":2,"error":{"code":"timeout","message":"x"}}` + "\n"))
	f.Add([]byte(`{"id":"a","error":null}` + "\n" + `{"id":"p200","line":200,"model":"azure-gpt-4o-mini","compl`))
	f.Add([]byte(`{"id":7,"error":null}`))
	f.Add([]byte("not json\n\n{\"id\":\"\"}\n{\"error\":null}\n"))
	for line := range bytes.Lines(examples.Prompts) {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "out.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		file, ix, err := openOutput(path)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		file.Close()
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) > 0 && after[len(after)-1] != '\n' {
			t.Fatalf("the file ends without a newline: %q", after)
		}
		if len(after) > len(data)+1 || !bytes.HasPrefix(append(data, '\n'), after) {
			t.Fatalf("the repair changed more than the tail: %q → %q", data, after)
		}
		if ix.size != int64(len(after)) {
			t.Fatalf("appending starts at %d, the file has %d bytes", ix.size, len(after))
		}
		if ix.lines+len(ix.bad) > bytes.Count(after, []byte("\n")) || len(ix.done) > ix.lines || ix.failed > ix.lines {
			t.Fatalf("counts: %d lines, %d bad, %d done, %d failed for %d newlines", ix.lines, len(ix.bad), len(ix.done), ix.failed, bytes.Count(after, []byte("\n")))
		}
	})
}
