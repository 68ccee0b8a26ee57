package registry_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/registry"
)

func TestRouted(t *testing.T) {
	router := registry.Model{ID: "rt-router", Provider: "rt", Name: "model-router", Router: true, InputCost: 0.14}
	ensure(t, router)
	ensure(t, registry.Model{ID: "rt-gpt-4.1-nano", Provider: "rt", Name: "gpt-4.1-nano", BaseModel: "gpt-4.1-nano", InputCost: 0.1})
	ensure(t, registry.Model{ID: "rt-my-nano-deployment", Provider: "rt", Name: "prod-nano", BaseModel: "gpt-4.1-nano", InputCost: 0.11})
	ensure(t, registry.Model{ID: "rt-claude-haiku-4-5", Provider: "rt", Name: "claude-haiku-4-5", BaseModel: "claude-haiku-4-5"})
	ensure(t, registry.Model{ID: "rt-exact", Provider: "rt", Name: "gpt-4.1-nano-2025-04-14-exact"})
	ensure(t, registry.Model{ID: "other-gpt-4.1-mini", Provider: "rt-other", BaseModel: "gpt-4.1-mini"})

	for served, want := range map[string]string{
		"gpt-4.1-nano-2025-04-14":       "rt-gpt-4.1-nano", // the shortest ID of two deployments of the base model
		"gpt-4.1-nano":                  "rt-gpt-4.1-nano",
		"claude-haiku-4-5-20251001":     "rt-claude-haiku-4-5", // Anthropic's version form
		"gpt-4.1-nano-2025-04-14-exact": "rt-exact",            // an exact name beats a base-model match
		"rt-my-nano-deployment":         "rt-my-nano-deployment",
	} {
		m, ok := registry.Routed(router, served)
		require.True(t, ok, served)
		assert.Equal(t, want, m.ID, served)
	}
	for _, served := range []string{"", "gpt-4.1-mini-2025-04-14", "model-router", "DeepSeek-V3.1", "gpt-4.1-nano-2025-04"} {
		_, ok := registry.Routed(router, served)
		assert.False(t, ok, "%q: another provider's model, the router itself, an unknown model or a malformed version", served)
	}
}
