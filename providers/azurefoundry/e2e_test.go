package azurefoundry

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// The acceptance tests: with only AZURE_OPENAI_ENDPOINT and
// AZURE_OPENAI_API_KEY set, an llm.Client for "azure-gpt-4o" gets
// completions and their cost, streams, JSON, image input and tools, from
// the emulator.

// envClient starts an emulator, points the environment at it and returns
// a client over a provider built from that environment.
func envClient(t *testing.T, extraEnv map[string]string, opts ...llm.ClientOption) (*llm.Client, *azuretest.Server) {
	t.Helper()
	srv := azuretest.NewServer(azuretest.WithAPIKeys("emulator-key"))
	t.Cleanup(srv.Close)
	clearAzureEnv(t)
	t.Setenv(EnvEndpoint, srv.URL)
	t.Setenv(EnvAPIKey, "emulator-key")
	for k, v := range extraEnv {
		t.Setenv(k, v)
	}
	p, err := NewFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	p.logger = quietLogger
	t.Cleanup(func() { p.Close() })
	c, err := llm.NewClient("azure-gpt-4o", append([]llm.ClientOption{llm.WithProviderInstance(p), llm.WithLogger(quietLogger)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, srv
}

func TestAcceptanceGenerate(t *testing.T) {
	c, _ := envClient(t, nil)
	resp, err := c.Generate(context.Background(), conversation.New().User("Hello!"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Completion != azuretest.ExpectedReply("Hello!") || resp.Provider != ProviderName || resp.Model != "azure-gpt-4o" {
		t.Errorf("resp = %q from %s/%s", resp.Completion, resp.Provider, resp.Model)
	}
	m := lookup(t, "azure-gpt-4o")
	want := m.Cost(resp.Usage.InputTokens, resp.Usage.CachedInputTokens, resp.Usage.OutputTokens)
	if resp.Usage.InputTokens != azuretest.PromptTokens("Hello!") || resp.Cost <= 0 || !near(resp.Cost, want) {
		t.Errorf("Usage %+v Cost %g, want cost %g", resp.Usage, resp.Cost, want)
	}
	if resp.Region != azuretest.DefaultRegion || resp.RequestID == "" || resp.Attempts != 1 {
		t.Errorf("Region %q RequestID %q Attempts %d", resp.Region, resp.RequestID, resp.Attempts)
	}
	if resp.PromptFilter == nil || resp.ContentFilter == nil {
		t.Error("content-filter annotations missing")
	}
}

func TestAcceptanceStream(t *testing.T) {
	c, _ := envClient(t, nil)
	var text strings.Builder
	var usage *llm.Usage
	for ch, err := range c.Stream(context.Background(), conversation.New().User("Stream this reply please")) {
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString(ch.Text)
		if ch.Usage != nil {
			usage = ch.Usage
		}
	}
	if text.String() != azuretest.ExpectedReply("Stream this reply please") || usage == nil || usage.OutputTokens == 0 {
		t.Errorf("text %q usage %+v", text.String(), usage)
	}
}

func TestAcceptanceJSONMode(t *testing.T) {
	c, _ := envClient(t, nil)
	resp, err := c.Generate(context.Background(), conversation.New().User("Give me JSON"), llm.WithJSONMode())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Completion != azuretest.ExpectedJSONReply("Give me JSON") || !json.Valid([]byte(resp.Completion)) {
		t.Errorf("Completion = %q", resp.Completion)
	}
}

func TestAcceptanceImage(t *testing.T) {
	c, _ := envClient(t, nil)
	conv := conversation.New().User("What is in this picture?",
		conversation.ImageURL("https://example.com/cat.png"),
		conversation.ImageData("image/png", []byte("\x89PNG\r\n\x1a\nfake")))
	resp, err := c.Generate(context.Background(), conv)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Completion != azuretest.ExpectedReply("What is in this picture?") {
		t.Errorf("Completion = %q", resp.Completion)
	}
	if text := azuretest.PromptTokens("What is in this picture?"); resp.Usage.InputTokens != text+2*85 {
		t.Errorf("InputTokens = %d, want %d (two images of 85)", resp.Usage.InputTokens, text+2*85)
	}
}

func TestAcceptanceTools(t *testing.T) {
	c, _ := envClient(t, nil)
	weather := llm.Tool{Name: "get_weather", Description: "Weather in a city",
		Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}
	conv := conversation.New().User("What's the weather in Paris? call get_weather")
	resp, err := c.Generate(context.Background(), conv, llm.WithTools(weather))
	if err != nil {
		t.Fatal(err)
	}
	var call *conversation.ToolCall
	for _, p := range resp.Message.Parts {
		if p.ToolCall != nil {
			call = p.ToolCall
		}
	}
	if resp.FinishReason != "tool_calls" || call == nil || call.Name != "get_weather" || call.Arguments != `{"city":"example"}` {
		t.Fatalf("FinishReason %q call %+v", resp.FinishReason, call)
	}
	// Send the result back: the model answers from it.
	conv.Add(resp.Message).ToolResult(call.ID, "18°C, sunny")
	resp, err = c.Generate(context.Background(), conv, llm.WithTools(weather))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Completion != azuretest.ExpectedToolResultReply("18°C, sunny") {
		t.Errorf("Completion = %q", resp.Completion)
	}
}

// TestAcceptanceContentFilter: a filtered prompt is ErrContentFiltered
// naming the category; a filtered completion is a response with its
// annotations, or ErrContentFiltered under WithStrictContentFilter.
func TestAcceptanceContentFilter(t *testing.T) {
	c, _ := envClient(t, nil)
	_, err := c.Generate(context.Background(), conversation.New().User("FILTER_PROMPT"))
	var e *llm.Error
	if !errors.Is(err, llm.ErrContentFiltered) || !errors.As(err, &e) || !strings.HasPrefix(e.Message, "Content filtered by Azure: violence (medium)") {
		t.Errorf("filtered prompt: %v", err)
	}

	resp, err := c.Generate(context.Background(), conversation.New().User("say FILTER_COMPLETION"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.FinishReason != "content_filter" || !resp.ContentFilter.Filtered() {
		t.Errorf("filtered completion: %q %v", resp.FinishReason, resp.ContentFilter)
	}
	_, err = c.Generate(context.Background(), conversation.New().User("say FILTER_COMPLETION"), llm.WithStrictContentFilter())
	if !errors.Is(err, llm.ErrContentFiltered) {
		t.Errorf("strict: err = %v", err)
	}
}

// TestAcceptanceDeploymentTypeCost: the cost follows the SKU.
func TestAcceptanceDeploymentTypeCost(t *testing.T) {
	// A synchronous call is never priced at the batch rate, even when the
	// deployment is declared a batch one.
	for typ, mult := range map[string]float64{"global-standard": 1, "data-zone": 1.1, "global-batch": 1, "data-zone-batch": 1.1} {
		t.Run(typ, func(t *testing.T) {
			c, _ := envClient(t, map[string]string{EnvDeploymentType: typ})
			resp, err := c.Generate(context.Background(), conversation.New().User("Hello!"))
			if err != nil {
				t.Fatal(err)
			}
			u := resp.Usage
			want := lookup(t, "azure-gpt-4o").Cost(u.InputTokens, u.CachedInputTokens, u.OutputTokens) * mult
			if !near(resp.Cost, want) {
				t.Errorf("Cost = %g, want %g", resp.Cost, want)
			}
		})
	}
}

// TestAcceptanceClassicAPIVersion runs the same client on the dated route.
func TestAcceptanceClassicAPIVersion(t *testing.T) {
	c, srv := envClient(t, map[string]string{EnvAPIVersion: "2024-10-21"})
	resp, err := c.Generate(context.Background(), conversation.New().User("Hello!"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Completion != azuretest.ExpectedReply("Hello!") || srv.Stats().ByDeployment["gpt-4o"] != 1 {
		t.Errorf("resp %q stats %+v", resp.Completion, srv.Stats())
	}
}

// TestAcceptanceSwitchProvider: llm.WithProvider moves an OpenAI model to
// its Azure twin.
func TestAcceptanceSwitchProvider(t *testing.T) {
	srv := azuretest.NewServer(azuretest.WithAPIKeys("emulator-key"))
	defer srv.Close()
	p := newTestProvider(t, Config{Endpoint: srv.URL, APIKey: "emulator-key"}, nil)
	// "gpt-4o" is the OpenAI catalog's ID when providers/openai registers
	// it; the registry resolves the twin by BaseModel either way.
	c, err := llm.NewClient("gpt-4o", llm.WithProvider(ProviderName), llm.WithProviderInstance(p))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Generate(context.Background(), conversation.New().User("Hello!"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Model != "azure-gpt-4o" || resp.Provider != ProviderName {
		t.Errorf("served by %s/%s", resp.Provider, resp.Model)
	}
}
