package conversation_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/fixture"
)

// Fuzz targets for the conversation JSON a user or a file supplies (the
// native form, OpenAI chat messages, JSONL request bodies). They are seeded
// from the requests in fixtures/azure; `go test` runs the seeds (and
// testdata/fuzz) as ordinary tests, scripts/fuzz.sh runs the fuzzers.

// conversationSeeds returns the message lists found in the fixtures: the
// "messages" of recorded requests and of batch input lines, whole.
func conversationSeeds(f *testing.F) [][]byte {
	var out [][]byte
	for _, s := range fixture.Seeds(f) {
		var w struct {
			Messages json.RawMessage `json:"messages"`
			Body     struct {
				Messages json.RawMessage `json:"messages"`
			} `json:"body"`
		}
		if json.Unmarshal(s.Body, &w) != nil {
			continue
		}
		for _, m := range []json.RawMessage{w.Messages, w.Body.Messages} {
			if len(m) > 0 {
				out = append(out, m, []byte(`{"messages":`+string(m)+`}`))
			}
		}
	}
	return out
}

// FuzzConversationJSON: whatever UnmarshalJSON accepts, the native form
// MarshalJSON writes reads back to itself, and the conversation can be
// validated and measured.
func FuzzConversationJSON(f *testing.F) {
	for _, s := range conversationSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte(`{"messages":[{"role":"developer","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},` +
		`{"role":"tool","tool_call_id":"c1","content":"42"},{"role":"user","parts":[{"type":"file","filename":"a.pdf","mime_type":"application/pdf","data":"AAAA"}]}]}`))
	f.Add([]byte(`[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c conversation.Conversation
		if err := c.UnmarshalJSON(data); err != nil {
			return
		}
		_ = c.Validate()
		_ = c.EstimateTokens()
		for _, m := range c.Messages() {
			_ = m.Text()
			_ = m.ToolCalls()
			for _, p := range m.Parts {
				_ = p.DataURL()
			}
		}
		first, err := c.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		var again conversation.Conversation
		if err := again.UnmarshalJSON(first); err != nil {
			t.Fatalf("the native form does not read back: %v\n%s", err, first)
		}
		second, err := again.MarshalJSON()
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("round trip changed the conversation:\n%s\n%s", first, second)
		}
		if (c.Validate() == nil) != (again.Validate() == nil) {
			t.Fatalf("validity changed in the round trip: %v / %v", c.Validate(), again.Validate())
		}
	})
}

// FuzzInlineData: a valid image or file given as bytes goes on the wire as
// a data: URL that reads back to the same type and bytes.
func FuzzInlineData(f *testing.F) {
	f.Add("image/png", []byte{0x89, 'P', 'N', 'G'}, false)
	f.Add("application/pdf", []byte("%PDF-1.7"), true)
	f.Add("image/svg+xml; charset=utf-8", []byte("<svg/>"), false)
	f.Add("image/png,evil", []byte("x"), false)
	f.Fuzz(func(t *testing.T, mime string, data []byte, file bool) {
		p := conversation.ImageData(mime, data)
		if file {
			p = conversation.FileData("f", mime, data)
		}
		if p.Validate() != nil || len(data) == 0 {
			return
		}
		msg := conversation.Message{Role: conversation.RoleUser, Parts: []conversation.Part{
			{Type: conversation.PartImage, URL: p.DataURL()}}}
		if file {
			msg.Parts[0].Type = conversation.PartFile
		}
		// Read the data URL back through the OpenAI form.
		raw := map[bool]string{
			false: `{"role":"user","content":[{"type":"image_url","image_url":{"url":` + quote(p.DataURL()) + `}}]}`,
			true:  `{"role":"user","content":[{"type":"file","file":{"file_data":` + quote(p.DataURL()) + `}}]}`,
		}[file]
		var back conversation.Message
		if err := back.UnmarshalJSON([]byte(raw)); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		got := back.Parts[0]
		if got.MIMEType != mime || !bytes.Equal(got.Data, data) {
			t.Fatalf("data URL %q read back as type %q, %d bytes (URL %q)", p.DataURL(), got.MIMEType, len(got.Data), got.URL)
		}
	})
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
