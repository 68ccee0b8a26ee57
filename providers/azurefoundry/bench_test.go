package azurefoundry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/internal/httpguard"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

// azureBody is the recorded Azure chat completion (fixtures/azure
// aoai_chat_completion_gpt4_2025-01-01-preview.recording.json), annotations
// included, so the capture doer's annotation path is measured too.
const azureBody = `{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}},"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":"1, 2, 3, 4, 5, 6, 7, 8, 9, 10.","role":"assistant"}}],"created":1738701397,"id":"Sanitized","model":"gpt-4","object":"chat.completion","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}],"system_fingerprint":null,"usage":{"completion_tokens":29,"prompt_tokens":42,"total_tokens":71}}`

func benchServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("apim-request-id", "61298fc7-a82b-4586-bf20-d4757584e833")
		w.Header().Set("x-ms-region", "East US")
		w.Write([]byte(azureBody))
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkGenerate measures the Azure provider end to end against a local
// server; compare with BenchmarkGenerateOpenAIBaseline, the openai provider
// it wraps, to see what Azure adds (routing, auth doer, cost).
func BenchmarkGenerate(b *testing.B) {
	srv := benchServer(b)
	p, err := New(Config{Endpoint: srv.URL, APIKey: "k", Logger: quietLogger})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	req := &llm.Request{Model: lookupB(b, "azure-gpt-4o"), Messages: hello(lookupB(b, "azure-gpt-4o")).Messages}
	benchGenerate(b, p, req)
}

func BenchmarkGenerateRegions(b *testing.B) {
	srv1, srv2 := benchServer(b), benchServer(b)
	p, err := New(Config{APIKey: "k", Logger: quietLogger, Regions: []Region{{Name: "a", Endpoint: srv1.URL}, {Name: "b", Endpoint: srv2.URL}}})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	req := &llm.Request{Model: lookupB(b, "azure-gpt-4o"), Messages: hello(lookupB(b, "azure-gpt-4o")).Messages}
	benchGenerate(b, p, req)
}

func BenchmarkGenerateOpenAIBaseline(b *testing.B) {
	srv := benchServer(b)
	cc := goopenai.DefaultConfig("k")
	cc.BaseURL = srv.URL + "/openai/v1"
	cc.HTTPClient = &http.Client{Transport: httpguard.NewTransport()}
	p, err := openai.NewFromClientConfig(cc, openai.Options{Name: ProviderName})
	if err != nil {
		b.Fatal(err)
	}
	req := &llm.Request{Model: lookupB(b, "azure-gpt-4o"), Messages: hello(lookupB(b, "azure-gpt-4o")).Messages}
	benchGenerate(b, p, req)
}

func benchGenerate(b *testing.B, p llm.Provider, req *llm.Request) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Generate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func lookupB(b *testing.B, id string) registry.Model {
	m, err := registry.Lookup(id)
	if err != nil {
		b.Fatal(err)
	}
	return m
}
