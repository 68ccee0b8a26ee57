package openai_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

// exampleServer stands in for an OpenAI-compatible server (vLLM, Ollama…):
// it answers every chat completion with a fixed reply.
func exampleServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			w.Header().Set("Content-Type", "text/event-stream")
			for _, part := range []string{`{"content":"Bonjour"}`, `{"content":" !"}`} {
				fmt.Fprintf(w, "data: {\"model\":\"llama3.1:8b\",\"choices\":[{\"index\":0,\"delta\":%s,\"finish_reason\":null}]}\n\n", part)
			}
			fmt.Fprint(w, "data: {\"model\":\"llama3.1:8b\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}\n\ndata: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"1","object":"chat.completion","model":"llama3.1:8b",
			"choices":[{"index":0,"message":{"role":"assistant","content":"Bonjour !"},"finish_reason":"stop"}],
			"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}`)
	}))
}

// A custom model on a local OpenAI-compatible server: a model with its own
// APIBase is sent there by the registered "openai" provider (no OpenAI key
// needed). registry.MustRegister(m) would make it callable by ID through
// llm.NewClient.
func Example_customModel() {
	srv := exampleServer()
	defer srv.Close()

	m := registry.Model{
		ID:       "local-llama",
		Provider: openai.ProviderName,
		Name:     "llama3.1:8b", // what goes on the wire
		APIBase:  srv.URL + "/v1",
	}
	p, err := llm.OpenProvider(m.Provider)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := p.Generate(context.Background(), &llm.Request{
		Model:    m,
		Messages: conversation.New().User("Say hello in French.").Messages(),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Completion)
	fmt.Println(resp.Model, resp.ServedModel, resp.Usage.InputTokens, resp.Usage.OutputTokens)
	// Output:
	// Bonjour !
	// local-llama llama3.1:8b 12 3
}

// A provider configured in code rather than from the environment.
func ExampleNew() {
	srv := exampleServer()
	defer srv.Close()

	p, err := openai.New(openai.Config{APIKey: "sk-example", BaseURL: srv.URL + "/v1"})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	resp, err := p.Generate(context.Background(), &llm.Request{
		Model:    registry.Model{ID: "llama", Provider: openai.ProviderName, Name: "llama3.1:8b"},
		Messages: conversation.New().User("Say hello in French.").Messages(),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Completion, resp.FinishReason)
	// Output: Bonjour ! stop
}

func ExampleProvider_Stream() {
	srv := exampleServer()
	defer srv.Close()

	p, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1"})
	if err != nil {
		log.Fatal(err)
	}
	req := &llm.Request{
		Model:    registry.Model{ID: "llama", Provider: openai.ProviderName, Name: "llama3.1:8b"},
		Messages: conversation.New().User("Say hello in French.").Messages(),
	}
	for chunk, err := range p.Stream(context.Background(), req) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%q", chunk.Text)
		if chunk.Usage != nil {
			fmt.Printf(" finish=%s output_tokens=%d", chunk.FinishReason, chunk.Usage.OutputTokens)
		}
	}
	fmt.Println()
	// Output: "Bonjour"" !""" finish=stop output_tokens=3
}

// NewFromClientConfig reuses the provider over another go-openai
// configuration; here Azure's classic deployment URLs, with the deployment
// name escaped (go-openai does not escape it).
func ExampleNewFromClientConfig() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.Method, r.URL.EscapedPath()+"?"+r.URL.RawQuery, "api-key:", r.Header.Get("api-key"))
		w.Header().Set("apim-request-id", "apim-1")
		w.Header().Set("x-ms-region", "Sweden Central")
		fmt.Fprint(w, `{"model":"gpt-4o-2024-11-20","choices":[{"index":0,"message":{"role":"assistant","content":"Hej!"},"finish_reason":"stop"}],"usage":{}}`)
	}))
	defer srv.Close()

	cc := goopenai.DefaultConfig("azure-key")
	cc.BaseURL = srv.URL
	cc.APIType = goopenai.APITypeAzure // api-key header, /openai/deployments/{name} path
	cc.APIVersion = "2024-10-21"
	cc.AzureModelMapperFunc = url.PathEscape
	p, err := openai.NewFromClientConfig(cc, openai.Options{
		Name:   "azure-foundry",
		Redact: []string{"azure-key"},
	})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := p.Generate(context.Background(), &llm.Request{
		Model:    registry.Model{ID: "azure-gpt-4o", Provider: "azure-foundry", Name: "my gpt-4o"},
		Messages: conversation.New().User("Say hello in Swedish.").Messages(),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Provider, resp.Completion, resp.ServedModel, resp.Region, resp.RequestID)
	// Output:
	// POST /openai/deployments/my%20gpt-4o/chat/completions?api-version=2024-10-21 api-key: azure-key
	// azure-foundry Hej! gpt-4o-2024-11-20 Sweden Central apim-1
}

func ExampleErrorFromHTTP() {
	header := http.Header{"Retry-After-Ms": {"1500"}, "Apim-Request-Id": {"apim-42"}}
	body := []byte(`{"error":{"code":"429","message":"Requests have exceeded the call rate limit. Please retry after 2 seconds."}}`)
	err := error(openai.ErrorFromHTTP("azure-foundry", "azure-gpt-4o", 429, header, body))

	var le *llm.Error
	if errors.As(err, &le) {
		fmt.Println(le.Code, le.RetryAfter, le.Retryable())
	}
	fmt.Println(errors.Is(err, llm.ErrRateLimited))
	fmt.Println(err)
	// Output:
	// rate_limited 1.5s true
	// true
	// azure-foundry azure-gpt-4o: Requests have exceeded the call rate limit. Please retry after 2 seconds. (HTTP 429, retry after 1.5s, request id apim-42)
}

// MarshalChatRequest gives the exact body the provider sends, for callers
// that send it another way (batch input files).
func ExampleMarshalChatRequest() {
	temp := 0.0
	body, err := openai.MarshalChatRequest(&llm.Request{
		Model:    registry.Model{ID: "gpt-4.1-mini", Provider: openai.ProviderName, Name: "gpt-4.1-mini"},
		Messages: conversation.New().System("Be brief.").User("2+2?").Messages(),
		Sampling: llm.Sampling{Temperature: &temp, MaxNewTokens: 5},
	}, "gpt-4.1-mini")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(body))
	// Output: {"temperature":0,"model":"gpt-4.1-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"2+2?"}],"max_tokens":5,"stream":false}
}

// RefuseRedirects copies a client so that it never follows a redirect,
// leaving the original alone; providers use it for every client.
func ExampleRefuseRedirects() {
	mine := &http.Client{Timeout: time.Minute}
	c := openai.RefuseRedirects(mine)
	fmt.Println(c.Timeout, mine.CheckRedirect == nil, c.CheckRedirect != nil)
	// Output: 1m0s true true
}

// MarshalResponsesRequest gives the exact Responses API body the provider
// sends: the system message as instructions, store false unless asked.
func ExampleMarshalResponsesRequest() {
	body, err := openai.MarshalResponsesRequest(&llm.Request{
		Model:    registry.Model{ID: "o3-pro", Provider: openai.ProviderName, Name: "o3-pro", Reasoning: true},
		Messages: conversation.New().System("Be brief.").User("2+2?").Messages(),
		Sampling: llm.Sampling{MaxNewTokens: 500, ReasoningEffort: "high", ReasoningSummary: "auto"},
	}, "o3-pro")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(body))
	// Output: {"model":"o3-pro","input":[{"type":"message","role":"user","content":"2+2?"}],"instructions":"Be brief.","max_output_tokens":500,"reasoning":{"effort":"high","summary":"auto"},"store":false}
}

// The quota key under which a client paces a model (llm.QuotaKeyer): the
// server, the organization and the wire name, so that two model IDs for
// one OpenAI model share one pace, and a model on another server has its
// own.
func ExampleProvider_QuotaKey() {
	p, err := openai.New(openai.Config{APIKey: "sk-example"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.QuotaKey(registry.Model{ID: "summaries", Provider: openai.ProviderName, Name: "gpt-4o-mini"}))
	fmt.Println(p.QuotaKey(registry.Model{ID: "local", Provider: openai.ProviderName, Name: "llama3.1:8b", APIBase: "http://localhost:11434/v1"}))

	org, err := openai.New(openai.Config{APIKey: "sk-example", Organization: "org-123"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(org.QuotaKey(registry.Model{ID: "summaries", Provider: openai.ProviderName, Name: "gpt-4o-mini"}))
	// Output:
	// https://api.openai.com/v1#gpt-4o-mini
	// http://localhost:11434/v1#llama3.1:8b
	// https://api.openai.com/v1?org=org-123#gpt-4o-mini
}
