package openai_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
)

// bigReply is a chat completion whose content is n bytes of text.
func bigReply(n int) []byte {
	content, _ := json.Marshal(strings.Repeat("lorem ipsum ", n/12+1)[:n])
	return []byte(`{"id":"c","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":` +
		string(content) + `},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)
}

// bodyServer serves body to every request; chunked drops the
// Content-Length, as a streaming proxy would.
func bodyServer(tb testing.TB, body []byte, chunked bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !chunked {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// allocatedBy returns the bytes allocated, and still live, after one
// Generate of the reply srv serves.
func allocatedBy(tb testing.TB, p *openai.Provider) (total, live uint64, resp *llm.Response) {
	req := &llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User("x").Messages()}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	resp, err := p.Generate(tb.Context(), req)
	require.NoError(tb, err)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc, m1.HeapAlloc - m0.HeapAlloc, resp
}

// BenchmarkGenerateLargeReply reports what decoding a 64 MB reply costs in
// memory: alloc-MB/op (all bytes allocated, garbage included) and live-MB
// (what the Response keeps).
func BenchmarkGenerateLargeReply(b *testing.B) {
	const size = 64 << 20
	body := bigReply(size)
	for _, chunked := range []bool{false, true} {
		b.Run(map[bool]string{false: "content-length", true: "chunked"}[chunked], func(b *testing.B) {
			srv := bodyServer(b, body, chunked)
			p, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1", MaxResponseBytes: 2 * size})
			require.NoError(b, err)
			var total, live uint64
			for b.Loop() {
				t, l, resp := allocatedBy(b, p)
				total, live = total+t, live+l
				runtime.KeepAlive(resp)
			}
			n := float64(b.N)
			b.ReportMetric(float64(total)/n/(1<<20), "alloc-MB/op")
			b.ReportMetric(float64(live)/n/(1<<20), "live-MB")
			b.ReportMetric(float64(len(body))/(1<<20), "body-MB")
		})
	}
}

// TestLargeReplyDecodedWithoutCopies: a reply is held once as bytes and
// once as the decoded text, not copied into decoder buffers on the way
// (a 64 MB reply used to allocate 576 MB).
func TestLargeReplyDecodedWithoutCopies(t *testing.T) {
	const size = 4 << 20
	body := bigReply(size)
	for _, chunked := range []bool{false, true} {
		srv := bodyServer(t, body, chunked)
		p, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1"})
		require.NoError(t, err)
		allocatedBy(t, p) // warm up the pools
		total, _, resp := allocatedBy(t, p)
		require.Len(t, resp.Completion, size)
		// The body, the text and small change (more under -race); without
		// a Content-Length, the body is read in chunks and copied once more.
		// Before, a reply cost 9 times its size.
		want := uint64(2*size + 4<<20)
		if chunked {
			want += size
		}
		require.Less(t, total, want, "chunked=%v: %d MiB allocated for a %d MiB reply", chunked, total>>20, size>>20)
	}
}

// TestResponseSizeLimit: a reply body, an error body or a stream line past
// the limit fails with ErrResponseTooLarge (CodeConfiguration, not retried)
// without being read whole; within the limit everything works.
func TestResponseSizeLimit(t *testing.T) {
	const limit = 4096
	req := &llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User("x").Messages()}
	newP := func(t *testing.T, h http.HandlerFunc) *openai.Provider {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		p, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1", MaxResponseBytes: limit})
		require.NoError(t, err)
		return p
	}
	tooLarge := func(t *testing.T, err error) {
		t.Helper()
		require.ErrorIs(t, err, openai.ErrResponseTooLarge)
		var le *llm.Error
		require.ErrorAs(t, err, &le)
		assert.Equal(t, llm.CodeConfiguration, le.Code)
		assert.False(t, le.Retryable())
		assert.Contains(t, le.Message, "MaxResponseBytes")
	}
	t.Run("reply within the limit", func(t *testing.T) {
		body := bigReply(limit - 300)
		p := newP(t, func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
		_, err := p.Generate(t.Context(), req)
		require.NoError(t, err)
	})
	for _, chunked := range []bool{false, true} {
		t.Run("reply over the limit/chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			var wrote atomic.Int64
			p := newP(t, func(w http.ResponseWriter, r *http.Request) {
				if !chunked {
					w.Header().Set("Content-Length", strconv.Itoa(1<<30))
				}
				chunk := bytes.Repeat([]byte(" "), 1024)
				for range 1 << 20 { // up to 1 GiB, unless the client hangs up
					if _, err := w.Write(chunk); err != nil {
						return
					}
					wrote.Add(1)
				}
			})
			_, err := p.Generate(t.Context(), req)
			tooLarge(t, err)
			if !chunked {
				assert.Contains(t, err.Error(), "1073741824 bytes", "the announced size is refused before reading")
			}
		})
	}
	t.Run("error body over the limit", func(t *testing.T) {
		p := newP(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
			w.Write([]byte(`<html>` + strings.Repeat("x", 3*limit)))
		})
		_, err := p.Generate(t.Context(), req)
		require.ErrorIs(t, err, llm.ErrUnavailable, "the status still classifies the error")
		assert.Contains(t, err.Error(), "only its start was read")
	})
	t.Run("stream line over the limit", func(t *testing.T) {
		p := newP(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: %s\n\n", chunkJSON("m", `{"content":"ok"}`, "", ""))
			fmt.Fprintf(w, "data: %s\n\n", chunkJSON("m", `{"content":"`+strings.Repeat("x", 2*limit)+`"}`, "", ""))
		})
		var text string
		var last error
		for c, err := range p.Stream(t.Context(), req) {
			if err != nil {
				last = err
				break
			}
			text += c.Text
		}
		assert.Equal(t, "ok", text, "the events before the long line arrive")
		tooLarge(t, last)
	})
	t.Run("stream of endless comments", func(t *testing.T) {
		p := newP(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			for range 10 * limit / 20 {
				fmt.Fprintf(w, ": keep-alive comment %s\n", strings.Repeat("z", 10))
			}
			fmt.Fprintf(w, "data: %s\n\n", chunkJSON("m", `{"content":"ok"}`, "stop", ""))
		})
		for _, err := range p.Stream(t.Context(), req) {
			if err != nil {
				tooLarge(t, err)
				return
			}
		}
		t.Fatal("no error")
	})
	t.Run("stream within the limit", func(t *testing.T) {
		p := newP(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			for range 100 { // far more than the limit in all, each line below it
				fmt.Fprintf(w, ": ping\ndata: %s\n\n", chunkJSON("m", `{"content":"`+strings.Repeat("y", limit/2)+`"}`, "", ""))
			}
			fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", chunkJSON("m", `{}`, "stop", ""))
		})
		var n int
		for c, err := range p.Stream(t.Context(), req) {
			require.NoError(t, err)
			n += len(c.Text)
		}
		assert.Equal(t, 100*limit/2, n)
	})
}
