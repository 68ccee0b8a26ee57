package azurefoundry

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/registry"
)

const serverlessKeyVar = "DELUGE_TEST_SERVERLESS_KEY"

// serverlessModel is a partner model on its own serverless endpoint, as a
// user registers it.
func serverlessModel(apiBase string) registry.Model {
	return registry.Model{
		ID: "test-mistral-serverless", Provider: ProviderName, Name: "mistral-large-2411",
		APIBase: apiBase, APIKeyEnvVar: serverlessKeyVar, InputCost: 2, OutputCost: 6,
	}
}

func TestServerlessEndpointValidation(t *testing.T) {
	for _, host := range []string{"my-mistral.eastus2.models.ai.azure.com", "Mistral-large-serverless.eastus2.inference.ai.azure.com"} {
		ep, err := parseEndpoint("https://"+host, false)
		require.NoError(t, err, host)
		assert.True(t, ep.serverless, host)
		assert.Equal(t, strings.ToLower(strings.SplitN(host, ".", 2)[0]), ep.resource)
	}
	_, err := parseEndpoint("http://my-mistral.eastus2.models.ai.azure.com", false)
	require.Error(t, err, "https only")
	_, err = parseEndpoint("https://models.ai.azure.com", false)
	require.Error(t, err, "a bare suffix is not an endpoint")
	ep, err := parseEndpoint("https://my-resource.services.ai.azure.com", false)
	require.NoError(t, err)
	assert.False(t, ep.serverless)
}

// TestServerlessFixtures replays the recorded serverless traffic
// (modelinference_serverless_*) through the serverless route: the request
// goes to the recorded path and query with the key in api-key.
func TestServerlessFixtures(t *testing.T) {
	t.Setenv(serverlessKeyVar, "serverless-key-123456")
	rec := readRecording(t, "modelinference_serverless_mistral_chat_extra_params.recording.json")
	base := rec.RequestURI[:strings.Index(rec.RequestURI, "/chat/completions")]
	m := newMock(t, recordedResponse(rec))
	p := newLenient(t, Config{HTTPClient: m.Client()})
	resp, err := p.Generate(context.Background(), &llm.Request{Model: serverlessModel(base),
		Messages: conversation.New().User("How many feet are in a mile?").Messages()})
	require.NoError(t, err)
	c := m.Last(t)
	assert.True(t, strings.EqualFold(rec.RequestURI, c.URL), "sent to %s, recorded %s", c.URL, rec.RequestURI)
	assert.Equal(t, "serverless-key-123456", c.Header.Get("api-key"))
	assert.Empty(t, c.Header.Get("Authorization"))
	assert.Equal(t, []any{map[string]any{"role": "user", "content": "How many feet are in a mile?"}}, c.Body["messages"])
	assert.Equal(t, "There are 5,280 feet in a mile. This conversion is commonly used in the imperial and U.S. customary systems of measurement.", resp.Completion)
	assert.Equal(t, "stop", resp.FinishReason)
	assert.Equal(t, llm.Usage{InputTokens: 11, OutputTokens: 32}, resp.Usage)
	assert.Equal(t, "352661be-cd4b-4d44-8fad-38b72a143ab3", resp.RequestID)
	assert.Equal(t, "mistral-large-2411", resp.ServedModel)
	assert.Nil(t, resp.ContentFilter, "serverless bodies carry no annotations")
	assert.InDelta(t, (11*2+32*6)/1e6, resp.Cost, 1e-12, "a registered model's own prices")

	// 401: not the OpenAI envelope.
	rec401 := readRecording(t, "modelinference_serverless_error_401.recording.json")
	m401 := newMock(t, recordedResponse(rec401))
	p401 := newLenient(t, Config{HTTPClient: m401.Client()})
	_, err = p401.Generate(context.Background(), &llm.Request{Model: serverlessModel(base), Messages: conversation.New().User("hi").Messages()})
	e := asLLMError(t, err)
	assert.Equal(t, llm.CodeAuthentication, e.Code)
	assert.Equal(t, 401, e.StatusCode)
	assert.Contains(t, err.Error(), serverlessKeyVar, "says which key to check")
	assert.Contains(t, err.Error(), "Auth token validation failed")
	assert.NotContains(t, err.Error(), "serverless-key-123456")

	// The stream: no prompt-annotation event, usage on the finish chunk.
	ms := newMock(t, sseResponse(200, readFixture(t, "modelinference_serverless_mistral_stream.excerpt.sse"),
		map[string]string{"Content-Type": "text/event-stream; charset=utf-8"}))
	ps := newLenient(t, Config{HTTPClient: ms.Client()})
	chunks, text, err := collect(ps.Stream(context.Background(), &llm.Request{Model: serverlessModel(base), Messages: conversation.New().User("hi").Messages()}))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(text, "Absolutely, here are three compelling reasons"), text)
	assert.True(t, strings.HasSuffix(text, " illnesses and infections."), text)
	last := chunks[len(chunks)-1]
	assert.Equal(t, "stop", last.FinishReason)
	require.NotNil(t, last.Usage)
	assert.Equal(t, llm.Usage{InputTokens: 24, OutputTokens: 352}, *last.Usage)
	assert.Equal(t, true, ms.Last(t).Body["stream"])
}

// TestServerlessDefaultEndpoint: AZURE_OPENAI_ENDPOINT may name a serverless
// endpoint; every call then goes to its chat route.
func TestServerlessDefaultEndpoint(t *testing.T) {
	m := newMock(t, okReply)
	p := newTestProvider(t, Config{Endpoint: "https://my-llama.westus3.models.ai.azure.com/", APIKey: "k-123456"}, m)
	_, err := p.Generate(context.Background(), hello(registry.Model{ID: "llama", Provider: ProviderName, Name: "Llama-3.3-70B-Instruct"}))
	require.NoError(t, err)
	assert.Equal(t, "https://my-llama.westus3.models.ai.azure.com/chat/completions?api-version="+ServerlessAPIVersion, m.Last(t).URL)
	assert.Equal(t, "k-123456", m.Last(t).Header.Get("api-key"))

	// Claude is not served there: the Claude route belongs to Foundry resources.
	_, err = p.Generate(context.Background(), hello(lookup(t, "azure-claude-haiku-4-5")))
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(m.Last(t).URL, "/chat/completions?api-version="+ServerlessAPIVersion))
}

// TestServerlessAcceptance runs a registered serverless model through the
// llm.Client against the emulator in serverless mode, reached under the real
// host name: the test's transport dials the emulator whatever the host, as a
// hosts-file entry would, and the emulator serves TLS.
func TestServerlessAcceptance(t *testing.T) {
	h := azuretest.NewHandler(azuretest.WithServerless("mistral-large-2411"), azuretest.WithAPIKeys("serverless-key-123456"))
	ts := httptest.NewTLSServer(h)
	t.Cleanup(func() { h.Close(); ts.Close() })
	tr := ts.Client().Transport.(*http.Transport).Clone()
	addr := ts.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: tr.TLSClientConfig.RootCAs, ServerName: "example.com"} // httptest's certificate

	t.Setenv(serverlessKeyVar, "serverless-key-123456")
	model := serverlessModel("https://my-mistral.eastus2.models.ai.azure.com")
	model.ID = "test-mistral-serverless-e2e"
	if _, err := registry.Lookup(model.ID); errors.Is(err, registry.ErrNotFound) {
		require.NoError(t, registry.Register(model))
	}
	p := newLenient(t, Config{HTTPClient: &http.Client{Transport: tr}})
	c, err := llm.NewClient(model.ID, llm.WithProviderInstance(p), llm.WithLogger(quietLogger))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })

	resp, err := c.Generate(context.Background(), conversation.New().User("How many feet are in a mile?"))
	require.NoError(t, err)
	assert.Equal(t, azuretest.ExpectedReply("How many feet are in a mile?"), resp.Completion)
	assert.Greater(t, resp.Cost, 0.0)

	var text strings.Builder
	var usage *llm.Usage
	for chunk, err := range c.Stream(context.Background(), conversation.New().User("Stream it")) {
		require.NoError(t, err)
		text.WriteString(chunk.Text)
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
	}
	assert.Equal(t, azuretest.ExpectedReply("Stream it"), text.String())
	require.NotNil(t, usage, "usage from the finish chunk")

	got, ok := h.LastRequest()
	require.True(t, ok)
	assert.Equal(t, "/chat/completions", got.Path)
	assert.Equal(t, ServerlessAPIVersion, got.APIVersion)
	assert.Equal(t, 2, h.Requests())

	t.Setenv(serverlessKeyVar, "wrong-key-000000")
	bad := model
	bad.APIKeyEnvVar = "DELUGE_TEST_SERVERLESS_KEY_2"
	t.Setenv(bad.APIKeyEnvVar, "wrong-key-000000")
	_, err = p.Generate(context.Background(), hello(bad))
	assert.True(t, errors.Is(err, llm.ErrAuthentication))
}

// newLenient builds a provider without a default endpoint (models bring
// their own APIBase), as NewFromEnv does when AZURE_OPENAI_ENDPOINT is unset.
func newLenient(t *testing.T, cfg Config) *Provider {
	t.Helper()
	cfg.Logger = quietLogger
	p, err := newProvider(cfg, false)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}
