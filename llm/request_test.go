package llm_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

func baseRequest() *llm.Request {
	t := 0.5
	return &llm.Request{
		Model:    registry.Model{ID: "m", Provider: "p", Name: "wire"},
		Messages: conversation.New().System("s").User("hello").Messages(),
		Sampling: llm.Sampling{Temperature: &t, MaxNewTokens: 100},
	}
}

func TestFingerprintCoversEverything(t *testing.T) {
	base := baseRequest().Fingerprint()
	assert.Len(t, base, 64)
	assert.Equal(t, base, baseRequest().Fingerprint(), "stable")

	zero, one := 0.0, 1.0
	seed := int64(7)
	mutations := map[string]func(r *llm.Request){
		"model id":        func(r *llm.Request) { r.Model.ID = "m2" },
		"wire name":       func(r *llm.Request) { r.Model.Name = "other-deployment" },
		"provider":        func(r *llm.Request) { r.Model.Provider = "q" },
		"api base":        func(r *llm.Request) { r.Model.APIBase = "https://x" },
		"temperature":     func(r *llm.Request) { r.Temperature = &one },
		"temperature nil": func(r *llm.Request) { r.Temperature = nil },
		"temperature 0":   func(r *llm.Request) { r.Temperature = &zero },
		"top p":           func(r *llm.Request) { r.TopP = &one },
		"max tokens":      func(r *llm.Request) { r.MaxNewTokens = 101 },
		"stop":            func(r *llm.Request) { r.Stop = []string{"x"} },
		"seed":            func(r *llm.Request) { r.Seed = &seed },
		"json":            func(r *llm.Request) { r.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONObject} },
		"schema": func(r *llm.Request) {
			r.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "s", Schema: []byte(`{}`)}
		},
		"tools":        func(r *llm.Request) { r.Tools = []llm.Tool{{Name: "f"}} },
		"tool choice":  func(r *llm.Request) { r.ToolChoice = "required" },
		"logprobs":     func(r *llm.Request) { r.Logprobs = true },
		"top logprobs": func(r *llm.Request) { r.TopLogprobs = 3 },
		"effort":       func(r *llm.Request) { r.ReasoningEffort = "low" },
		"user":         func(r *llm.Request) { r.User = "u" },
		"message text": func(r *llm.Request) { r.Messages = conversation.New().System("s").User("hello!").Messages() },
		"role":         func(r *llm.Request) { r.Messages = conversation.New().User("s").User("hello").Messages() },
		"extra message": func(r *llm.Request) {
			r.Messages = conversation.New().System("s").User("hello").Assistant("").Messages()
		},
		"image": func(r *llm.Request) {
			r.Messages = conversation.New().System("s").User("hello", conversation.ImageData("image/png", []byte{1})).Messages()
		},
		// Length-prefixing: moving text between fields must change the digest.
		"boundary": func(r *llm.Request) { r.Messages = conversation.New().System("sh").User("ello").Messages() },
	}
	seen := map[string]string{base: "base"}
	for name, mutate := range mutations {
		r := baseRequest()
		mutate(r)
		fp := r.Fingerprint()
		if prev, dup := seen[fp]; dup {
			t.Errorf("mutation %q has the same fingerprint as %q", name, prev)
		}
		seen[fp] = name
	}
}

func TestEstimateInputTokens(t *testing.T) {
	r := baseRequest()
	plain := r.EstimateInputTokens()
	assert.Equal(t, conversation.EstimateMessageTokens(r.Messages), plain)
	r.Tools = []llm.Tool{{Name: "lookup", Description: "look things up", Parameters: []byte(`{"type":"object","properties":{"q":{"type":"string"}}}`)}}
	assert.Greater(t, r.EstimateInputTokens(), plain+8)
}
