package azurefoundry

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// TestFixtureResponses replays the Responses API fixtures through the
// provider on both URL families: the route (and api-version) Azure
// documents, the credential, the deployment as the body's model, and what
// the caller gets, priced at the deployment type's rates.
func TestFixtureResponses(t *testing.T) {
	for _, v := range []struct {
		version, path, query string
	}{
		{"", "/openai/v1/responses", ""},
		{"preview", "/openai/v1/responses", "api-version=preview"},
		{"2025-04-01-preview", "/openai/responses", "api-version=2025-04-01-preview"},
		// A dated version without the Responses API uses the last preview.
		{"2024-10-21", "/openai/responses", "api-version=" + ResponsesAPIVersion},
	} {
		t.Run(v.version, func(t *testing.T) {
			body := string(readFixture(t, "aoai_responses_create_v1_gpt41nano.doc.json"))
			m := newMock(t, func(*http.Request) *http.Response {
				return jsonResponse(200, body, map[string]string{"apim-request-id": "req-r", "x-ms-region": "East US"})
			})
			p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: fixtureKey, APIVersion: v.version, DeploymentType: DataZone}, m)
			model := lookup(t, "azure-gpt-4.1-nano")
			req := hello(model)
			req.API = llm.APIResponses
			resp, err := p.Generate(context.Background(), req)
			require.NoError(t, err)
			got := m.Last(t)
			assert.Equal(t, http.MethodPost, got.Method)
			assert.Equal(t, v.path, got.Path)
			assert.Equal(t, v.query, got.Query)
			assert.Equal(t, fixtureKey, got.Header.Get("api-key"))
			assert.Empty(t, got.Header.Get("Authorization"), "never both credentials")
			assert.Equal(t, "gpt-4.1-nano", got.Body["model"], "the deployment is the body's model")
			assert.Equal(t, false, got.Body["store"])

			assert.Equal(t, "Hello! It looks like you've sent a test message. How can I assist you today?", resp.Completion)
			assert.Equal(t, llm.Usage{InputTokens: 12, OutputTokens: 19}, resp.Usage)
			assert.Equal(t, "req-r", resp.RequestID)
			assert.InDelta(t, model.Cost(12, 0, 19)*1.10, resp.Cost, 1e-12, "priced at the Data Zone rate")
		})
	}

	// The gpt-5 example: a reasoning item before the message.
	body := string(readFixture(t, "aoai_responses_reasoning_gpt5_v1.doc.json"))
	m := newMock(t, func(*http.Request) *http.Response { return jsonResponse(200, body, nil) })
	p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: fixtureKey}, m)
	req := hello(lookup(t, "azure-gpt-5"))
	req.API = llm.APIResponses
	resp, err := p.Generate(context.Background(), req)
	require.NoError(t, err)
	assert.Contains(t, resp.Completion, "9π ≈ 28.27")
	assert.Equal(t, 192, resp.Usage.ReasoningTokens)
}

// TestResponsesOnlyModels: the catalog's Responses-only models go to the
// Responses API with no option, and cannot be forced onto chat
// completions.
func TestResponsesOnlyModels(t *testing.T) {
	m := newMock(t, func(*http.Request) *http.Response {
		return jsonResponse(200, `{"id":"resp_1","status":"completed","model":"gpt-5-codex","output":[{"type":"message","content":[{"type":"output_text","text":"done"}]}],"usage":{"input_tokens":5,"output_tokens":7}}`, nil)
	})
	p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: fixtureKey}, m)
	for _, id := range []string{"azure-gpt-5-codex", "azure-o3-pro", "azure-gpt-5-pro", "azure-codex-mini", "azure-gpt-5.1-codex", "azure-gpt-5.1-codex-mini"} {
		model := lookup(t, id)
		resp, err := p.Generate(context.Background(), hello(model))
		require.NoError(t, err, id)
		assert.Equal(t, "/openai/v1/responses", m.Last(t).Path, id)
		assert.Equal(t, model.Name, m.Last(t).Body["model"], id)
		assert.Equal(t, "done", resp.Completion)
		assert.InDelta(t, model.Cost(5, 0, 7), resp.Cost, 1e-12, id)
	}
	n := m.Count()
	req := hello(lookup(t, "azure-o3-pro"))
	req.API = llm.APIChat
	_, err := p.Generate(context.Background(), req)
	assert.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "served only by the Responses API")
	assert.Equal(t, n, m.Count(), "nothing sent")
}

// TestResponsesServerless: a serverless endpoint serves chat completions
// only; a Responses call is refused without being sent.
func TestResponsesServerless(t *testing.T) {
	m := newMock(t, okReply)
	p := newTestProvider(t, Config{Endpoint: "https://my-mistral.eastus2.models.ai.azure.com", APIKey: fixtureKey}, m)
	req := hello(fixtureModel("mistral-large", false))
	req.API = llm.APIResponses
	_, err := p.Generate(context.Background(), req)
	assert.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "chat completions only")
	_, _, err = collect(p.Stream(context.Background(), req))
	assert.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.Zero(t, m.Count())
}

// TestResponsesEntraID: the Responses route carries the Entra ID token as
// a bearer, and no api-key.
func TestResponsesEntraID(t *testing.T) {
	m := newMock(t, func(*http.Request) *http.Response {
		return jsonResponse(200, `{"id":"r","status":"completed","output":[],"usage":{"input_tokens":1,"output_tokens":1}}`, nil)
	})
	p := newTestProvider(t, Config{Endpoint: testEndpoint, ADToken: "entra-token-0123456789", APIVersion: "2025-04-01-preview"}, m)
	req := hello(lookup(t, "azure-o3-pro"))
	_, err := p.Generate(context.Background(), req)
	require.NoError(t, err)
	got := m.Last(t)
	assert.Equal(t, "Bearer entra-token-0123456789", got.Header.Get("Authorization"))
	assert.Empty(t, got.Header.Get("api-key"))
	assert.Equal(t, "/openai/responses", got.Path)
}

// TestResponsesBackgroundRegions: a background response is polled and
// cancelled in the region that created it.
func TestResponsesBackgroundRegions(t *testing.T) {
	opt := []azuretest.Option{azuretest.WithBackgroundTiming(0, 0)}
	p, east, west, _, r := twoRegions(t, opt, opt)
	*r = 0.9 // westus
	model := lookup(t, "azure-gpt-4o")
	req := &llm.Request{Model: model, Messages: conversation.New().User("later").Messages(), Sampling: llm.Sampling{Background: true}}
	west.HoldAsync(true)
	pending, err := p.Generate(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "westus", pending.Region)
	assert.Equal(t, "queued", pending.Status)
	*r = 0 // new calls would go east; the poll must not
	polled, err := p.Poll(context.Background(), req, pending)
	require.NoError(t, err)
	assert.Equal(t, "queued", polled.Status)
	assert.Equal(t, "westus", polled.Region)
	require.NoError(t, p.Cancel(context.Background(), req, pending))
	_, err = p.Poll(context.Background(), req, pending)
	assert.ErrorIs(t, err, llm.ErrCanceled)
	assert.Zero(t, east.Requests(), "nothing went east")

	_, err = p.Poll(context.Background(), req, &llm.Response{ResponseID: "resp_x", Region: "northpole"})
	assert.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.True(t, strings.Contains(err.Error(), "northpole"))
}

// TestResponsesVersion: the classic api-version of the Responses API.
func TestResponsesVersion(t *testing.T) {
	for in, want := range map[string]string{
		"2024-10-21":         ResponsesAPIVersion,
		"2025-01-01-preview": ResponsesAPIVersion,
		"2025-03-01-preview": "2025-03-01-preview",
		"2025-04-01-preview": "2025-04-01-preview",
		"2026-01-01":         "2026-01-01",
	} {
		assert.Equal(t, want, responsesVersion(in), in)
	}
}
