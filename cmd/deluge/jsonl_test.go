package main

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
)

// readAll reads every prompt of input.
func readAll(t *testing.T, input, system string) []prompt {
	t.Helper()
	r := newPromptReader(strings.NewReader(input), system)
	var out []prompt
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, p)
	}
}

func TestPromptReaderFormats(t *testing.T) {
	input := "\xef\xbb\xbf" + `{"id": "a", "prompt": "hello"}` + "\r\n" +
		"\n   \n" +
		`{"prompt": "no id"}` + "\n" +
		`{"id": 42, "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}], "model": "m2", "max_tokens": 7, "temperature": 0}` + "\n" +
		`{"id": "last", "prompt": "no newline at the end", "extra": {"kept": "ignored"}}`
	ps := readAll(t, input, "")
	require.Len(t, ps, 4)

	assert.Equal(t, 1, ps[0].Line)
	assert.Equal(t, "a", ps[0].ID)
	require.NoError(t, ps[0].Err)
	assert.Equal(t, "hello", ps[0].Conv.At(0).Text())

	assert.Equal(t, 4, ps[1].Line, "blank lines are counted")
	assert.Equal(t, "4", ps[1].ID, "a missing id is the line number")

	assert.Equal(t, "42", ps[2].ID, "a numeric id keeps its JSON text")
	assert.Equal(t, 2, ps[2].Conv.Len())
	assert.Equal(t, "m2", ps[2].Model)
	assert.Equal(t, 7, ps[2].MaxTokens)
	require.NotNil(t, ps[2].Temperature)
	assert.Equal(t, 0.0, *ps[2].Temperature, "an explicit temperature 0 is kept")

	assert.Equal(t, "last", ps[3].ID)
	assert.Equal(t, 6, ps[3].Line)
	assert.Nil(t, ps[3].Temperature)
}

func TestPromptReaderSystem(t *testing.T) {
	ps := readAll(t, `{"prompt":"p"}
{"messages":[{"role":"user","content":"u"}]}
{"messages":[{"role":"system","content":"own"},{"role":"user","content":"u"}]}
`, "SYS")
	require.Len(t, ps, 3)
	for i, want := range []string{"SYS", "SYS", "own"} {
		require.NoError(t, ps[i].Err)
		first := ps[i].Conv.At(0)
		assert.Equal(t, conversation.RoleSystem, first.Role, "line %d", i+1)
		assert.Equal(t, want, first.Text(), "line %d", i+1)
	}
	assert.Equal(t, 2, ps[2].Conv.Len(), "a conversation with its own system message gets no second one")
}

func TestPromptReaderMalformed(t *testing.T) {
	cases := []struct {
		line   string
		wantID string
		want   string
	}{
		{`{"id": "x", "prompt": "unterminated`, "1", "invalid JSON"},
		{`["a", "b"]`, "1", "want a JSON object"},
		{`"just a string"`, "1", "want a JSON object"},
		{`{"id": "x"}`, "x", `neither "prompt" nor "messages"`},
		{`{"id": "x", "prompt": "a", "messages": []}`, "x", "both"},
		{`{"id": "x", "prompt": 5}`, "x", `"prompt" must be a string`},
		{`{"id": "x", "prompt": ""}`, "x", `"prompt" is empty`},
		{`{"id": "x", "messages": []}`, "x", "empty"},
		{`{"id": "x", "messages": [{"role": "alien", "content": "x"}]}`, "x", `unknown role "alien"`},
		{`{"id": {"nested": 1}, "prompt": "a"}`, "1", `"id" must be a string or a number`},
		{`{"id": true, "prompt": "a"}`, "1", `"id" must be a string or a number`},
		{`{"id": "", "prompt": "a"}`, "1", `"id" is empty`},
		{`{"id": "x", "prompt": "a", "max_tokens": 0}`, "x", `"max_tokens" must be a positive integer`},
		{`{"id": "x", "prompt": "a", "max_tokens": 1.5}`, "x", `"max_tokens" must be a positive integer`},
		{`{"id": "x", "prompt": "a", "max_tokens": "10"}`, "x", `"max_tokens" must be a positive integer`},
		{`{"id": "x", "prompt": "a", "temperature": 3}`, "x", `"temperature" must be a number from 0 to 2`},
		{`{"id": "x", "prompt": "a", "model": 4}`, "x", `"model" must be a non-empty string`},
		{`{"id": "x", "prompt": "a"} trailing`, "1", "invalid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			ps := readAll(t, tc.line+"\n", "")
			require.Len(t, ps, 1)
			require.Error(t, ps[0].Err)
			assert.Contains(t, ps[0].Err.Error(), tc.want)
			assert.Equal(t, tc.wantID, ps[0].ID)
			assert.Equal(t, 1, ps[0].Line)
		})
	}
}

func TestPromptReaderMalformedLineDoesNotStopReading(t *testing.T) {
	ps := readAll(t, "{\"id\":\"a\",\"prompt\":\"x\"}\n{oops\n{\"id\":\"c\",\"prompt\":\"y\"}\n", "")
	require.Len(t, ps, 3)
	assert.NoError(t, ps[0].Err)
	assert.Error(t, ps[1].Err)
	assert.Equal(t, 2, ps[1].Line)
	assert.NoError(t, ps[2].Err)
	assert.Equal(t, "c", ps[2].ID)
}

func TestPromptReaderLongLines(t *testing.T) {
	old := maxLineBytes
	maxLineBytes = 200 << 10 // larger than the 64 KiB read buffer
	t.Cleanup(func() { maxLineBytes = old })

	long := strings.Repeat("x", 150<<10)
	tooLong := strings.Repeat("y", 300<<10)
	input := `{"id":"long","prompt":"` + long + "\"}\n" +
		`{"id":"too-long","prompt":"` + tooLong + "\"}\n" +
		`{"id":"after","prompt":"ok"}` + "\n"
	ps := readAll(t, input, "")
	require.Len(t, ps, 3)
	require.NoError(t, ps[0].Err)
	assert.Equal(t, long, ps[0].Conv.At(0).Text(), "lines longer than the read buffer are read whole")
	require.Error(t, ps[1].Err)
	assert.Contains(t, ps[1].Err.Error(), "longer than")
	assert.Equal(t, "2", ps[1].ID)
	require.NoError(t, ps[2].Err, "reading goes on after a line that is too long")
	assert.Equal(t, "after", ps[2].ID)
	assert.Equal(t, 3, ps[2].Line)
}

func TestPromptReaderReadError(t *testing.T) {
	r := newPromptReader(io.MultiReader(strings.NewReader("{\"prompt\":\"a\"}\n"), iotest.ErrReader(errors.New("disk on fire"))), "")
	p, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, "1", p.ID)
	_, err = r.Next()
	require.ErrorContains(t, err, "disk on fire")
}

func TestPromptSourceDispositions(t *testing.T) {
	done := &resumeIndex{done: map[string]struct{}{"d": {}}}
	src := newPromptSource(strings.NewReader(`{"id":"a","prompt":"x"}
{"id":"d","prompt":"done before"}
{"id":"a","prompt":"again"}
{"id":"b","prompt":5}
{"id":"b","prompt":"fixed but duplicate"}
{"prompt":"gets id 6"}
{"id":"6","prompt":"clashes with line 6"}
`), "", done)
	type got struct {
		id    string
		disp  disposition
		first int
	}
	var all []got
	for {
		p, d, first, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		all = append(all, got{p.ID, d, first})
	}
	assert.Equal(t, []got{
		{"a", dispSend, 0},
		{"d", dispDone, 0},
		{"a", dispDuplicate, 1},
		{"b", dispMalformed, 0},
		{"b", dispDuplicate, 4},
		{"6", dispSend, 0},
		{"6", dispDuplicate, 6},
	}, all)
}
