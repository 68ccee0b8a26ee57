package azuretest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchHandler measures the handler alone, without a network.
func benchHandler(b *testing.B, h *Handler, body string) {
	b.Helper()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		rd := bytes.NewReader(nil)
		for pb.Next() {
			rd.Reset([]byte(body))
			req := httptest.NewRequest(http.MethodPost, "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", io.NopCloser(rd))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}

func BenchmarkChat(b *testing.B) {
	benchHandler(b, NewHandler(WithArrivalLog(1024)), `{"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Count to 10, with a comma between each number, no newlines and a period at the end."}],"max_tokens":100}`)
}

func BenchmarkChatWithQuota(b *testing.B) {
	benchHandler(b, NewHandler(WithArrivalLog(1024), WithDefaultRateLimit(1<<30, 1<<30)), `{"messages":[{"role":"user","content":"Count to 10."}],"max_tokens":100}`)
}

func BenchmarkChatStream(b *testing.B) {
	benchHandler(b, NewHandler(WithArrivalLog(1024)), `{"messages":[{"role":"user","content":"Count to 10, with a comma between each number, no newlines and a period at the end."}],"stream":true,"stream_options":{"include_usage":true}}`)
}

// BenchmarkChatHTTP goes through a loopback HTTP server, as clients do.
func BenchmarkChatHTTP(b *testing.B) {
	s := NewServer(WithArrivalLog(1024))
	defer s.Close()
	url := classicURL(s, "gpt-4o", "2024-10-21")
	body := []byte(`{"messages":[{"role":"user","content":"Count to 10."}],"max_tokens":100}`)
	client := s.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
