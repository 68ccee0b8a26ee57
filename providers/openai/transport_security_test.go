package openai_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

func TestKeyNeverSentInClearToARemoteHost(t *testing.T) {
	const key = "sk-transport-0123456789"
	_, err := openai.New(openai.Config{APIKey: key, BaseURL: "http://gpu-box.internal:8000/v1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing to send the API key in clear text to http://gpu-box.internal:8000/v1")
	assert.Contains(t, err.Error(), openai.EnvAllowInsecureHTTP, "the error says how to opt in")
	assert.NotContains(t, err.Error(), key)

	for _, base := range []string{
		"https://api.example.com/v1",        // https
		"http://localhost:11434/v1",         // loopback by name
		"http://LOCALHOST:11434/v1",         // names are case-insensitive
		"http://127.0.0.1:8000/v1",          // loopback v4
		"http://127.0.0.2:8000/v1",          // all of 127.0.0.0/8
		"http://[::1]:8000/v1",              // loopback v6
		"http://[::ffff:127.0.0.1]:8000/v1", // v4-mapped loopback
	} {
		_, err := openai.New(openai.Config{APIKey: key, BaseURL: base})
		assert.NoError(t, err, base)
	}
	// Names other than localhost itself are resolved like any name (a
	// resolver may answer with any address), so they are not loopback.
	for _, base := range []string{
		"http://app.localhost:8000/v1",
		"http://localhost.evil.example:8000/v1",
		"http://127.0.0.1.nip.io:8000/v1",
		"http://[::2]:8000/v1",
	} {
		_, err := openai.New(openai.Config{APIKey: key, BaseURL: base})
		assert.ErrorContains(t, err, "refusing to send the API key in clear text", base)
	}
	_, err = openai.New(openai.Config{BaseURL: "http://gpu-box.internal:8000/v1"})
	assert.NoError(t, err, "no key, nothing to leak")
	_, err = openai.New(openai.Config{APIKey: key, BaseURL: "http://gpu-box.internal:8000/v1", AllowInsecureHTTP: true})
	assert.NoError(t, err, "explicit opt-in")
}

func TestModelAPIBaseInClearIsRefused(t *testing.T) {
	p, err := openai.New(openai.Config{APIKey: "sk-default-0123456789"})
	require.NoError(t, err)
	defer p.Close()
	m := registry.Model{ID: "remote-llama", Provider: "openai", Name: "llama", APIBase: "http://10.0.0.7:8000/v1"}
	_, err = p.Generate(context.Background(), &llm.Request{Model: m, Messages: conversation.New().User("hi").Messages()})
	require.ErrorIs(t, err, llm.ErrConfiguration)
	assert.Contains(t, err.Error(), "clear text")
	assert.NotContains(t, err.Error(), "sk-default-0123456789")
}

func TestConfigFromEnvAllowInsecure(t *testing.T) {
	t.Setenv(openai.EnvAllowInsecureHTTP, "1")
	assert.True(t, openai.ConfigFromEnv().AllowInsecureHTTP)
	t.Setenv(openai.EnvAllowInsecureHTTP, "")
	assert.False(t, openai.ConfigFromEnv().AllowInsecureHTTP)
}
