package openai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/fixture"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

// memTransport answers every request with body, from memory: what is
// measured is the client's own work.
type memTransport struct{ body []byte }

func (m memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"},
		"Apim-Request-Id": {"61298fc7-a82b-4586-bf20-d4757584e833"}, "X-Ms-Region": {"East US"}},
		Body: io.NopCloser(bytes.NewReader(m.body)), ContentLength: int64(len(m.body)), Request: req}, nil
}

func benchResponsesBody(b *testing.B) []byte {
	return fixture.Azure(b, "aoai_responses_create_v1_gpt41nano.doc.json")
}

// BenchmarkResponsesGenerate is the provider's Responses API call over an
// in-memory transport answering the Azure fixture.
func BenchmarkResponsesGenerate(b *testing.B) {
	p, err := openai.New(openai.Config{APIKey: testKey, HTTPClient: &http.Client{Transport: memTransport{benchResponsesBody(b)}}})
	if err != nil {
		b.Fatal(err)
	}
	req := &llm.Request{
		Model:    registry.Model{ID: "gpt-4.1-nano", Provider: "openai", Name: "gpt-4.1-nano"},
		Messages: conversation.New().User(benchPrompt).Messages(),
		Sampling: llm.Sampling{MaxNewTokens: 1024, API: llm.APIResponses},
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Generate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkResponsesHandWritten is the same call written by hand with
// net/http and encoding/json, decoding only the text and usage.
func BenchmarkResponsesHandWritten(b *testing.B) {
	hc := &http.Client{Transport: memTransport{benchResponsesBody(b)}}
	ctx := context.Background()
	type in struct {
		Model           string `json:"model"`
		Input           string `json:"input"`
		MaxOutputTokens int    `json:"max_output_tokens"`
		Store           bool   `json:"store"`
	}
	type out struct {
		Output []struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"output"`
		Usage struct {
			InputTokens, OutputTokens int
		} `json:"usage"`
	}
	b.ReportAllocs()
	for b.Loop() {
		body, _ := json.Marshal(in{Model: "gpt-4.1-nano", Input: benchPrompt, MaxOutputTokens: 1024})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://api.openai.com/v1/responses", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var o out
		if err := json.NewDecoder(resp.Body).Decode(&o); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if !strings.HasPrefix(o.Output[0].Content[0].Text, "Hello") {
			b.Fatal("wrong reply")
		}
	}
}
