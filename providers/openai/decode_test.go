package openai

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDocDecoderMatchesUnmarshal: a reused decoder accepts and rejects
// exactly what json.Unmarshal does, document after document, and recovers
// after an error.
func TestDocDecoderMatchesUnmarshal(t *testing.T) {
	type doc struct {
		A int      `json:"a"`
		B []string `json:"b"`
	}
	inputs := []string{
		`{"a":1,"b":["x"]}`,
		"  {\"a\":2}\n\n",
		`{"a":3}{"a":4}`, // two values
		`{"a":5}`,
		`{"a":6} x`, // trailing garbage
		`{"a":7,"b":["y","z"]}`,
		``,
		`   `,
		`{"a":`, // truncated
		`{"a":8}`,
		`{"a":"nine"}`, // type error
		`{"a":10}`,
		`null`,
		`[1]`,
		`{"a":11,"b":null}` + strings.Repeat(" ", 2000),
		`<html>`,
		`{"a":12}]`,
		"{\"a\":13}\n}",
		"\t{\"a\":14}\r\n",
		`{"a":15}`,
		`{"b":["` + strings.Repeat("w", 5000) + `"]}`,
	}
	var d docDecoder
	for _, in := range inputs {
		var want, got doc
		wantErr := json.Unmarshal([]byte(in), &want)
		gotErr := d.decode([]byte(in), &got)
		if wantErr != nil {
			assert.Error(t, gotErr, "%.40q", in)
			continue
		}
		require.NoError(t, gotErr, "%.40q", in)
		assert.Equal(t, want, got, "%.40q", in)
	}
}

// TestDocDecoderLargeDocumentInPlace: a large document is decoded without
// the Decoder (which would copy it into its own buffer), so the pooled
// Decoder's buffer stays small, and the result is the same.
func TestDocDecoderLargeDocumentInPlace(t *testing.T) {
	var d docDecoder
	var v struct{ S string }
	require.NoError(t, d.decode([]byte(`{"S":"b"}`), &v))
	big := []byte(`{"S":"` + strings.Repeat("a", maxPooledBuffer) + `"}`)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range 4 {
		v.S = ""
		require.NoError(t, d.decode(big, &v))
	}
	runtime.ReadMemStats(&m1)
	perDoc := (m1.TotalAlloc - m0.TotalAlloc) / 4
	assert.Less(t, perDoc, uint64(maxPooledBuffer)*3/2, "the document is not copied: only its string is allocated")
	assert.Len(t, v.S, maxPooledBuffer)
	require.Error(t, d.decode([]byte(`{"S":"`+strings.Repeat("a", maxPooledBuffer)+`"} x`), &v), "as strict as json.Unmarshal")
	require.NoError(t, d.decode([]byte(`{"S":"b"}`), &v))
	assert.Equal(t, "b", v.S)
}

// TestDocDecoderReusesScanner: after the first document, decoding one
// allocates less than json.Unmarshal does (the scanners' state stacks and
// the buffer are kept).
func TestDocDecoderReusesScanner(t *testing.T) {
	data := []byte(`{"a":{"b":{"c":{"d":[{"e":1}]}}}}`)
	var v any
	var d docDecoder
	require.NoError(t, d.decode(data, &v))
	reused := testing.AllocsPerRun(100, func() { v = nil; _ = d.decode(data, &v) })
	fresh := testing.AllocsPerRun(100, func() { v = nil; _ = json.Unmarshal(data, &v) })
	assert.Less(t, reused, fresh)
}
