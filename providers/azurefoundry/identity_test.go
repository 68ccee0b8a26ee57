package azurefoundry_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/registry"
)

// TestCacheIdentity: every setting that changes the answer or the
// resource billed (endpoint, region set, deployment, API version, route,
// deployment type) changes the cache key of a request; the key alone does
// not (issue 16, item 8).
func TestCacheIdentity(t *testing.T) {
	base := func() azurefoundry.Config {
		return azurefoundry.Config{Endpoint: "https://res-a.openai.azure.com", APIKey: "key-1"}
	}
	m, err := registry.Lookup("azure-gpt-4o")
	require.NoError(t, err)
	req := &llm.Request{Model: m, Messages: conversation.New().User("hi").Messages()}
	key := func(t *testing.T, cfg azurefoundry.Config, m registry.Model) string {
		t.Helper()
		p, err := azurefoundry.New(cfg)
		require.NoError(t, err)
		r := *req
		r.Model = m
		return llm.CacheKey(p, &r)
	}
	ref := key(t, base(), m)
	assert.NotEqual(t, req.Fingerprint(), ref, "the provider adds its identity")
	assert.Equal(t, ref, key(t, base(), m), "stable across provider instances")
	rotated := base()
	rotated.APIKey = "key-2"
	assert.Equal(t, ref, key(t, rotated, m), "a rotated key serves the same resource")

	changes := map[string]func(*azurefoundry.Config){
		"endpoint":    func(c *azurefoundry.Config) { c.Endpoint = "https://res-b.openai.azure.com" },
		"deployment":  func(c *azurefoundry.Config) { c.Deployments = map[string]string{m.ID: "gpt-4o-2024-11-20"} },
		"api version": func(c *azurefoundry.Config) { c.APIVersion = "2024-10-21" },
		"preview":     func(c *azurefoundry.Config) { c.APIVersion = "preview" },
		"type":        func(c *azurefoundry.Config) { c.DeploymentType = azurefoundry.DataZone },
		"regions": func(c *azurefoundry.Config) {
			c.Endpoint = ""
			c.Regions = []azurefoundry.Region{{Name: "eastus", Endpoint: "https://res-a.openai.azure.com"}, {Name: "swedencentral", Endpoint: "https://res-s.openai.azure.com"}}
		},
	}
	seen := map[string]string{ref: "base"}
	for name, change := range changes {
		cfg := base()
		change(&cfg)
		k := key(t, cfg, m)
		if prev, dup := seen[k]; dup {
			t.Errorf("%s: same key as %s", name, prev)
		}
		seen[k] = name
	}

	// One more region, or a region's own deployment, is another set.
	regions := base()
	regions.Endpoint = ""
	regions.Regions = []azurefoundry.Region{{Name: "eastus", Endpoint: "https://res-a.openai.azure.com"}}
	one := key(t, regions, m)
	regions.Regions = append(regions.Regions, azurefoundry.Region{Name: "westus", Endpoint: "https://res-w.openai.azure.com"})
	two := key(t, regions, m)
	regions.Regions[1].Deployments = map[string]string{m.ID: "other"}
	three := key(t, regions, m)
	assert.NotEqual(t, one, two)
	assert.NotEqual(t, two, three)

	// The model's own APIBase is its endpoint.
	own := m
	own.APIBase = "https://res-c.openai.azure.com"
	assert.NotEqual(t, ref, key(t, base(), own))
}

func TestCacheIdentityClaudeRoute(t *testing.T) {
	p, err := azurefoundry.New(azurefoundry.Config{Endpoint: "https://res-a.services.ai.azure.com", APIKey: "key-1"})
	require.NoError(t, err)
	claude, err := registry.Lookup("azure-claude-haiku-4-5")
	require.NoError(t, err)
	assert.Contains(t, p.CacheIdentity(claude), "anthropic-messages")
	gpt, err := registry.Lookup("azure-gpt-4o")
	require.NoError(t, err)
	assert.Contains(t, p.CacheIdentity(gpt), "chat")
}
