package llm_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// bgProvider runs every request in the background: Generate answers a
// queued response, Poll walks it through states (one per poll), Cancel
// records the cancel.
type bgProvider struct {
	mu       sync.Mutex
	creates  int
	polls    []time.Duration // when each poll came, since the first create
	start    time.Time
	states   []any // per poll: a status string, or an error
	cancels  int
	lastReq  *llm.Request
	failures int // creates whose responses then fail (server_error)
}

func (p *bgProvider) Generate(_ context.Context, req *llm.Request) (*llm.Response, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.creates == 0 {
		p.start = time.Now()
	}
	p.creates++
	p.lastReq = req
	return &llm.Response{Status: "queued", ResponseID: "resp_1", Region: "eastus"}, nil
}

func (p *bgProvider) Poll(_ context.Context, req *llm.Request, pending *llm.Response) (*llm.Response, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pending.ResponseID != "resp_1" || pending.Region != "eastus" {
		return nil, &llm.Error{Code: llm.CodeNotFound, StatusCode: 404, Message: "wrong response"}
	}
	p.polls = append(p.polls, time.Since(p.start))
	if len(p.states) == 0 {
		return &llm.Response{Status: "in_progress", ResponseID: "resp_1", Region: "eastus"}, nil
	}
	s := p.states[0]
	p.states = p.states[1:]
	switch s := s.(type) {
	case error:
		return nil, s
	case string:
		if s == "completed" {
			return &llm.Response{Status: s, ResponseID: "resp_1", Completion: "done", FinishReason: "stop",
				Usage: llm.Usage{InputTokens: 10, OutputTokens: 5}}, nil
		}
		return &llm.Response{Status: s, ResponseID: "resp_1", Region: "eastus"}, nil
	}
	return nil, nil
}

func (p *bgProvider) Cancel(context.Context, *llm.Request, *llm.Response) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cancels++
	return nil
}

func TestBackgroundPolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &bgProvider{states: []any{
			"queued", "in_progress",
			&llm.Error{Code: llm.CodeUnavailable, StatusCode: 503, Message: "poll failed"}, // polled again
			"completed",
		}}
		c := newClient(t, p, llm.WithBackgroundPolling(time.Second, 3*time.Second))
		resp, err := c.Generate(t.Context(), user("x"), llm.WithBackground())
		require.NoError(t, err)
		assert.Equal(t, "done", resp.Completion)
		assert.Equal(t, 1, resp.Attempts, "polls are not attempts")
		assert.Equal(t, 1, p.creates)
		assert.True(t, p.lastReq.Background)
		// 1 s, then doubling up to 3 s.
		assert.Equal(t, []time.Duration{time.Second, 3 * time.Second, 6 * time.Second, 9 * time.Second}, p.polls)
		assert.Equal(t, int64(15), c.Stats().InputTokens+c.Stats().OutputTokens)
	})
}

func TestBackgroundFailedIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The first response fails on the server (a 200 carrying status
		// failed): the call creates another.
		p := &bgProvider{states: []any{
			&llm.Error{Code: llm.CodeUnavailable, StatusCode: 200, Message: "the response failed on the server (server_error)"},
			"completed",
		}}
		c := newClient(t, p)
		resp, err := c.Generate(t.Context(), user("x"), llm.WithBackground())
		require.NoError(t, err)
		assert.Equal(t, "done", resp.Completion)
		assert.Equal(t, 2, p.creates)
		assert.Equal(t, 2, resp.Attempts)
	})
}

func TestBackgroundPollGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var states []any
		for range 10 {
			states = append(states, &llm.Error{Code: llm.CodeUnavailable, StatusCode: 502, Message: "bad gateway"})
		}
		p := &bgProvider{states: states}
		c := newClient(t, p, llm.WithMaxAttempts(1))
		_, err := c.Generate(t.Context(), user("x"), llm.WithBackground())
		require.Error(t, err)
		assert.Equal(t, llm.CodeUnavailable, llm.CodeOf(err))
		assert.Len(t, p.polls, 5, "five failed polls in a row end the call")
	})
}

func TestBackgroundCanceledCancelsOnServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &bgProvider{}
		c := newClient(t, p)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := c.Generate(ctx, user("x"), llm.WithBackground())
		require.Error(t, err)
		assert.ErrorIs(t, err, llm.ErrTimeout)
		assert.Equal(t, 1, p.cancels)
	})
}

func TestBackgroundWithoutPoller(t *testing.T) {
	p := llm.ProviderFunc(func(context.Context, *llm.Request) (*llm.Response, error) {
		return &llm.Response{Status: "queued", ResponseID: "r"}, nil
	})
	c := newClient(t, p, llm.WithMaxAttempts(1))
	_, err := c.Generate(t.Context(), user("x"), llm.WithBackground())
	assert.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "llm.Poller")
}

func TestResponsesOptions(t *testing.T) {
	var got llm.Request
	p := llm.ProviderFunc(func(_ context.Context, req *llm.Request) (*llm.Response, error) {
		got = *req
		return &llm.Response{Completion: "ok", FinishReason: "stop"}, nil
	})
	c := newClient(t, p)
	_, err := c.Generate(t.Context(), user("x"), llm.WithAPI(llm.APIResponses), llm.WithReasoningSummary("auto"),
		llm.WithPreviousResponse("resp_0"), llm.WithStore(true))
	require.NoError(t, err)
	assert.Equal(t, llm.APIResponses, got.API)
	assert.True(t, got.UsesResponses())
	assert.Equal(t, "auto", got.ReasoningSummary)
	assert.Equal(t, "resp_0", got.PreviousResponseID)
	require.NotNil(t, got.Store)
	assert.True(t, *got.Store)

	for name, opt := range map[string]llm.Option{
		"api":      llm.WithAPI(llm.API(9)),
		"summary":  llm.WithReasoningSummary("brief"),
		"previous": llm.WithPreviousResponse(""),
	} {
		_, err := c.Generate(t.Context(), user("x"), opt)
		assert.Error(t, err, name)
	}
	_, err = llm.NewClient("test-model", llm.WithBackgroundPolling(0, time.Second))
	assert.Error(t, err)
	assert.Equal(t, "responses", llm.APIResponses.String())
}

// TestFingerprintResponsesSettings: the Responses API's settings change the
// fingerprint, and a request without them keeps its old one.
func TestFingerprintResponsesSettings(t *testing.T) {
	base := llm.Request{Model: registry.Model{ID: "m", Provider: "p", Name: "m"}, Messages: user("x").Messages()}
	fp := base.Fingerprint()
	for name, mod := range map[string]func(*llm.Request){
		"api":        func(r *llm.Request) { r.API = llm.APIResponses },
		"summary":    func(r *llm.Request) { r.ReasoningSummary = "auto" },
		"previous":   func(r *llm.Request) { r.PreviousResponseID = "resp_1" },
		"store":      func(r *llm.Request) { r.Store = new(bool) },
		"background": func(r *llm.Request) { r.Background = true },
	} {
		r := base
		mod(&r)
		assert.NotEqual(t, fp, r.Fingerprint(), name)
	}
	stored, unstored := base, base
	yes, no := true, false
	stored.Store, unstored.Store = &yes, &no
	assert.NotEqual(t, stored.Fingerprint(), unstored.Fingerprint())
}
