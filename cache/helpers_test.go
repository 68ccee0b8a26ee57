package cache

import (
	"net/http"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/clocktest"
	"github.com/deluge-go/deluge/llm"
)

// fullResponse exercises every field a provider may set: text and tool
// calls, content-filter annotations of each shape, usage, log-probabilities
// and HTTP headers holding secrets.
func fullResponse() *llm.Response {
	return &llm.Response{
		Model:       "azure-gpt-4o",
		Provider:    "azure-foundry",
		Region:      "swedencentral",
		ServedModel: "gpt-4o-2024-11-20",
		Completion:  "Let me check the weather.",
		Message: conversation.Message{
			Role: conversation.RoleAssistant,
			Parts: []conversation.Part{
				conversation.Text("Let me check the weather."),
				conversation.Call("call_1", "get_weather", `{"city":"Paris"}`),
				conversation.Call("call_2", "get_time", `{"tz":"Europe/Paris"}`),
			},
		},
		FinishReason: "tool_calls",
		Usage:        llm.Usage{InputTokens: 120, OutputTokens: 35, CachedInputTokens: 64, ReasoningTokens: 7},
		Cost:         0.00123,
		ContentFilter: &llm.ContentFilterResults{
			Hate:      &llm.SeverityResult{Filtered: false, Severity: "safe"},
			SelfHarm:  &llm.SeverityResult{Filtered: false, Severity: "safe"},
			Sexual:    &llm.SeverityResult{Filtered: false, Severity: "low"},
			Violence:  &llm.SeverityResult{Filtered: true, Severity: "medium"},
			Profanity: &llm.DetectionResult{Filtered: false, Detected: false},
			ProtectedMaterialCode: &llm.DetectionResult{Filtered: false, Detected: true,
				Citation: &llm.Citation{URL: "https://github.com/example/repo", License: "MIT"}},
			CustomBlocklists: []llm.BlocklistResult{{ID: "Profanity", Filtered: false}},
		},
		PromptFilter: []llm.ContentFilterResults{{
			PromptIndex: 0,
			Hate:        &llm.SeverityResult{Severity: "safe"},
			Jailbreak:   &llm.DetectionResult{Filtered: false, Detected: false},
			Error:       &llm.FilterError{Code: "Timeout", Message: "filter timed out"},
		}},
		Logprobs: []llm.TokenLogprob{
			{Token: "Let", Logprob: -0.0123, Bytes: []byte("Let"), TopLogprobs: []llm.TopLogprob{
				{Token: "Let", Logprob: -0.0123, Bytes: []byte("Let")},
				{Token: "I", Logprob: -4.5, Bytes: []byte("I")},
			}},
			{Token: " me", Logprob: -0.5},
		},
		Attempts:  2,
		Latency:   1234 * time.Millisecond,
		RequestID: "req-0b7f",
		Header: http.Header{
			"Api-Key":                        {"sk-SECRET-api-key-9f8e7d"},
			"Authorization":                  {"Bearer SECRET-entra-token-1a2b3c"},
			"X-Ratelimit-Remaining-Requests": {"99"},
		},
	}
}

// asHit is what a store returns for a hit on r.
func asHit(r *llm.Response) llm.Response {
	want := *r
	want.Cached = true
	want.Cost = 0
	want.Header = nil
	return want
}

func textResponse(text string) *llm.Response {
	return &llm.Response{
		Model:      "test-model",
		Provider:   "test",
		Completion: text,
		Message: conversation.Message{Role: conversation.RoleAssistant,
			Parts: []conversation.Part{conversation.Text(text)}},
		FinishReason: "stop",
		Usage:        llm.Usage{InputTokens: 10, OutputTokens: 2},
		Cost:         0.5,
		Attempts:     1,
	}
}

// fakeClock is a manually advanced clock.
type fakeClock = clocktest.Clock

func newFakeClock() *fakeClock { return clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }
