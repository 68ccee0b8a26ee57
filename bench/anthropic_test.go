package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"
	sdkoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// The wire-library decision (see the package documentation and
// docs/benchmarks.md): one Messages API call through this package, through
// anthropic-sdk-go v2.17.0 (retries off), and through a hand-written
// net/http + encoding/json client, against the same canned reply served by
// an in-memory transport, and against the emulator over loopback. Run:
//
//	go -C bench test -run '^$' -bench Messages -benchmem .

// benchBody is a documented-shape reply of typical size (one text block,
// usage with the cache fields).
const benchBody = `{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",` +
	`"content":[{"type":"text","text":"Hi! My name is Claude. I am an AI assistant made by Anthropic, and I can help with writing, analysis, coding and many other tasks."}],` +
	`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2095,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,` +
	`"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":503,"service_tier":"standard"}}`

// cannedTransport reads each request body to the end, as a server does, and
// answers with a fresh header map and reader over benchBody.
type cannedTransport struct{}

func (cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	h := http.Header{"Content-Type": {"application/json"}, "Request-Id": {"req_011CSHoEeqs5C35K2UUqR7Fy"}}
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader(benchBody)),
		ContentLength: int64(len(benchBody)), Request: r}, nil
}

const benchSystem, benchPrompt = "You are terse.", "Hello, Claude"

func benchRequest() *llm.Request {
	return &llm.Request{Model: anthropic.Models()[7], // claude-sonnet-4-5
		Messages: conversation.New().System(benchSystem).User(benchPrompt).Messages(), Sampling: llm.Sampling{MaxNewTokens: 1024}}
}

func benchDeluge(b *testing.B, hc *http.Client, base string) {
	p, err := anthropic.New(anthropic.Config{APIKey: "k", BaseURL: base, HTTPClient: hc})
	if err != nil {
		b.Fatal(err)
	}
	req, ctx := benchRequest(), context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := p.Generate(ctx, req)
		if err != nil || resp.Completion == "" {
			b.Fatal(err)
		}
	}
}

func benchSDK(b *testing.B, hc *http.Client, base string) {
	c := sdk.NewClient(sdkoption.WithAPIKey("k"), sdkoption.WithBaseURL(base+"/"), sdkoption.WithMaxRetries(0), sdkoption.WithHTTPClient(hc))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m, err := c.Messages.New(ctx, sdk.MessageNewParams{
			Model: "claude-sonnet-4-5", MaxTokens: 1024,
			System:   []sdk.TextBlockParam{{Text: benchSystem}},
			Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock(benchPrompt))},
		})
		if err != nil || m.Content[0].Text == "" {
			b.Fatal(err)
		}
	}
}

// benchRaw is what a careful Go programmer writes without a library.
func benchRaw(b *testing.B, hc *http.Client, base string) {
	type block struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type message struct {
		Role    string  `json:"role"`
		Content []block `json:"content"`
	}
	type request struct {
		Model     string    `json:"model"`
		MaxTokens int       `json:"max_tokens"`
		System    []block   `json:"system"`
		Messages  []message `json:"messages"`
	}
	var reply struct {
		Content []block `json:"content"`
		Usage   struct {
			InputTokens  int `json:"input_tokens"`
			OutputTokens int `json:"output_tokens"`
		} `json:"usage"`
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		body, _ := json.Marshal(request{Model: "claude-sonnet-4-5", MaxTokens: 1024, System: []block{{"text", benchSystem}},
			Messages: []message{{"user", []block{{"text", benchPrompt}}}}})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/messages", bytes.NewReader(body))
		req.Header["X-Api-Key"] = []string{"k"}
		req.Header["Anthropic-Version"] = []string{anthropic.DefaultVersion}
		req.Header["Content-Type"] = []string{"application/json"}
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		reply.Content = nil
		err = json.NewDecoder(resp.Body).Decode(&reply)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || reply.Content[0].Text == "" {
			b.Fatal(err)
		}
	}
}

func BenchmarkMessagesInMemory(b *testing.B) {
	hc := &http.Client{Transport: cannedTransport{}}
	const base = "https://api.anthropic.com"
	b.Run("deluge", func(b *testing.B) { benchDeluge(b, hc, base) })
	b.Run("anthropic-sdk-go", func(b *testing.B) { benchSDK(b, hc, base) })
	b.Run("net-http", func(b *testing.B) { benchRaw(b, hc, base) })
}

func BenchmarkMessagesEmulator(b *testing.B) {
	srv := azuretest.NewServer(azuretest.WithDeployment("claude-sonnet-4-5", ""))
	defer srv.Close()
	base := srv.URL + "/anthropic"
	b.Run("deluge", func(b *testing.B) { benchDeluge(b, srv.Client(), base) })
	b.Run("anthropic-sdk-go", func(b *testing.B) { benchSDK(b, srv.Client(), base) })
	b.Run("net-http", func(b *testing.B) { benchRaw(b, srv.Client(), base) })
}

// BenchmarkClientGenerate is the whole deluge path (llm.Client, its
// limiter, the provider) over the in-memory transport: compare it with
// BenchmarkMessagesInMemory/anthropic-sdk-go.
func BenchmarkClientGenerate(b *testing.B) {
	p, err := anthropic.New(anthropic.Config{APIKey: "k", HTTPClient: &http.Client{Transport: cannedTransport{}}})
	if err != nil {
		b.Fatal(err)
	}
	c, err := llm.NewClient("claude-sonnet-4-5", llm.WithProviderInstance(p),
		llm.WithMaxRequestsPerMinute(-1), llm.WithMaxTokensPerMinute(-1), llm.WithMaxNewTokens(1024))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	conv := conversation.New().System(benchSystem).User(benchPrompt)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Generate(ctx, conv); err != nil {
			b.Fatal(err)
		}
	}
}
