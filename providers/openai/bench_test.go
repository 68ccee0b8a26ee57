package openai_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/fixture"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

// benchServer answers every request with the recorded Azure chat completion
// (annotations included), as in DESIGN.md's performance budget.
func benchServer(b *testing.B) *httptest.Server {
	body := []byte(fixture.AzureRecording(b, "aoai_chat_completion_gpt4_2025-01-01-preview.recording.json").ResponseBody)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("apim-request-id", "61298fc7-a82b-4586-bf20-d4757584e833")
		w.Header().Set("x-ms-region", "East US")
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

const benchPrompt = "Count to 10, with a comma between each number, no newlines and a period at the end."

// BenchmarkGoOpenAI is the baseline: go-openai alone.
func BenchmarkGoOpenAI(b *testing.B) {
	srv := benchServer(b)
	cc := goopenai.DefaultConfig(testKey)
	cc.BaseURL = srv.URL + "/v1"
	client := goopenai.NewClientWithConfig(cc)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, err := client.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{
			Model:     "gpt-4",
			Messages:  []goopenai.ChatCompletionMessage{{Role: "user", Content: benchPrompt}},
			MaxTokens: 1024,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProviderGenerate is the provider over the same server; the
// difference to BenchmarkGoOpenAI is what the provider adds (serializing,
// header capture, annotation parsing, response building).
func BenchmarkProviderGenerate(b *testing.B) {
	srv := benchServer(b)
	p, err := openai.New(openai.Config{APIKey: testKey, BaseURL: srv.URL + "/v1", HTTPClient: &http.Client{}})
	if err != nil {
		b.Fatal(err)
	}
	req := &llm.Request{
		Model:    registry.Model{ID: "azure-gpt-4", Provider: "openai", Name: "gpt-4"},
		Messages: conversation.New().User(benchPrompt).Messages(),
		Sampling: llm.Sampling{MaxNewTokens: 1024},
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Generate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
