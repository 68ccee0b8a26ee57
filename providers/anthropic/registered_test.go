package anthropic_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/registry"
)

// The package registers its provider and catalog at init; the provider
// opens without a key (models with their own APIBase need none), and a call
// to api.anthropic.com then fails saying which variable to set.
func TestRegistered(t *testing.T) {
	assert.True(t, slices.Contains(llm.Providers(), anthropic.ProviderName))
	for _, m := range anthropic.Models() {
		got, err := registry.Lookup(m.ID)
		require.NoError(t, err)
		assert.Equal(t, anthropic.ProviderName, got.Provider)
		assert.Equal(t, registry.APISpecAnthropicMessages, got.APISpec)
		assert.Greater(t, got.CacheWriteCost, got.InputCost, m.ID)
	}

	t.Setenv(anthropic.EnvAPIKey, "")
	t.Setenv(anthropic.EnvAuthToken, "")
	t.Setenv(anthropic.EnvBaseURL, "")
	p, err := anthropic.New(anthropic.ConfigFromEnv())
	require.Error(t, err, "New is strict")
	assert.Nil(t, p)

	c, err := llm.NewClient("claude-haiku-4-5", llm.WithMaxAttempts(1),
		llm.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Generate(context.Background(), conversation.New().User("hi"))
	require.Error(t, err, "nothing is sent: the default endpoint has no key")
	assert.True(t, errors.Is(err, llm.ErrAuthentication))
	assert.Contains(t, err.Error(), anthropic.EnvAPIKey)
}
