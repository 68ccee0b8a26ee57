package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/fixture"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/registry"
)

// fuzzLimit keeps the fuzzers' size checks cheap.
const fuzzLimit = 1 << 16

// replyTransport answers every request with one status, content type and
// body, echoing the key in a header when echo is set.
type replyTransport struct {
	status      int
	contentType string
	body        []byte
	echo        bool
}

func (rt replyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	h := http.Header{"Content-Type": {rt.contentType}, "Request-Id": {"req_1"}}
	if rt.echo {
		h.Set("Request-Id", "req_"+testKey)
		h.Set("X-Echo", testKey)
	}
	return &http.Response{StatusCode: rt.status, Header: h, Body: io.NopCloser(strings.NewReader(string(rt.body))),
		ContentLength: -1, Request: req}, nil
}

func fuzzProvider(t *testing.T, rt replyTransport) *anthropic.Provider {
	p, err := anthropic.New(anthropic.Config{APIKey: testKey, HTTPClient: &http.Client{Transport: rt}, MaxResponseBytes: fuzzLimit})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func fuzzRequest(t *testing.T) *llm.Request {
	m, err := registry.Lookup("claude-sonnet-4-5")
	if err != nil {
		t.Fatal(err)
	}
	return &llm.Request{Model: m, Messages: conversation.New().User("hi").Messages()}
}

// known are the codes an error may have.
var known = map[llm.Code]bool{
	llm.CodeUnknown: true, llm.CodeAuthentication: true, llm.CodePermissionDenied: true, llm.CodeNotFound: true,
	llm.CodeRateLimited: true, llm.CodeQuotaExceeded: true, llm.CodeContentFiltered: true, llm.CodeContextLength: true,
	llm.CodeInvalidRequest: true, llm.CodeUnavailable: true, llm.CodeTimeout: true, llm.CodeCanceled: true,
	llm.CodeConfiguration: true,
}

// checkErr fails unless err is an *llm.Error with a known code that does
// not carry the key.
func checkErr(t *testing.T, err error) {
	t.Helper()
	var le *llm.Error
	if !errors.As(err, &le) {
		t.Fatalf("not an *llm.Error: %T %v", err, err)
	}
	if !known[le.Code] {
		t.Fatalf("unknown code %q", le.Code)
	}
	if strings.Contains(err.Error(), testKey) || strings.Contains(le.RequestID, testKey) {
		t.Fatalf("the key leaked: %v", err)
	}
	if le.RetryAfter < 0 || le.RetryAfter > 7*24*60*60*1e9 {
		t.Fatalf("retry after %v", le.RetryAfter)
	}
}

// noKey fails when v, marshaled, contains the key.
func noKey(t *testing.T, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if strings.Contains(string(b), testKey) {
		t.Fatalf("the key leaked: %s", b)
	}
}

// FuzzGenerate drives Generate with any status and body (the key echoed in
// headers and, when the body has a place for it, in the body): a reply or
// an *llm.Error with a known code, never the key, never a panic.
func FuzzGenerate(f *testing.F) {
	for _, name := range []string{"messages_create_response.doc.json", "messages_tool_use_response.doc.json"} {
		f.Add(200, fixture.Anthropic(f, name))
	}
	f.Add(404, fixture.Anthropic(f, "error_404_not_found.doc.json"))
	f.Add(429, []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"slow down `+testKey+`"}}`))
	f.Add(529, []byte(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`))
	f.Add(401, []byte(`{"statusCode":401,"message":"Access denied due to invalid subscription key"}`))
	f.Add(400, []byte(`{"error":{"code":"content_filter","message":"filtered"}}`))
	f.Add(200, []byte(`<html>gateway</html>`))
	f.Add(200, []byte(`{"content":"not an array"}`))
	f.Add(302, []byte(``))
	for _, s := range fixture.Seeds(f) {
		if s.Kind == fixture.SeedResponse && s.Status >= 400 {
			f.Add(s.Status, s.Body)
		}
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		p := fuzzProvider(t, replyTransport{status: status, contentType: "application/json", body: body, echo: true})
		resp, err := p.Generate(context.Background(), fuzzRequest(t))
		if err != nil {
			checkErr(t, err)
			return
		}
		if status < 200 || status > 299 {
			t.Fatalf("HTTP %d became a reply", status)
		}
		noKey(t, resp)
		if resp.Header.Get("X-Echo") != "[REDACTED]" {
			t.Fatalf("echoed header %q", resp.Header.Get("X-Echo"))
		}
	})
}

// FuzzStream drives Stream with any event stream: chunks, then at most one
// error, last; the stream ends; nothing carries the key.
func FuzzStream(f *testing.F) {
	for _, name := range []string{"messages_stream_basic.doc.sse", "messages_stream_error_overloaded.doc.sse",
		"messages_stream_extended_thinking.doc.sse", "messages_stream_tool_use.doc.sse"} {
		f.Add(fixture.Anthropic(f, name))
	}
	f.Add([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\"}}\n\n" +
		"data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + testKey + "\"}}\n\n"))
	f.Add([]byte(": comment\n\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"" + testKey + "\"}}\n\n"))
	f.Add([]byte("data: not json\n\n"))
	f.Add([]byte("data: " + strings.Repeat("x", fuzzLimit+1) + "\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		p := fuzzProvider(t, replyTransport{status: 200, contentType: "text/event-stream", body: body, echo: true})
		watchdog := time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("the stream of %q did not end", body)) })
		defer watchdog.Stop()
		errs, n := 0, 0
		for c, err := range p.Stream(context.Background(), fuzzRequest(t)) {
			n++
			if errs > 0 {
				t.Fatal("an element after the error")
			}
			if err != nil {
				errs++
				checkErr(t, err)
				continue
			}
			noKey(t, c)
			if n > len(body)+2 {
				t.Fatalf("%d chunks from %d bytes", n, len(body))
			}
		}
	})
}
