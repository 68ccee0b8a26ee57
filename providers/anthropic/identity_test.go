package anthropic_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/registry"
)

// TestCacheIdentity: the base URL, the API version and the name on the
// wire (a deployment, for Azure) each change the cache key.
func TestCacheIdentity(t *testing.T) {
	req := hi(t, "claude-sonnet-4-5")
	key := func(cfg anthropic.Config) string {
		p, err := anthropic.New(cfg)
		require.NoError(t, err)
		return llm.CacheKey(p, req)
	}
	ref := key(anthropic.Config{APIKey: testKey})
	assert.NotEqual(t, req.Fingerprint(), ref)
	assert.Equal(t, ref, key(anthropic.Config{APIKey: "another-key"}), "a rotated key serves the same account")
	assert.NotEqual(t, ref, key(anthropic.Config{APIKey: testKey, BaseURL: "https://gateway.example.com"}), "base url")
	assert.NotEqual(t, ref, key(anthropic.Config{APIKey: testKey, Version: "2099-01-01"}), "version")

	ep := func(deployment string) string {
		p, err := anthropic.NewEndpoint(anthropic.Endpoint{Name: "azure-foundry", BaseURL: "https://res.services.ai.azure.com/anthropic",
			WireName: func(registry.Model) string { return deployment }})
		require.NoError(t, err)
		return llm.CacheKey(p, req)
	}
	assert.NotEqual(t, ep("claude-a"), ep("claude-b"), "deployment")
}
