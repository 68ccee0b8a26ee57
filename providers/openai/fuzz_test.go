package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/fixture"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// Fuzz targets for every parser of this package that reads what a server
// sent: error bodies and their content-filter annotations, retry headers,
// reply bodies, event streams, and the size limiter. They are seeded from
// fixtures/azure; `go test` runs the seeds (and testdata/fuzz) as ordinary
// tests, scripts/fuzz.sh runs the fuzzers.

// fuzzKey is the secret a fuzzed server may echo; it must never come out.
const fuzzKey = "sk-fuzz-0123456789abcdef"

// fuzzDoer answers every request with one canned response.
type fuzzDoer struct {
	status int
	header http.Header
	body   []byte
}

func (d fuzzDoer) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	h := d.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: d.status, Header: h, Body: io.NopCloser(bytes.NewReader(d.body)),
		ContentLength: -1, Request: req}, nil
}

func fuzzProvider(t *testing.T, d fuzzDoer, limit int64) *Provider {
	cc := goopenai.DefaultConfig(fuzzKey)
	cc.BaseURL = "https://fuzz.example/v1"
	cc.HTTPClient = d
	p, err := NewFromClientConfig(cc, Options{Name: "fuzz", Redact: []string{fuzzKey}, MaxResponseBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var fuzzRequest = &llm.Request{
	Model:    registry.Model{ID: "m", Provider: "fuzz", Name: "gpt-4o"},
	Messages: conversation.New().User("hi").Messages(),
}

// checkOutputs fails t when an error is not an *llm.Error, or when the key
// appears in anything the provider returned.
func checkOutputs(t *testing.T, resp any, err error) {
	t.Helper()
	if err != nil {
		var le *llm.Error
		if !errors.As(err, &le) {
			t.Fatalf("error %T is not an *llm.Error: %v", err, err)
		}
		if le.RetryAfter < 0 || le.RetryAfter > maxRetryAfter {
			t.Fatalf("RetryAfter %v out of range", le.RetryAfter)
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", le.Err), fmt.Sprint(le.Header), fmt.Sprintf("%+v", le.ContentFilter)} {
			if strings.Contains(s, fuzzKey) {
				t.Fatalf("the key leaked into an error: %s", s)
			}
		}
		if !utf8.ValidString(le.Message) {
			t.Fatalf("message is not valid UTF-8: %q", le.Message)
		}
	}
	switch r := resp.(type) {
	case *llm.Response:
		if r == nil {
			return
		}
	case *llm.Chunk:
		if r == nil {
			return
		}
	}
	if resp != nil {
		b, jerr := json.Marshal(resp)
		if jerr != nil {
			t.Fatalf("marshal %T: %v", resp, jerr)
		}
		h := ""
		switch r := resp.(type) {
		case *llm.Response:
			h = fmt.Sprint(r.Header)
		case *llm.Chunk:
			h = fmt.Sprint(r.Header)
		}
		if strings.Contains(string(b), fuzzKey) || strings.Contains(h, fuzzKey) {
			t.Fatalf("the key leaked into a result: %s %s", b, h)
		}
	}
}

func addResponseSeeds(f *testing.F, add func(s fixture.Seed)) {
	for _, s := range fixture.Seeds(f) {
		add(s)
	}
}

// FuzzParseFailure: the error-body decoder (content-filter annotations
// included), the retry headers and the classifier never panic, never give a
// negative or absurd wait, and always give a known code.
func FuzzParseFailure(f *testing.F) {
	addResponseSeeds(f, func(s fixture.Seed) {
		if s.Kind == fixture.SeedResponse {
			f.Add(max(s.Status, 400), s.Header["retry-after-ms"], s.Header["retry-after"], s.Body)
		}
	})
	f.Add(429, "1e300", "86400", []byte(`{"error":{"code":429,"message":"Please retry after 99999999999999999999 seconds"}}`))
	f.Add(400, "", "Wed, 21 Oct 2015 07:28:00 GMT", []byte(`{"error":{"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"custom_blocklists":{"filtered":true}}}}}`))
	f.Fuzz(func(t *testing.T, status int, retryMS, retry string, body []byte) {
		h := http.Header{}
		if retryMS != "" {
			h.Set("Retry-After-Ms", retryMS)
		}
		if retry != "" {
			h.Set("Retry-After", retry)
		}
		fl := parseFailure(status, h, body, nil)
		if fl.RetryAfter < 0 || fl.RetryAfter > maxRetryAfter {
			t.Fatalf("RetryAfter %v", fl.RetryAfter)
		}
		c := classifyFailure(&fl)
		if c != llm.CodeUnknown && errors.Is(c.Sentinel(), llm.ErrUnknown) {
			t.Fatalf("unknown code %q", c)
		}
		if fl.ContentFilter != nil {
			_ = fl.ContentFilter.Fired()
			_ = fl.ContentFilter.String()
		}
		e := ErrorFromHTTP("p", "m", status, h, body)
		checkOutputs(t, nil, e)
	})
}

// FuzzRetryAfter: retry-after-ms, retry-after and the message forms give a
// wait between 0 and maxRetryAfter.
func FuzzRetryAfter(f *testing.F) {
	f.Add("1500", "2", "")
	f.Add("", "Wed, 21 Oct 2099 07:28:00 GMT", "")
	f.Add("NaN", "-Inf", "Please retry after 86400 seconds.")
	f.Add("", "", "Please try again in 1.5s.")
	f.Add("", "", "retry after 18446744073709551616 seconds")
	f.Fuzz(func(t *testing.T, ms, secs, msg string) {
		h := http.Header{"Retry-After-Ms": {ms}, "Retry-After": {secs}}
		if d := retryAfter(h, msg); d < 0 || d > maxRetryAfter {
			t.Fatalf("retryAfter(%q, %q, %q) = %v", ms, secs, msg, d)
		}
	})
}

// FuzzGenerate: any status and body, through the whole Generate path, give
// a response or an *llm.Error, never a panic, and never let the key out
// even when the body echoes it.
func FuzzGenerate(f *testing.F) {
	addResponseSeeds(f, func(s fixture.Seed) {
		if s.Kind == fixture.SeedResponse {
			f.Add(max(s.Status, 200), s.Body)
		}
	})
	f.Add(200, []byte(`{"model":"`+fuzzKey+`","choices":[{"message":{"content":[{"text":"`+fuzzKey+`"}]},"logprobs":{"content":[{"token":"`+fuzzKey+`","top_logprobs":[{"token":"`+fuzzKey+`"}]}]}}]}`))
	f.Add(302, []byte(nil))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		h := http.Header{"Apim-Request-Id": {fuzzKey}, "Content-Type": {"application/json"}}
		p := fuzzProvider(t, fuzzDoer{status: status, header: h, body: body}, 1<<16)
		resp, err := p.Generate(context.Background(), fuzzRequest)
		if (resp == nil) == (err == nil) {
			t.Fatalf("resp %v, err %v", resp, err)
		}
		checkOutputs(t, resp, err)
	})
}

// FuzzStream: any event stream gives chunks and at most one error, last,
// always an *llm.Error; the size limit holds; the key never comes out.
func FuzzStream(f *testing.F) {
	addResponseSeeds(f, func(s fixture.Seed) {
		if s.Kind == fixture.SeedStream {
			f.Add(uint16(0), s.Body)
			f.Add(uint16(200), s.Body)
		}
	})
	f.Add(uint16(0), []byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\""+fuzzKey+"\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"))
	f.Add(uint16(10), []byte(": comment\n: comment\n\ndata: {\"error\":{\"message\":\"x\"}}\n\n"))
	f.Fuzz(func(t *testing.T, limit uint16, body []byte) {
		max := int64(1 << 20)
		if limit > 0 {
			max = 64 + int64(limit)
		}
		h := http.Header{"Content-Type": {"text/event-stream"}, "X-Request-Id": {fuzzKey}}
		p := fuzzProvider(t, fuzzDoer{status: 200, header: h, body: body}, max)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errs := 0
		for c, err := range p.Stream(ctx, fuzzRequest) {
			if errs > 0 {
				t.Fatal("an element after the error")
			}
			if err != nil {
				errs++
				checkOutputs(t, nil, err)
				continue
			}
			if c == nil {
				t.Fatal("nil chunk without error")
			}
			checkOutputs(t, c, nil)
		}
		if ctx.Err() != nil {
			t.Fatal("the stream did not end")
		}
	})
}

// FuzzSSELimiter: the limiter passes a stream through unchanged when no
// line, and not all the non-data lines together, exceed the limit, and
// stops with ErrResponseTooLarge when they do.
func FuzzSSELimiter(f *testing.F) {
	addResponseSeeds(f, func(s fixture.Seed) {
		if s.Kind == fixture.SeedStream {
			f.Add(uint16(4096), s.Body)
			f.Add(uint16(100), s.Body)
		}
	})
	f.Add(uint16(8), []byte("data: 12345678\n: 1234\n: 1234\n"))
	f.Fuzz(func(t *testing.T, limit uint16, data []byte) {
		lim := int64(limit) + 1
		st := &callState{}
		l := &sseLimiter{r: io.NopCloser(bytes.NewReader(data)), limit: lim, st: st}
		got, err := io.ReadAll(l)
		if !bytes.HasPrefix(data, got) {
			t.Fatal("the limiter changed the stream")
		}
		want := overLimit(data, lim)
		switch {
		case want && !errors.Is(err, ErrResponseTooLarge):
			t.Fatalf("no error for a stream over %d: %v", lim, err)
		case !want && err != nil:
			t.Fatalf("error for a stream within %d: %v", lim, err)
		case !want && len(got) != len(data):
			t.Fatal("stream cut short")
		case err != nil && st.overflow == nil:
			t.Fatal("the call state was not told")
		}
	})
}

// overLimit is the limiter's rule, written plainly.
func overLimit(data []byte, limit int64) bool {
	var nonData int64
	for _, line := range bytes.Split(data, []byte("\n")) {
		if int64(len(line)) > limit {
			return true
		}
		trimmed := bytes.TrimLeft(line, " \t\r")
		if len(trimmed) > 0 && !bytes.HasPrefix(trimmed, []byte("data:")) {
			nonData += int64(len(line))
			if nonData > limit {
				return true
			}
		}
	}
	return false
}

// FuzzDocDecoder: the pooled decoder is exactly as strict as
// json.Unmarshal, document after document.
func FuzzDocDecoder(f *testing.F) {
	addResponseSeeds(f, func(s fixture.Seed) {
		if s.Kind == fixture.SeedResponse {
			f.Add(s.Body, []byte(`{"choices":[]}`))
		}
	})
	f.Add([]byte(`{"a":1} {"b":2}`), []byte(` {"model":"x"} `))
	var d docDecoder // shared across inputs, as in the pool
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, doc := range [][]byte{a, b, a} {
			var got, want wireResponse
			gerr := d.decode(doc, &got)
			werr := json.Unmarshal(doc, &want)
			if (gerr == nil) != (werr == nil) {
				t.Fatalf("decode(%q): %v, json.Unmarshal: %v", doc, gerr, werr)
			}
			if gerr == nil {
				gerr, werr = got.decodeContent(), want.decodeContent()
				if (gerr == nil) != (werr == nil) {
					t.Fatalf("content: %v vs %v", gerr, werr)
				}
			}
		}
	})
}

// FuzzPrintable: metadata is valid UTF-8, without control characters,
// within its bound.
func FuzzPrintable(f *testing.F) {
	f.Add("req-123", uint16(256))
	f.Add("\x1b[31mred\x1b[0m\r\n\x00\xff\xfe", uint16(8))
	f.Add(strings.Repeat("é", 100), uint16(7))
	f.Fuzz(func(t *testing.T, s string, n uint16) {
		limit := int(n%1024) + 1
		out := printable(s, limit)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8: %q", out)
		}
		if len(out) > limit+len("…") {
			t.Fatalf("%d bytes, limit %d", len(out), limit)
		}
		control := func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 }
		for _, r := range out {
			if control(r) {
				t.Fatalf("control character %U in %q", r, out)
			}
		}
		if len(s) <= limit && utf8.ValidString(s) && !strings.ContainsFunc(s, control) && out != s {
			t.Fatalf("printable(%q) = %q, want it unchanged", s, out)
		}
	})
}
