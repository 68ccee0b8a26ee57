package llm_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/registry"
)

func init() {
	// Models of fictional providers for the resolution tests. Prices are
	// USD per million tokens.
	registry.MustRegister(registry.Model{ID: "ct-priced", Provider: "ct-provider-a", BaseModel: "ct-base", InputCost: 2, OutputCost: 10})
	registry.MustRegisterCatalog(registry.Model{ID: "ct-priced-b", Provider: "ct-provider-b", BaseModel: "ct-base", Name: "deployment-b"})
	// A program's own model for the same provider and base model, with a
	// shorter ID: it must not take over WithProvider.
	registry.MustRegister(registry.Model{ID: "ct-b", Provider: "ct-provider-b", BaseModel: "ct-base", Name: "my-deployment"})
	registry.MustRegister(registry.Model{ID: "ct-unimported", Provider: "ct-not-imported"})
	registry.MustRegister(registry.Model{ID: "ct-broken", Provider: "ct-broken-provider"})

	llm.RegisterProvider("ct-provider-a", func() (llm.Provider, error) { return llmtest.New(), nil })
	llm.RegisterProvider("ct-provider-b", func() (llm.Provider, error) { return llmtest.New(), nil })
	llm.RegisterProvider("ct-broken-provider", func() (llm.Provider, error) {
		return nil, errors.New("set CT_API_KEY")
	})
}

var lazyRuns atomic.Int32

func TestNewClientUnknownModelSuggests(t *testing.T) {
	_, err := llm.NewClient("ct-pricd")
	require.ErrorIs(t, err, registry.ErrNotFound)
	assert.Contains(t, err.Error(), `"ct-priced"`, "the registry's suggestion reaches the user")
}

func TestNewClientForgottenImport(t *testing.T) {
	_, err := llm.NewClient("ct-unimported")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "forgotten import")
}

func TestNewClientWithProviderSwitchesToTwin(t *testing.T) {
	c, err := llm.NewClient("ct-priced", llm.WithProvider("ct-provider-b"))
	require.NoError(t, err)
	assert.Equal(t, "ct-priced-b", c.Model().ID)
	assert.Equal(t, "deployment-b", c.Model().Name)

	_, err = llm.NewClient("ct-priced", llm.WithProvider("ct-broken-provider"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no twin served by provider "ct-broken-provider"`)
}

// TestNewClientWithProviderIgnoresCustomTwins: the shortest ID used to win,
// so a program registering "ct-b" for the same provider and base model
// took over WithProvider (issue 16, item 12); the provider's catalog entry
// wins, every time.
func TestNewClientWithProviderIgnoresCustomTwins(t *testing.T) {
	for range 20 { // map order must not matter
		c, err := llm.NewClient("ct-priced", llm.WithProvider("ct-provider-b"))
		require.NoError(t, err)
		require.Equal(t, "ct-priced-b", c.Model().ID)
	}
	c, err := llm.NewClient("ct-b")
	require.NoError(t, err)
	assert.Equal(t, "my-deployment", c.Model().Name, "the custom model is used when named")
}

func TestNewClientWithUnknownProvider(t *testing.T) {
	_, err := llm.NewClient("ct-priced", llm.WithProvider("ct-provider-typo"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `WithProvider("ct-provider-typo"): unknown provider`)
	assert.Contains(t, err.Error(), "ct-provider-a, ct-provider-b", "names the registered providers")
	assert.NotContains(t, err.Error(), "twin", "not an error about twins")
}

func TestNewClientOptionErrors(t *testing.T) {
	_, err := llm.NewClient("ct-priced", llm.WithMaxAttempts(0))
	require.ErrorContains(t, err, "WithMaxAttempts(0)")
	_, err = llm.NewClient("ct-priced", llm.WithRetryBackoff(0, 0))
	require.ErrorContains(t, err, "WithRetryBackoff")
	_, err = llm.NewClient("ct-priced", llm.WithModelWeights(map[string]float64{"ct-priced": 0}))
	require.ErrorContains(t, err, "every weight is 0")
	_, err = llm.NewClient("x", llm.WithModelWeights(map[string]float64{"ct-priced": 1, "ct-nope": 1}))
	require.ErrorIs(t, err, registry.ErrNotFound, "every weighted model is resolved up front")
}

func TestNewClientOpensProviderLazilyOnce(t *testing.T) {
	// Registrations are global: fresh names keep the test repeatable.
	name := fmt.Sprintf("ct-lazy-%d", lazyRuns.Add(1))
	var opened atomic.Int32
	llm.RegisterProvider(name, func() (llm.Provider, error) {
		opened.Add(1)
		return llmtest.New(), nil
	})
	registry.MustRegister(registry.Model{ID: name + "-model", Provider: name})
	c, err := llm.NewClient(name+"-model", fast()...)
	require.NoError(t, err)
	assert.Zero(t, opened.Load(), "NewClient must not open the provider")
	for range 3 {
		_, err := c.Generate(context.Background(), user("hi"))
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, opened.Load())
}

func TestProviderOpenErrorReachesCaller(t *testing.T) {
	c, err := llm.NewClient("ct-broken", fast()...)
	require.NoError(t, err)
	_, err = c.Generate(context.Background(), user("hi"))
	require.ErrorContains(t, err, "set CT_API_KEY")
}

func TestGenerateFillsEngineFields(t *testing.T) {
	c, err := llm.NewClient("ct-priced", fast()...)
	require.NoError(t, err)
	resp, err := c.Generate(context.Background(), user("hello world"))
	require.NoError(t, err)
	assert.Equal(t, "echo: hello world", resp.Completion)
	assert.Equal(t, "ct-priced", resp.Model)
	assert.Equal(t, llmtest.ProviderName, resp.Provider)
	assert.Equal(t, 1, resp.Attempts)
	assert.Positive(t, resp.Latency)
	assert.False(t, resp.Cached)
	want := (float64(resp.Usage.InputTokens)*2 + float64(resp.Usage.OutputTokens)*10) / 1e6
	assert.InDelta(t, want, resp.Cost, 1e-12, "cost from the catalog prices")

	s := c.Stats()
	assert.EqualValues(t, 1, s.Requests)
	assert.EqualValues(t, 1, s.Successes)
	assert.EqualValues(t, resp.Usage.InputTokens, s.InputTokens)
	assert.EqualValues(t, resp.Usage.OutputTokens, s.OutputTokens)
	assert.InDelta(t, resp.Cost, s.Cost, 1e-12)
}

func TestGenerateKeepsProviderCostAndAttempts(t *testing.T) {
	fake := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
		r := llmtest.TextResponse(req, "ok")
		r.Cost = 0.5   // a pricing tier the catalog does not know
		r.Attempts = 3 // the provider failed over between regions twice
		r.Provider = ""
		return r, nil
	})
	c := newClient(t, fake)
	resp, err := c.Generate(context.Background(), user("hi"))
	require.NoError(t, err)
	assert.Equal(t, 0.5, resp.Cost)
	assert.Equal(t, 3, resp.Attempts)
	assert.Equal(t, "test-model", resp.Model)
}

func TestGenerateCallOptions(t *testing.T) {
	fake := llmtest.New()
	c := newClient(t, fake, llm.WithTemperature(0.2), llm.WithMaxNewTokens(50))
	_, err := c.Generate(context.Background(), user("hi"), llm.WithTemperature(0.9))
	require.NoError(t, err)
	req := fake.LastRequest()
	require.NotNil(t, req.Temperature)
	assert.Equal(t, 0.9, *req.Temperature, "the call's option wins")
	assert.Equal(t, 50, req.MaxNewTokens, "the client's other options remain")

	_, err = c.Generate(context.Background(), user("hi"))
	require.NoError(t, err)
	assert.Equal(t, 0.2, *fake.LastRequest().Temperature, "a call does not change the client")

	_, err = c.Generate(context.Background(), user("hi"), llm.WithTemperature(7))
	require.ErrorContains(t, err, "WithTemperature(7)")
	assert.Equal(t, 2, fake.Calls(), "a call with bad options is not sent")
}

func TestGenerateInvalidConversation(t *testing.T) {
	fake := llmtest.New()
	c := newClient(t, fake)
	_, err := c.Generate(context.Background(), conversation.New())
	require.ErrorIs(t, err, llm.ErrInvalidRequest)
	require.ErrorIs(t, err, conversation.ErrEmpty)
	_, err = c.Generate(context.Background(), nil)
	require.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.Zero(t, fake.Calls())
	assert.EqualValues(t, 2, c.Stats().FailuresByCode[llm.CodeInvalidRequest])
}

func TestStrictContentFilter(t *testing.T) {
	filtered := &llm.ContentFilterResults{Violence: llm.SeverityResult{Filtered: true, Severity: "high"}}
	fake := llmtest.New(func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
		r := llmtest.TextResponse(req, "partial")
		r.FinishReason = "content_filter"
		r.ContentFilter = filtered
		return r, nil
	})
	lenient := newClient(t, fake)
	resp, err := lenient.Generate(context.Background(), user("hi"))
	require.NoError(t, err)
	assert.Equal(t, "content_filter", resp.FinishReason)

	strict := newClient(t, fake, llm.WithStrictContentFilter())
	_, err = strict.Generate(context.Background(), user("hi"))
	require.ErrorIs(t, err, llm.ErrContentFiltered)
	var e *llm.Error
	require.ErrorAs(t, err, &e)
	assert.Same(t, filtered, e.ContentFilter)
	assert.Equal(t, 2, fake.Calls(), "a filtered completion is not retried")
	assert.Positive(t, strict.Stats().InputTokens, "a filtered completion was still paid for")
}

func TestClose(t *testing.T) {
	fake := llmtest.New()
	c := newClient(t, fake)
	require.NoError(t, c.Close())
	_, err := c.Generate(context.Background(), user("hi"))
	require.ErrorIs(t, err, llm.ErrClosed)
	for _, r := range c.Process(context.Background(), prompts(3)) {
		require.ErrorIs(t, r.Err, llm.ErrClosed)
	}
	assert.Zero(t, fake.Calls())
}

func TestModels(t *testing.T) {
	c, err := llm.NewClient("ct-priced", append(fast(), llm.WithModelWeights(map[string]float64{"ct-priced": 1, "ct-priced-b": 3}))...)
	require.NoError(t, err)
	ms := c.Models()
	require.Len(t, ms, 2)
	assert.Equal(t, "ct-priced-b", ms[0].ID, "heaviest first")
	assert.Equal(t, "ct-priced", c.Model().ID, "the model given stays primary when weighted")
}

func TestResponseHeadersOnlyWhenAsked(t *testing.T) {
	fake := llmtest.New(func(ctx context.Context, req *llm.Request, n int) (*llm.Response, error) {
		r := llmtest.TextResponse(req, "ok")
		r.Header = http.Header{"X-Request-Id": {"abc"}, "X-Ratelimit-Remaining-Requests": {"9"}}
		return r, nil
	})
	c := newClient(t, fake)
	resp, err := c.Generate(context.Background(), user("hi"))
	require.NoError(t, err)
	assert.Nil(t, resp.Header, "read, then dropped")
	assert.Equal(t, 60, c.Stats().Pace[0].Server.RequestsPerMinute, "but read: 9 left, a 10-second window of 10 (or more)")

	resp, err = c.Generate(context.Background(), user("hi"), llm.WithResponseHeaders())
	require.NoError(t, err)
	assert.Equal(t, "abc", resp.Header.Get("x-request-id"))

	for _, opts := range [][]llm.Option{nil, {llm.WithResponseHeaders()}} {
		var first *llm.Chunk
		for ch, err := range c.Stream(context.Background(), user("hi"), opts...) {
			require.NoError(t, err)
			if first == nil {
				first = ch
			}
		}
		require.NotNil(t, first)
		assert.Equal(t, len(opts) > 0, first.Header != nil, "stream options %v", opts)
	}
}
