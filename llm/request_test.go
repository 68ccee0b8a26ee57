package llm_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/cache"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
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

// valuedRequest sets every field that has a value of its own, so that
// changing the value (not only its presence) can be checked.
func valuedRequest() *llm.Request {
	r := baseRequest()
	seed := int64(7)
	r.Seed = &seed
	r.Stop = []string{"END", "STOP"}
	r.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "answer", Schema: []byte(`{"type":"object"}`), Strict: true}
	r.Tools = []llm.Tool{{Name: "lookup", Description: "d", Parameters: []byte(`{"type":"object","properties":{"q":{"type":"string"}}}`)}}
	return r
}

// TestFingerprintCoversValues: each value changes the key, not only
// whether the field is set. (Found by mutation testing: dropping the seed,
// stop, schema or tool parameters from the digest failed no test.)
func TestFingerprintCoversValues(t *testing.T) {
	base := valuedRequest().Fingerprint()
	assert.Equal(t, base, valuedRequest().Fingerprint(), "stable")
	mutations := map[string]func(r *llm.Request){
		"seed value":    func(r *llm.Request) { s := int64(8); r.Seed = &s },
		"seed zero":     func(r *llm.Request) { s := int64(0); r.Seed = &s },
		"seed unset":    func(r *llm.Request) { r.Seed = nil },
		"stop text":     func(r *llm.Request) { r.Stop = []string{"END", "HALT"} },
		"stop order":    func(r *llm.Request) { r.Stop = []string{"STOP", "END"} },
		"stop split":    func(r *llm.Request) { r.Stop = []string{"ENDSTOP"} },
		"schema value":  func(r *llm.Request) { r.ResponseFormat.Schema = []byte(`{"type":"array"}`) },
		"schema name":   func(r *llm.Request) { r.ResponseFormat.Name = "other" },
		"schema strict": func(r *llm.Request) { r.ResponseFormat.Strict = false },
		"tool parameters": func(r *llm.Request) {
			r.Tools[0].Parameters = []byte(`{"type":"object","properties":{"q":{"type":"number"}}}`)
		},
		"tool name":        func(r *llm.Request) { r.Tools[0].Name = "find" },
		"tool description": func(r *llm.Request) { r.Tools[0].Description = "e" },
		"tool strict":      func(r *llm.Request) { r.Tools[0].Strict = true },
		"api family":       func(r *llm.Request) { r.Model.APISpec = "responses" },
		"message image data": func(r *llm.Request) {
			r.Messages = conversation.New().User("x", conversation.ImageData("image/png", []byte{2})).Messages()
		},
	}
	seen := map[string]string{base: "base"}
	for name, mutate := range mutations {
		r := valuedRequest()
		mutate(r)
		fp := r.Fingerprint()
		if prev, dup := seen[fp]; dup {
			t.Errorf("mutation %q has the same fingerprint as %q", name, prev)
		}
		seen[fp] = name
	}
}

// identified is a provider with a CacheIdentity.
type identified struct {
	llm.Provider
	id string
}

func (p identified) CacheIdentity(registry.Model) string { return p.id }

func TestCacheKeyMixesTheProviderIdentity(t *testing.T) {
	r := valuedRequest()
	plain := llmtest.New()
	assert.Equal(t, r.Fingerprint(), llm.CacheKey(plain, r), "a provider without an identity is keyed by the request alone")
	a := llm.CacheKey(identified{plain, "https://a.example.com|gpt-4o"}, r)
	b := llm.CacheKey(identified{plain, "https://b.example.com|gpt-4o"}, r)
	assert.NotEqual(t, r.Fingerprint(), a)
	assert.NotEqual(t, a, b)
	assert.Equal(t, a, llm.CacheKey(identified{plain, "https://a.example.com|gpt-4o"}, r), "stable")
}

// TestCacheMissesAfterTheProviderChanged: a client whose provider now
// sends to another endpoint or deployment does not get the replies cached
// under the old one (issue 16, item 8).
func TestCacheMissesAfterTheProviderChanged(t *testing.T) {
	store := cache.NewMemory(0)
	conv := conversation.New().User("hello")
	first := llmtest.New()
	c1 := newClient(t, identified{first, "endpoint-a|deployment-1"}, llm.WithCache(store))
	_, err := c1.Generate(context.Background(), conv)
	require.NoError(t, err)

	again := llmtest.New()
	c2 := newClient(t, identified{again, "endpoint-a|deployment-1"}, llm.WithCache(store))
	resp, err := c2.Generate(context.Background(), conv)
	require.NoError(t, err)
	assert.True(t, resp.Cached, "same configuration: a hit")
	assert.Zero(t, again.Calls())

	for _, id := range []string{"endpoint-b|deployment-1", "endpoint-a|deployment-2"} {
		moved := llmtest.New()
		c3 := newClient(t, identified{moved, id}, llm.WithCache(store))
		resp, err = c3.Generate(context.Background(), conv)
		require.NoError(t, err)
		assert.False(t, resp.Cached, "%s: another configuration's reply is not served", id)
		assert.Equal(t, 1, moved.Calls(), id)
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
