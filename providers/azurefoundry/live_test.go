package azurefoundry

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// TestLive calls a real Azure resource. It runs only with
// DELUGE_LIVE_AZURE=1 and the usual variables (AZURE_OPENAI_ENDPOINT and
// AZURE_OPENAI_API_KEY or Entra ID); DELUGE_LIVE_AZURE_MODEL picks the model
// (default azure-gpt-4o-mini, which must be deployed, or mapped with
// AZURE_DEPLOYMENT_<ID>). It spends a few cents at most.
func TestLive(t *testing.T) {
	if os.Getenv("DELUGE_LIVE_AZURE") != "1" {
		t.Skip("set DELUGE_LIVE_AZURE=1 (and AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY) to call Azure")
	}
	model := os.Getenv("DELUGE_LIVE_AZURE_MODEL")
	if model == "" {
		model = "azure-gpt-4o-mini"
	}
	cfg, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := llm.NewClient(model, llm.WithProviderInstance(p),
		llm.WithMaxNewTokens(200), llm.WithRequestTimeout(60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("Text", func(t *testing.T) {
		resp, err := c.Generate(ctx, conversation.New().User("Reply with the single word: pong"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.ToLower(resp.Completion), "pong") || resp.Cost <= 0 || resp.RequestID == "" {
			t.Errorf("Completion %q Cost %g RequestID %q", resp.Completion, resp.Cost, resp.RequestID)
		}
		t.Logf("%q region %s, %+v, $%.6f, filter %v", resp.Completion, resp.Region, resp.Usage, resp.Cost, resp.ContentFilter)
	})
	t.Run("JSONMode", func(t *testing.T) {
		resp, err := c.Generate(ctx, conversation.New().User(`Return a JSON object {"answer": 4} for 2+2.`), llm.WithJSONMode())
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid([]byte(resp.Completion)) {
			t.Errorf("not JSON: %q", resp.Completion)
		}
	})
	t.Run("Image", func(t *testing.T) {
		// A 1×1 red PNG.
		png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")
		resp, err := c.Generate(ctx, conversation.New().User("What color is this image? One word.", conversation.ImageData("image/png", png)))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("image: %q", resp.Completion)
	})
	t.Run("Tools", func(t *testing.T) {
		tool := llm.Tool{Name: "get_weather", Description: "Current weather in a city",
			Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}
		resp, err := c.Generate(ctx, conversation.New().User("What's the weather in Paris?"), llm.WithTools(tool), llm.WithToolChoice("required"))
		if err != nil {
			t.Fatal(err)
		}
		if calls := resp.Message.ToolCalls(); resp.FinishReason != "tool_calls" || len(calls) == 0 || calls[0].Name != "get_weather" {
			t.Errorf("FinishReason %q message %+v", resp.FinishReason, resp.Message)
		}
	})
	t.Run("Stream", func(t *testing.T) {
		var text strings.Builder
		var usage *llm.Usage
		for ch, err := range c.Stream(ctx, conversation.New().User("Count from 1 to 5, comma separated.")) {
			if err != nil {
				t.Fatal(err)
			}
			text.WriteString(ch.Text)
			if ch.Usage != nil {
				usage = ch.Usage
			}
		}
		if !strings.Contains(text.String(), "5") || usage == nil {
			t.Errorf("stream %q usage %+v", text.String(), usage)
		}
	})
}
