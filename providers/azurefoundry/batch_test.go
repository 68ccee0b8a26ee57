package azurefoundry

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/internal/fixture"
	"github.com/deluge-go/deluge/llm"
)

func TestBatchServiceConfiguration(t *testing.T) {
	m := lookup(t, "azure-gpt-4o")
	p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "key-0123456789"}, nil)
	s, err := p.BatchService(m, "")
	require.NoError(t, err)
	assert.Equal(t, "gpt-4o", s.Name(), "the model's deployment when no batch deployment is named")
	assert.Equal(t, batch.Limits{MaxLines: BatchMaxLines, MaxBytes: BatchMaxBytes, MaxResultLineBytes: 64 << 20}, s.Limits())
	s, err = p.BatchService(m, "mine")
	require.NoError(t, err)
	assert.Equal(t, "mine", s.Name(), "a name given wins")

	p = newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "key-0123456789", BatchDeployments: map[string]string{m.ID: "gpt-4o-batch"}}, nil)
	s, err = p.BatchService(m, "")
	require.NoError(t, err)
	assert.Equal(t, "gpt-4o-batch", s.Name())
	assert.Equal(t, "gpt-4o-batch", p.BatchDeployment(m))

	t.Setenv(EnvEndpoint, testEndpoint)
	t.Setenv(EnvAPIKey, "key-0123456789")
	t.Setenv(EnvBatchDeploymentPrefix+EnvKey(m.ID), "from-env-batch")
	cfg, err := ConfigFromEnv()
	require.NoError(t, err)
	p = newTestProvider(t, cfg, nil)
	s, err = p.BatchService(m, "")
	require.NoError(t, err)
	assert.Equal(t, "from-env-batch", s.Name())

	t.Setenv(EnvBatchDeploymentType, "global-standard")
	_, err = ConfigFromEnv()
	require.ErrorIs(t, err, llm.ErrConfiguration)
	assert.Contains(t, err.Error(), "not a batch SKU")
	_, err = New(Config{Endpoint: testEndpoint, APIKey: "k", BatchDeploymentType: DataZone})
	require.Error(t, err)

	for name, cfg := range map[string]Config{
		"regions":     {Regions: []Region{{Name: "a", Endpoint: testEndpoint, APIKey: "k"}, {Name: "b", Endpoint: "https://b.openai.azure.com", APIKey: "k"}}},
		"old version": {Endpoint: testEndpoint, APIKey: "k", APIVersion: "2024-06-01"},
		"serverless":  {Endpoint: "https://mistral-x.eastus2.models.ai.azure.com", APIKey: "k"},
	} {
		p := newTestProvider(t, cfg, nil)
		_, err := p.BatchService(m, "")
		require.ErrorIs(t, err, llm.ErrConfiguration, name)
	}
	_, err = newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "k"}, nil).BatchService(lookup(t, "azure-claude-opus-4-6"), "")
	require.ErrorIs(t, err, llm.ErrConfiguration)
	assert.Contains(t, err.Error(), "Claude")
}

// The classic family: /openai/batches?api-version=…, lines with url
// "/chat/completions", the api-key header.
func TestBatchServiceClassicRoutes(t *testing.T) {
	mock := newMock(t, func(req *http.Request) *http.Response {
		return jsonResponse(200, string(fixture.Azure(t, "aoai_batch_create_validating.doc.json")), nil)
	})
	p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "key-0123456789", APIVersion: "2025-04-01-preview"}, mock)
	m := lookup(t, "azure-gpt-4o")
	s, err := p.BatchService(m, "gpt-4o-batch")
	require.NoError(t, err)
	j, err := s.CreateJob(t.Context(), batch.JobParams{InputFileID: "file-1"})
	require.NoError(t, err)
	assert.Equal(t, batch.StatusValidating, j.Status)
	got := mock.Last(t)
	assert.Equal(t, "/openai/batches", got.Path)
	assert.Equal(t, "api-version=2025-04-01-preview", got.Query)
	assert.Equal(t, "key-0123456789", got.Header.Get("Api-Key"))
	assert.Empty(t, got.Header.Get("Authorization"))
	assert.Equal(t, "/chat/completions", got.Body["endpoint"])
	assert.Equal(t, "24h", got.Body["completion_window"])
	line, err := s.Line("a", hello(m))
	require.NoError(t, err)
	assert.Contains(t, string(line), `"url":"/chat/completions"`)
	assert.Contains(t, string(line), `"model":"gpt-4o-batch"`)

	// v1: /openai/v1/batches, no api-version, lines with /v1/.
	p = newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "key-0123456789"}, mock)
	s, err = p.BatchService(m, "gpt-4o-batch")
	require.NoError(t, err)
	_, err = s.Job(t.Context(), "batch_6caaf24d")
	require.NoError(t, err)
	got = mock.Last(t)
	assert.Equal(t, "/openai/v1/batches/batch_6caaf24d", got.Path)
	assert.Empty(t, got.Query)
	line, err = s.Line("a", hello(m))
	require.NoError(t, err)
	assert.Contains(t, string(line), `"url":"/v1/chat/completions"`)
}

// Results are priced at the batch SKU's rate: half the Global Standard
// price, or half the Data Zone one.
func TestBatchResultCost(t *testing.T) {
	line := bytes.TrimSpace(fixture.Azure(t, "aoai_batch_output_line.doc.jsonl"))
	m := lookup(t, "azure-gpt-4o")
	for _, tc := range []struct {
		cfg  Config
		tier DeploymentType
	}{
		{Config{Endpoint: testEndpoint, APIKey: "k"}, GlobalBatch},
		{Config{Endpoint: testEndpoint, APIKey: "k", DeploymentType: DataZoneBatch}, DataZoneBatch},
		{Config{Endpoint: testEndpoint, APIKey: "k", DeploymentType: DataZone, BatchDeploymentType: DataZoneBatch}, DataZoneBatch},
	} {
		s, err := newTestProvider(t, tc.cfg, nil).BatchService(m, "")
		require.NoError(t, err)
		r, err := s.Result(line)
		require.NoError(t, err)
		require.NotNil(t, r.Response)
		assert.InDelta(t, BatchCost(m, r.Response.Usage, tc.tier), r.Response.Cost, 1e-12, tc.tier)
		assert.InDelta(t, m.Cost(27, 0, 24)*tc.tier.BatchMultiplier(), r.Response.Cost, 1e-12)
		assert.Equal(t, ProviderName, r.Response.Provider)
	}
}

// Errors speak Azure: which key, which deployment, what SKU to deploy.
func TestBatchErrorsInAzureTerms(t *testing.T) {
	const key = "key-0123456789abcdef"
	mock := newMock(t, func(req *http.Request) *http.Response {
		return jsonResponse(401, `{"error":{"code":"401","message":"Access denied due to invalid subscription key `+key+`."}}`, nil)
	})
	p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: key}, mock)
	m := lookup(t, "azure-gpt-4o")
	s, err := p.BatchService(m, "gpt-4o-batch")
	require.NoError(t, err)
	_, err = s.Files(t.Context(), batch.ListOptions{})
	require.ErrorIs(t, err, llm.ErrAuthentication)
	assert.Contains(t, err.Error(), "Config.APIKey")
	assert.NotContains(t, err.Error(), key)

	je := s.JobError(batch.JobError{Code: "invalid_request", Message: "The deployment SKU is invalid."})
	assert.Contains(t, je.Message, "Global-Batch")
	assert.Contains(t, je.Message, EnvBatchDeploymentPrefix)
	assert.Contains(t, je.Message, "'gpt-4o-batch'")
	je = s.JobError(batch.JobError{Code: "token_limit_exceeded", Message: "The number of enqueued tokens has surpassed the configured limit."})
	assert.Equal(t, llm.CodeQuotaExceeded, je.Code)
	assert.True(t, strings.Contains(je.Message, "Quotas"), je.Message)
}

// Entra ID: the bearer token of the credential on every request, and a
// credential that fails is an authentication error, not a retried outage.
func TestBatchServiceEntraID(t *testing.T) {
	mock := newMock(t, func(req *http.Request) *http.Response {
		return jsonResponse(200, `{"object":"list","data":[],"has_more":false}`, nil)
	})
	cred := &fakeCredential{clock: newFakeClock(), life: time.Hour}
	p := newTestProvider(t, Config{Endpoint: testEndpoint, Credential: cred}, mock)
	s, err := p.BatchService(lookup(t, "azure-gpt-4o"), "gpt-4o-batch")
	require.NoError(t, err)
	_, err = s.Jobs(t.Context(), batch.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, "Bearer tok-1", mock.Last(t).Header.Get("Authorization"))
	assert.Empty(t, mock.Last(t).Header.Get("Api-Key"))

	cred.fail.Store(true)
	cred2 := &fakeCredential{clock: newFakeClock(), life: time.Hour}
	cred2.fail.Store(true)
	p = newTestProvider(t, Config{Endpoint: testEndpoint, Credential: cred2}, mock)
	s, err = p.BatchService(lookup(t, "azure-gpt-4o"), "gpt-4o-batch")
	require.NoError(t, err)
	_, err = s.Jobs(t.Context(), batch.ListOptions{})
	require.ErrorIs(t, err, llm.ErrAuthentication)
	assert.Contains(t, err.Error(), "az login")
}

// Responses API lines: "url": "/v1/responses" on both families, jobs with
// endpoint "/v1/responses", the classic family from 2025-03-01-preview.
func TestBatchServiceResponses(t *testing.T) {
	mock := newMock(t, func(req *http.Request) *http.Response {
		return jsonResponse(200, string(fixture.Azure(t, "aoai_batch_create_validating.doc.json")), nil)
	})
	o3 := lookup(t, "azure-o3-pro")
	gpt := lookup(t, "azure-gpt-4o")
	lineOf := func(s batch.Service, req *llm.Request) map[string]any {
		t.Helper()
		line, err := s.Line("a", req)
		require.NoError(t, err)
		var l map[string]any
		require.NoError(t, json.Unmarshal(line, &l))
		return l
	}
	for _, tc := range []struct{ version, path, query string }{
		{"", "/openai/v1/batches", ""},
		{"2025-03-01-preview", "/openai/batches", "api-version=2025-03-01-preview"},
		// Older than the Responses API: a Responses-only model's jobs use
		// ResponsesAPIVersion, as its synchronous calls do.
		{"2024-10-21", "/openai/batches", "api-version=" + ResponsesAPIVersion},
	} {
		p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "key-0123456789", APIVersion: tc.version}, mock)
		s, err := p.BatchService(o3, "o3-pro-batch")
		require.NoError(t, err, tc.version)
		l := lineOf(s, hello(o3))
		assert.Equal(t, "/v1/responses", l["url"], tc.version)
		body := l["body"].(map[string]any)
		assert.Equal(t, "o3-pro-batch", body["model"])
		assert.NotNil(t, body["input"], "a Responses API body")
		assert.Equal(t, "/v1/responses", s.(batch.Endpointer).Endpoint(hello(o3)))
		_, err = s.CreateJob(t.Context(), batch.JobParams{InputFileID: "file-1", Endpoint: "/v1/responses"})
		require.NoError(t, err)
		got := mock.Last(t)
		assert.Equal(t, tc.path, got.Path, tc.version)
		assert.Equal(t, tc.query, got.Query, tc.version)
		assert.Equal(t, "/v1/responses", got.Body["endpoint"])
	}

	// A chat model: its lines go where each request goes.
	viaResponses := hello(gpt)
	viaResponses.Sampling.API = llm.APIResponses
	p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "key-0123456789", APIVersion: "2025-04-01-preview"}, mock)
	s, err := p.BatchService(gpt, "gpt-4o-batch")
	require.NoError(t, err)
	assert.Equal(t, "/chat/completions", lineOf(s, hello(gpt))["url"])
	assert.Equal(t, "/v1/responses", lineOf(s, viaResponses)["url"])

	// … but not on a version that predates the Responses API, where its
	// chat lines still go.
	p = newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "key-0123456789", APIVersion: "2024-10-21"}, mock)
	s, err = p.BatchService(gpt, "gpt-4o-batch")
	require.NoError(t, err)
	_, err = s.Line("a", viaResponses)
	require.ErrorIs(t, err, llm.ErrConfiguration)
	assert.Contains(t, err.Error(), MinResponsesAPIVersion)
	assert.Contains(t, err.Error(), EnvAPIVersion)
	assert.Equal(t, "/chat/completions", lineOf(s, hello(gpt))["url"])
	_, err = s.CreateJob(t.Context(), batch.JobParams{InputFileID: "file-1"})
	require.NoError(t, err)
	assert.Equal(t, "api-version=2024-10-21", mock.Last(t).Query, "the configured version for chat jobs")

	// Microsoft's Responses output line, at the batch SKU's price.
	s, err = newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "k"}, nil).BatchService(o3, "")
	require.NoError(t, err)
	r, err := s.Result(bytes.TrimSpace(fixture.Azure(t, "aoai_batch_output_line_responses.doc.jsonl")))
	require.NoError(t, err)
	require.NoError(t, r.Err)
	assert.InDelta(t, BatchCost(o3, llm.Usage{InputTokens: 16, OutputTokens: 25}, GlobalBatch), r.Response.Cost, 1e-12)
	assert.Equal(t, ProviderName, r.Response.Provider)
}

// Azure's batch API takes no embeddings (Microsoft Learn, batch FAQ).
func TestBatchServiceRefusesEmbeddings(t *testing.T) {
	p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "k"}, nil)
	_, err := p.BatchService(lookup(t, "azure-text-embedding-3-small"), "")
	require.ErrorIs(t, err, llm.ErrConfiguration)
	assert.Contains(t, err.Error(), "do not take embeddings")
	assert.Contains(t, err.Error(), "deluge embed")
}
