package openai_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	goopenai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/mockwire"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

const chatURL = "https://api.openai.com/v1/chat/completions"

// okBody is a minimal successful chat completion.
const okBody = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18",
"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],
"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`

// wire records the requests that reached the mock transport.
type wire struct{ *mockwire.Transport }

// last returns the newest request and its body.
func (w wire) last(t *testing.T) (mockwire.Request, []byte) {
	t.Helper()
	r := w.Last(t)
	return r, r.Raw
}

// mockProvider returns a provider for api.openai.com whose transport
// answers every chat request with status, header and body.
func mockProvider(t *testing.T, cfg openai.Config, status int, header http.Header, body string) (*openai.Provider, wire) {
	t.Helper()
	w := wire{mockwire.New(func(*http.Request) *http.Response {
		resp := httpmock.NewStringResponse(status, body)
		for k, vs := range header {
			resp.Header[k] = vs
		}
		if resp.Header.Get("Content-Type") == "" {
			resp.Header.Set("Content-Type", "application/json")
		}
		return resp
	})}
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	cfg.HTTPClient = w.Client()
	p, err := openai.New(cfg)
	require.NoError(t, err)
	return p, w
}

func model(id string) registry.Model {
	return registry.Model{ID: id, Provider: openai.ProviderName, Name: id}
}

func ptr[T any](v T) *T { return &v }

func TestWireRequestMinimal(t *testing.T) {
	p, w := mockProvider(t, openai.Config{Organization: "org-123"}, 200, nil, okBody)
	_, err := p.Generate(t.Context(), &llm.Request{Model: model("gpt-4o-mini"), Messages: conversation.New().User("hi").Messages()})
	require.NoError(t, err)
	r, body := w.last(t)
	assert.Equal(t, http.MethodPost, r.Method)
	assert.Equal(t, chatURL, r.URL)
	assert.Equal(t, "Bearer "+testKey, r.Header.Get("Authorization"))
	assert.Equal(t, "org-123", r.Header.Get("OpenAI-Organization"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"stream":false}`, string(body))
}

func TestWireRequestFeatures(t *testing.T) {
	weather := llm.Tool{Name: "get_weather", Description: "Weather by city",
		Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`), Strict: true}
	png := []byte{0x89, 'P', 'N', 'G'}

	tests := []struct {
		name string
		req  llm.Request
		want string
	}{
		{
			name: "roles, names, tool calls and results",
			req: llm.Request{Model: model("gpt-4.1"), Messages: []conversation.Message{
				{Role: conversation.RoleSystem, Parts: []conversation.Part{conversation.Text("Be brief.")}},
				{Role: conversation.RoleUser, Name: "alice", Parts: []conversation.Part{conversation.Text("Weather in Paris?")}},
				{Role: conversation.RoleAssistant, Parts: []conversation.Part{conversation.Text("Checking."),
					conversation.Call("call_1", "get_weather", `{"city":"Paris"}`)}},
				{Role: conversation.RoleTool, Parts: []conversation.Part{conversation.Result("call_1", "sunny")}},
			}},
			want: `{"model":"gpt-4.1","stream":false,"messages":[
				{"role":"system","content":"Be brief."},
				{"role":"user","content":"Weather in Paris?","name":"alice"},
				{"role":"assistant","content":"Checking.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
				{"role":"tool","content":"sunny","tool_call_id":"call_1"}]}`,
		},
		{
			name: "assistant with only a tool call has no content",
			req: llm.Request{Model: model("gpt-4.1"), Messages: conversation.New().User("x").
				AssistantToolCalls("", conversation.ToolCall{ID: "c", Name: "f", Arguments: "{}"}).ToolResult("c", "r").Messages()},
			want: `{"model":"gpt-4.1","stream":false,"messages":[{"role":"user","content":"x"},
				{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},
				{"role":"tool","content":"r","tool_call_id":"c"}]}`,
		},
		{
			name: "images as data URLs and plain URLs with detail",
			req: llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User("What is this?",
				conversation.ImageData("image/png", png).WithDetail("low"),
				conversation.ImageURL("https://example.com/cat.jpg")).Messages()},
			want: `{"model":"gpt-4o","stream":false,"messages":[{"role":"user","content":[
				{"type":"text","text":"What is this?"},
				{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw==","detail":"low"}},
				{"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}]}`,
		},
		{
			name: "tools, strict schema, named tool choice",
			req: llm.Request{Model: model("gpt-4.1"), Messages: conversation.New().User("x").Messages(),
				Sampling: llm.Sampling{Tools: []llm.Tool{weather, {Name: "now"}}, ToolChoice: "get_weather"}},
			want: `{"model":"gpt-4.1","stream":false,"messages":[{"role":"user","content":"x"}],
				"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather by city","strict":true,
					"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
					{"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}}],
				"tool_choice":{"type":"function","function":{"name":"get_weather"}}}`,
		},
		{
			name: "tool choice keywords",
			req: llm.Request{Model: model("gpt-4.1"), Messages: conversation.New().User("x").Messages(),
				Sampling: llm.Sampling{Tools: []llm.Tool{{Name: "now"}}, ToolChoice: "required"}},
			want: `{"model":"gpt-4.1","stream":false,"messages":[{"role":"user","content":"x"}],
				"tools":[{"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}}],
				"tool_choice":"required"}`,
		},
		{
			name: "json object mode",
			req: llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User("x").Messages(),
				Sampling: llm.Sampling{ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONObject}}},
			want: `{"model":"gpt-4o","stream":false,"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}`,
		},
		{
			name: "json schema",
			req: llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User("x").Messages(),
				Sampling: llm.Sampling{ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "answer",
					Schema: []byte(`{"type":"object","properties":{"a":{"type":"integer"}}}`), Strict: true}}},
			want: `{"model":"gpt-4o","stream":false,"messages":[{"role":"user","content":"x"}],
				"response_format":{"type":"json_schema","json_schema":{"name":"answer","strict":true,
					"schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}}`,
		},
		{
			name: "sampling settings of a non-reasoning model",
			req: llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User("x").Messages(),
				Sampling: llm.Sampling{Temperature: ptr(0.7), TopP: ptr(0.9), MaxNewTokens: 100, Stop: []string{"END", "\n\n"},
					Seed: ptr(int64(42)), Logprobs: true, TopLogprobs: 3, User: "user-7", ReasoningEffort: "high"}},
			want: `{"model":"gpt-4o","stream":false,"messages":[{"role":"user","content":"x"}],
				"temperature":0.7,"top_p":0.9,"max_tokens":100,"stop":["END","\n\n"],"seed":42,
				"logprobs":true,"top_logprobs":3,"user":"user-7"}`,
		},
		{
			name: "explicit zero temperature and top_p are sent",
			req: llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User("x").Messages(),
				Sampling: llm.Sampling{Temperature: ptr(0.0), TopP: ptr(0.0)}},
			want: `{"temperature":0,"top_p":0,"model":"gpt-4o","stream":false,"messages":[{"role":"user","content":"x"}]}`,
		},
		{
			name: "reasoning model: max_completion_tokens, sampling knobs dropped, effort kept",
			req: llm.Request{Model: registry.Model{ID: "my-o", Provider: "openai", Name: "my-reasoner", Reasoning: true},
				Messages: conversation.New().User("x").Messages(),
				Sampling: llm.Sampling{Temperature: ptr(0.0), TopP: ptr(0.5), MaxNewTokens: 500, Logprobs: true, TopLogprobs: 2,
					ReasoningEffort: "low", Seed: ptr(int64(1))}},
			want: `{"model":"my-reasoner","stream":false,"messages":[{"role":"user","content":"x"}],
				"max_completion_tokens":500,"reasoning_effort":"low","seed":1}`,
		},
		{
			name: "wire name of a reasoning family counts as reasoning",
			req: llm.Request{Model: model("o3-mini"), Messages: conversation.New().User("x").Messages(),
				Sampling: llm.Sampling{Temperature: ptr(1.0), MaxNewTokens: 50}},
			want: `{"model":"o3-mini","stream":false,"messages":[{"role":"user","content":"x"}],"max_completion_tokens":50}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, w := mockProvider(t, openai.Config{}, 200, nil, okBody)
			_, err := p.Generate(t.Context(), &tt.req)
			require.NoError(t, err)
			_, body := w.last(t)
			assert.JSONEq(t, tt.want, string(body))

			// MarshalChatRequest produces the same bytes.
			m, err := openai.MarshalChatRequest(&tt.req, p.WireName(tt.req.Model))
			require.NoError(t, err)
			assert.Equal(t, string(body), string(m))
		})
	}
}

func TestWireStreamRequest(t *testing.T) {
	p, w := mockProvider(t, openai.Config{}, 200, http.Header{"Content-Type": {"text/event-stream"}},
		"data: "+`{"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}`+"\n\ndata: [DONE]\n\n")
	var text strings.Builder
	for c, err := range p.Stream(t.Context(), &llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User("x").Messages(),
		Sampling: llm.Sampling{Temperature: ptr(0.0)}}) {
		require.NoError(t, err)
		text.WriteString(c.Text)
	}
	assert.Equal(t, "ok", text.String())
	r, body := w.last(t)
	assert.Equal(t, "text/event-stream", r.Header.Get("Accept"))
	assert.JSONEq(t, `{"temperature":0,"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},
		"messages":[{"role":"user","content":"x"}]}`, string(body))
}

func TestWireRequestRejected(t *testing.T) {
	tests := []struct {
		name string
		req  llm.Request
		want string
	}{
		{"file part", llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User("read",
			conversation.FileData("a.pdf", "application/pdf", []byte("%PDF"))).Messages()}, "file parts are not supported"},
		{"invalid tool schema", llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User("x").Messages(),
			Sampling: llm.Sampling{Tools: []llm.Tool{{Name: "f", Parameters: []byte(`{not json`)}}}}, "not valid JSON"},
		{"unknown response format", llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User("x").Messages(),
			Sampling: llm.Sampling{ResponseFormat: &llm.ResponseFormat{Type: "yaml"}}}, "unknown response format"},
		{"responses-only model sent as chat", llm.Request{Model: registry.Model{ID: "o3-pro", Provider: "openai", Name: "o3-pro", APISpec: registry.APISpecResponses},
			Messages: conversation.New().User("x").Messages(), Sampling: llm.Sampling{API: llm.APIChat}}, "served only by the Responses API"},
		{"embeddings model", llm.Request{Model: registry.Model{ID: "e", Provider: "openai", Name: "text-embedding-3-small", APISpec: registry.APISpecEmbeddings},
			Messages: conversation.New().User("x").Messages()}, "is an embeddings model"},
		{"tool message without result", llm.Request{Model: model("gpt-4o"), Messages: []conversation.Message{
			{Role: conversation.RoleTool, Parts: []conversation.Part{conversation.Text("x")}}}}, "no tool result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, w := mockProvider(t, openai.Config{}, 200, nil, okBody)
			_, err := p.Generate(t.Context(), &tt.req)
			require.Error(t, err)
			assert.ErrorIs(t, err, llm.ErrInvalidRequest)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, 0, w.Count(), "nothing must be sent")
			for _, err := range p.Stream(t.Context(), &tt.req) {
				assert.ErrorIs(t, err, llm.ErrInvalidRequest)
			}
		})
	}
}

func TestGenerateDoesNotMutateRequest(t *testing.T) {
	p, _ := mockProvider(t, openai.Config{}, 200, nil, okBody)
	png := []byte{1, 2, 3}
	req := &llm.Request{Model: model("o3"), Messages: conversation.New().System("s").
		User("look", conversation.ImageData("image/png", png)).Messages(),
		Sampling: llm.Sampling{Temperature: ptr(0.0), MaxNewTokens: 10, Stop: []string{"x"},
			Tools: []llm.Tool{{Name: "f", Parameters: []byte(`{"type":"object"}`)}}}}
	before, err := json.Marshal(req)
	require.NoError(t, err)
	_, err = p.Generate(t.Context(), req)
	require.NoError(t, err)
	after, err := json.Marshal(req)
	require.NoError(t, err)
	assert.JSONEq(t, string(before), string(after))
	assert.Equal(t, []byte{1, 2, 3}, png)
}

func TestNewValidation(t *testing.T) {
	_, err := openai.New(openai.Config{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OPENAI_API_KEY")
	assert.ErrorIs(t, err, llm.ErrConfiguration, "a configuration error has a code, not unknown")

	for _, base := range []string{"localhost:8000", "ftp://x/v1", "/v1", "http://"} {
		_, err = openai.New(openai.Config{APIKey: "k", BaseURL: base})
		assert.ErrorIs(t, err, llm.ErrConfiguration, base)
	}
	_, err = openai.NewFromClientConfig(goopenai.ClientConfig{BaseURL: "not a url"}, openai.Options{Name: "x"})
	assert.ErrorIs(t, err, llm.ErrConfiguration)
	// A keyless local server is fine.
	p, err := openai.New(openai.Config{BaseURL: "http://localhost:8000/v1/"})
	require.NoError(t, err)
	assert.Equal(t, openai.ProviderName, p.Name())
}

func TestConfigRedactsKey(t *testing.T) {
	c := openai.Config{APIKey: testKey, Organization: "org"}
	for _, s := range []string{c.String(), fmtV(c), fmtPlusV(c), fmtSharpV(c)} {
		assert.NotContains(t, s, testKey)
		assert.Contains(t, s, "REDACTED")
	}
}

// TestCustomModelRouting checks that a model with its own APIBase goes to
// that server, with the key of its APIKeyEnvVar, through a client that is
// built once.
func TestCustomModelRouting(t *testing.T) {
	t.Setenv("DELUGE_TEST_LOCAL_KEY", "local-secret-key")
	w := wire{mockwire.New(func(*http.Request) *http.Response { return httpmock.NewStringResponse(200, okBody) })}
	p, err := openai.New(openai.Config{APIKey: testKey, HTTPClient: w.Client()})
	require.NoError(t, err)

	local := registry.Model{ID: "local", Provider: "openai", Name: "llama", APIBase: "http://127.0.0.1:9999/v1", APIKeyEnvVar: "DELUGE_TEST_LOCAL_KEY"}
	keyless := registry.Model{ID: "keyless", Provider: "openai", Name: "qwen", APIBase: "http://127.0.0.1:9998/v1/"}
	for range 2 {
		_, err = p.Generate(t.Context(), &llm.Request{Model: local, Messages: conversation.New().User("x").Messages()})
		require.NoError(t, err)
		r, body := w.last(t)
		assert.Equal(t, "http://127.0.0.1:9999/v1/chat/completions", r.URL)
		assert.Equal(t, "Bearer local-secret-key", r.Header.Get("Authorization"))
		assert.Contains(t, string(body), `"model":"llama"`)
	}
	_, err = p.Generate(t.Context(), &llm.Request{Model: keyless, Messages: conversation.New().User("x").Messages()})
	require.NoError(t, err)
	r, _ := w.last(t)
	assert.Equal(t, "http://127.0.0.1:9998/v1/chat/completions", r.URL)
	assert.Equal(t, "Bearer "+testKey, r.Header.Get("Authorization"), "without APIKeyEnvVar the provider's key is used")

	missing := local
	missing.ID, missing.APIKeyEnvVar = "missing", "DELUGE_TEST_UNSET_VAR"
	_, err = p.Generate(t.Context(), &llm.Request{Model: missing, Messages: conversation.New().User("x").Messages()})
	assert.ErrorIs(t, err, llm.ErrAuthentication)
	assert.Contains(t, err.Error(), "DELUGE_TEST_UNSET_VAR")
}

// TestRegisteredProviderWithoutKey checks the lazily opened provider: with
// no OPENAI_API_KEY, OpenAI models fail saying what to set, while custom
// models on other servers work.
func TestRegisteredProviderWithoutKey(t *testing.T) {
	srv := newFakeOpenAI(t, "", fakeModel, 0)
	t.Setenv("OPENAI_API_KEY", "")
	p, err := openaiOpen()
	require.NoError(t, err)
	_, err = p.Generate(t.Context(), &llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User("x").Messages()})
	require.ErrorIs(t, err, llm.ErrAuthentication)
	assert.Contains(t, err.Error(), "OPENAI_API_KEY")

	local := registry.Model{ID: "local-fake", Provider: "openai", Name: fakeModel, APIBase: srv.URL + "/v1"}
	resp, err := p.Generate(t.Context(), &llm.Request{Model: local, Messages: conversation.New().User("hello").Messages()})
	require.NoError(t, err)
	assert.Equal(t, "echo: hello", resp.Completion)
	assert.Empty(t, srv.lastAuth(), "no key was configured, none is sent")
}

func TestCatalog(t *testing.T) {
	cat := openai.Catalog()
	require.NotEmpty(t, cat)
	ids := map[string]registry.Model{}
	for _, m := range cat {
		ids[m.ID] = m
		reg, err := registry.Lookup(m.ID)
		require.NoError(t, err, "catalog model %s is registered", m.ID)
		assert.Equal(t, m, reg)
		assert.Equal(t, openai.ProviderName, m.Provider)
		assert.Equal(t, m.ID, m.BaseModel, "BaseModel lets WithProvider find the Azure twin")
		assert.Positive(t, m.InputCost)
		assert.GreaterOrEqual(t, m.InputCost, m.CachedInputCost)
		assert.Positive(t, m.ContextWindow)
		if m.APISpec == registry.APISpecEmbeddings {
			assert.Zero(t, m.OutputCost, "%s: embeddings have no output tokens", m.ID)
			assert.Positive(t, m.Dimensions)
			assert.Equal(t, openai.EmbeddingMaxInputs, m.MaxInputs)
			continue
		}
		assert.Positive(t, m.OutputCost)
		assert.Positive(t, m.MaxOutputTokens)
		if m.Reasoning {
			assert.False(t, m.SupportsLogprobs, "%s: reasoning models have no logprobs", m.ID)
		}
	}
	for _, id := range []string{"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-5", "gpt-5-mini",
		"gpt-5-nano", "gpt-5.1", "o1", "o3", "o3-mini", "o4-mini", "gpt-4-turbo", "gpt-3.5-turbo"} {
		assert.Contains(t, ids, id)
	}
	assert.True(t, ids["o3"].Reasoning)
	assert.False(t, ids["gpt-4.1"].Reasoning)
	// 1M input + 1M output of gpt-4o-mini at list price.
	assert.InDelta(t, 0.75, ids["gpt-4o-mini"].Cost(1_000_000, 0, 1_000_000), 1e-9)
}

func TestProviderRegistered(t *testing.T) {
	assert.Contains(t, llm.Providers(), openai.ProviderName)
}

func fmtV(c openai.Config) string      { return fmt.Sprintf("%v", c) }
func fmtPlusV(c openai.Config) string  { return fmt.Sprintf("%+v", c) }
func fmtSharpV(c openai.Config) string { return fmt.Sprintf("%#v", c) }

// openaiOpen runs the registered opener's code path (the process-wide
// instance from llm.OpenProvider is opened once and cannot see t.Setenv).
func openaiOpen() (*openai.Provider, error) { return openai.OpenFromEnv() }
