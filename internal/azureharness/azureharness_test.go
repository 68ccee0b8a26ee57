package azureharness_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/azureharness"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/providers/providertest"
	"github.com/deluge-go/deluge/registry"
)

const key = "harness-key"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func model(t *testing.T) registry.Model {
	m, err := registry.Lookup("azure-gpt-4o")
	require.NoError(t, err)
	return m
}

func providerFor(t *testing.T, url string, cfg azurefoundry.Config) *azurefoundry.Provider {
	cfg.Endpoint, cfg.APIKey, cfg.Logger = url, key, quiet
	p, err := azurefoundry.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func TestBackendSpansItsServers(t *testing.T) {
	a := azuretest.NewServer(azuretest.WithAPIKeys(key))
	b := azuretest.NewServer(azuretest.WithAPIKeys(key))
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	backend := azureharness.Backend{a, b}
	pa := providerFor(t, a.URL, azurefoundry.Config{HTTPClient: a.Client()})
	pb := providerFor(t, b.URL, azurefoundry.Config{HTTPClient: b.Client()})
	assert.Equal(t, 2, backend.Endpoints())

	for i, step := range []struct {
		p    *azurefoundry.Provider
		text string
	}{{pa, "first"}, {pb, "second"}, {pa, "third"}} {
		req := &llm.Request{Model: model(t), Messages: conversation.New().System("sys").User(step.text).Messages()}
		resp, err := step.p.Generate(context.Background(), req)
		require.NoError(t, err)
		assert.Equal(t, backend.ExpectedReply(req), resp.Completion)
		assert.Equal(t, i+1, backend.Calls(), "requests are summed over the servers")
		assert.Equal(t, req.Messages, backend.LastMessages(), "the newest request of any server")
	}
	assert.Zero(t, backend.InFlight())
}

func TestExpectedReplyToAToolResult(t *testing.T) {
	req := &llm.Request{Messages: conversation.New().User("weather?").
		AssistantToolCalls("", conversation.ToolCall{ID: "c1", Name: "w", Arguments: "{}"}).
		ToolResult("c1", "sunny").Messages()}
	assert.Equal(t, azuretest.ExpectedToolResultReply("sunny"), azureharness.Backend{}.ExpectedReply(req))
}

func TestInMemoryRunsOnFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, url, client, stop := azureharness.InMemory(azuretest.WithAPIKeys(key), azuretest.WithLatency(time.Minute, 0))
		defer stop()
		p := providerFor(t, url, azurefoundry.Config{HTTPClient: client})
		start := time.Now()
		resp, err := p.Generate(context.Background(), &llm.Request{Model: model(t), Messages: conversation.New().User("hi").Messages()})
		require.NoError(t, err)
		assert.Equal(t, azuretest.ExpectedReply("hi"), resp.Completion)
		assert.Equal(t, time.Minute, time.Since(start), "the emulator's latency, in the bubble's time")
		assert.Equal(t, 1, h.Requests())
	})
}

func TestOptionsPerCondition(t *testing.T) {
	for c, want := range map[providertest.Condition]int{providertest.RateLimited: 429, providertest.Healthy: 200} {
		srv := azuretest.NewServer(azureharness.Options(c, azuretest.WithAPIKeys(key))...)
		p := providerFor(t, srv.URL, azurefoundry.Config{HTTPClient: srv.Client()})
		_, err := p.Generate(context.Background(), &llm.Request{Model: model(t), Messages: conversation.New().User("hi").Messages()})
		srv.Close()
		if want == 200 {
			assert.NoError(t, err)
			continue
		}
		var e *llm.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, want, e.StatusCode)
		assert.Equal(t, azureharness.RetryAfter, e.RetryAfter)
	}
}
