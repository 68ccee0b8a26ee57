package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/registry"
)

// A Claude model without ANTHROPIC_API_KEY stops the run before any input is
// read, saying what to set.
func TestPreflightAnthropic(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", "")
	t.Setenv("ANTHROPIC_AUTH_TOKEN", "")
	t.Setenv("ANTHROPIC_BASE_URL", "")
	m, err := registry.Lookup("claude-haiku-4-5")
	require.NoError(t, err)
	err = checkProviders([]registry.Model{m})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ANTHROPIC_API_KEY")
	assert.Contains(t, err.Error(), "azure-foundry", "suggests the Foundry route")

	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-test")
	assert.NoError(t, checkProviders([]registry.Model{m}))
}
