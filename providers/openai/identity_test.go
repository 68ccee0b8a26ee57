package openai_test

import (
	"testing"

	goopenai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

// TestCacheIdentity: the base URL, the organization billed, go-openai's
// API type and version and the wire name each change the cache key; a
// rotated key does not.
func TestCacheIdentity(t *testing.T) {
	m := registry.Model{ID: "gpt-4o", Provider: openai.ProviderName, Name: "gpt-4o"}
	req := &llm.Request{Model: m, Messages: conversation.New().User("hi").Messages()}
	key := func(cfg openai.Config, m registry.Model) string {
		p, err := openai.New(cfg)
		require.NoError(t, err)
		r := *req
		r.Model = m
		return llm.CacheKey(p, &r)
	}
	ref := key(openai.Config{APIKey: "sk-1"}, m)
	assert.NotEqual(t, req.Fingerprint(), ref)
	assert.Equal(t, ref, key(openai.Config{APIKey: "sk-2"}, m), "a rotated key serves the same account")
	seen := map[string]string{ref: "base"}
	for name, k := range map[string]string{
		"base url":     key(openai.Config{APIKey: "sk-1", BaseURL: "https://gateway.example.com/v1"}, m),
		"organization": key(openai.Config{APIKey: "sk-1", Organization: "org-b"}, m),
		"model base":   key(openai.Config{APIKey: "sk-1"}, registry.Model{ID: "gpt-4o", Provider: openai.ProviderName, Name: "gpt-4o", APIBase: "https://other.example.com/v1"}),
	} {
		if prev, dup := seen[k]; dup {
			t.Errorf("%s: same key as %s", name, prev)
		}
		seen[k] = name
	}

	azure := func(version, deployment string) string {
		cc := goopenai.DefaultAzureConfig("k", "https://res.openai.azure.com")
		cc.APIVersion = version
		p, err := openai.NewFromClientConfig(cc, openai.Options{WireName: func(registry.Model) string { return deployment }})
		require.NoError(t, err)
		return p.CacheIdentity(m)
	}
	assert.NotEqual(t, azure("2024-10-21", "d"), azure("2025-04-01-preview", "d"), "api version")
	assert.NotEqual(t, azure("2024-10-21", "d"), azure("2024-10-21", "e"), "deployment")
}
