package openai_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

func errorFor(t *testing.T, status int, header http.Header, body string) *llm.Error {
	t.Helper()
	_, err := generateWith(t, status, header, body)
	require.Error(t, err)
	var le *llm.Error
	require.ErrorAs(t, err, &le)
	assert.NotContains(t, err.Error(), testKey, "the API key must never appear in an error")
	assert.Equal(t, openai.ProviderName, le.Provider)
	assert.Equal(t, "gpt-4o", le.Model)
	assert.Equal(t, status, le.StatusCode)
	return le
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		header   http.Header
		body     string
		sentinel error
		retry    time.Duration
		contains string
	}{
		{"401 invalid key, echoed by the server", 401, nil,
			`{"error":{"message":"Incorrect API key provided: ` + testKey + `.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			llm.ErrAuthentication, 0, "OPENAI_API_KEY"},
		{"403", 403, nil, `{"error":{"message":"Project does not have access to model","type":"invalid_request_error","code":"model_not_found"}}`,
			llm.ErrPermissionDenied, 0, "does not have access"},
		{"404 model", 404, nil, `{"error":{"message":"The model ` + "`gpt-9`" + ` does not exist","type":"invalid_request_error","code":"model_not_found"}}`,
			llm.ErrNotFound, 0, `check the model name "gpt-4o"`},
		{"429 retry-after-ms", 429, http.Header{"Retry-After-Ms": {"1500"}, "Retry-After": {"2"}},
			`{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}`,
			llm.ErrRateLimited, 1500 * time.Millisecond, "Rate limit"},
		{"429 fractional retry-after-ms", 429, http.Header{"Retry-After-Ms": {"250.5"}},
			`{"error":{"message":"slow down","code":"429"}}`, llm.ErrRateLimited, 250500 * time.Microsecond, ""},
		{"429 retry-after seconds", 429, http.Header{"Retry-After": {"2"}},
			`{"error":{"message":"slow down","code":"429"}}`, llm.ErrRateLimited, 2 * time.Second, ""},
		{"429 numeric code, retry from OpenAI's message", 429, nil,
			`{"error":{"message":"Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 29000, Requested 1500. Please try again in 1.2s. Visit https://platform.openai.com/account/rate-limits","type":"tokens","code":429}}`,
			llm.ErrRateLimited, 1200 * time.Millisecond, ""},
		{"429 Azure message linking to quotaincrease is still a rate limit", 429, nil,
			`{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after 2 seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."}}`,
			llm.ErrRateLimited, 2 * time.Second, "retry after 2 seconds"},
		{"429 daily quota by retry delay", 429, http.Header{"Retry-After": {"86400"}},
			`{"error":{"code":"429","message":"Please retry after 86400 seconds."}}`, llm.ErrQuotaExceeded, 24 * time.Hour, ""},
		{"429 insufficient_quota", 429, nil,
			`{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`,
			llm.ErrQuotaExceeded, 0, "billing"},
		{"429 requests per day", 429, http.Header{"Retry-After": {"20"}},
			`{"error":{"message":"Rate limit reached for gpt-4o on requests per day (RPD): Limit 200, Used 200.","code":"rate_limit_exceeded"}}`,
			llm.ErrQuotaExceeded, 20 * time.Second, ""},
		{"400 context length", 400, nil,
			`{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
			llm.ErrContextLength, 0, "maximum context length"},
		{"400 unsupported parameter", 400, nil,
			`{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}`,
			llm.ErrInvalidRequest, 0, "max_completion_tokens"},
		{"500", 500, nil, `{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}`,
			llm.ErrUnavailable, 0, "server had an error"},
		{"503 with retry-after", 503, http.Header{"Retry-After": {"3"}}, `{"error":{"message":"overloaded","type":"server_error"}}`,
			llm.ErrUnavailable, 3 * time.Second, ""},
		{"502 HTML from a proxy", 502, http.Header{"Content-Type": {"text/html"}}, `<html><body>Bad Gateway</body></html>`,
			llm.ErrUnavailable, 0, "Bad Gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			le := errorFor(t, tt.status, tt.header, tt.body)
			assert.ErrorIs(t, le, tt.sentinel)
			assert.Equal(t, tt.retry, le.RetryAfter)
			assert.Contains(t, le.Error(), tt.contains)
			assert.NotNil(t, le.Header, "headers are kept on errors")
			var apiErr *goopenai.APIError
			var reqErr *goopenai.RequestError
			assert.True(t, errors.As(le, &apiErr) || errors.As(le, &reqErr), "the go-openai error is reachable")
			if apiErr != nil {
				assert.NotContains(t, apiErr.Error(), testKey)
			}
		})
	}
}

func TestErrorRetryAfterHTTPDate(t *testing.T) {
	when := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	le := errorFor(t, 429, http.Header{"Retry-After": {when}}, `{"error":{"message":"wait","code":"429"}}`)
	assert.ErrorIs(t, le, llm.ErrRateLimited)
	assert.InDelta(t, 90*time.Second, le.RetryAfter, float64(3*time.Second))
}

func TestErrorAPIErrorReachable(t *testing.T) {
	le := errorFor(t, 401, http.Header{"X-Request-Id": {"req_401"}}, `{"error":{"message":"bad key `+testKey+`","type":"invalid_request_error","code":"invalid_api_key"}}`)
	var apiErr *goopenai.APIError
	require.ErrorAs(t, le, &apiErr)
	assert.Equal(t, "invalid_api_key", apiErr.Code)
	assert.Equal(t, 401, apiErr.HTTPStatusCode)
	assert.NotContains(t, apiErr.Message, testKey, "the key is redacted inside the wrapped error too")
	assert.Equal(t, "req_401", le.RequestID)
	assert.False(t, le.Retryable())
}

func TestErrorContentFilter(t *testing.T) {
	body := `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
	"type":null,"param":"prompt","code":"content_filter","status":400,
	"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_results":{
		"hate":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"high"},
		"jailbreak":{"filtered":true,"detected":true},
		"custom_blocklists":{"filtered":true,"details":[{"filtered":true,"id":"mylist"}]}}}}}`
	le := errorFor(t, 400, nil, body)
	assert.ErrorIs(t, le, llm.ErrContentFiltered)
	require.NotNil(t, le.ContentFilter, "the plural innererror form is accepted")
	assert.Equal(t, []string{"violence (high)", "jailbreak", `custom blocklist "mylist"`}, le.ContentFilter.Fired())
	assert.False(t, le.Retryable())
}

func TestErrorContentFilterInnerErrorOnly(t *testing.T) {
	// No top-level code: the innererror alone (singular form) marks the
	// rejection as the content filter's.
	body := `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
	"param":"prompt","status":400,
	"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{
		"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":true,"severity":"medium"}}}}}`
	le := errorFor(t, 400, nil, body)
	assert.ErrorIs(t, le, llm.ErrContentFiltered)
	require.NotNil(t, le.ContentFilter)
	assert.Equal(t, []string{"self_harm (medium)"}, le.ContentFilter.Fired())
	assert.False(t, le.Retryable())
}

func TestErrorNetwork(t *testing.T) {
	// A listener that is closed: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	p, err := openai.New(openai.Config{BaseURL: "http://" + addr + "/v1", APIKey: testKey})
	require.NoError(t, err)
	_, err = p.Generate(t.Context(), &llm.Request{Model: model("m"), Messages: conversation.New().User("x").Messages()})
	require.Error(t, err)
	assert.ErrorIs(t, err, llm.ErrUnavailable)
	assert.True(t, llm.CodeOf(err).Retryable())

	// A connection reset mid-response.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, _ := w.(http.Hijacker)
		c, _, _ := hj.Hijack()
		c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"choices\":"))
		c.Close()
	}))
	defer srv.Close()
	p, err = openai.New(openai.Config{BaseURL: srv.URL + "/v1"})
	require.NoError(t, err)
	_, err = p.Generate(t.Context(), &llm.Request{Model: model("m"), Messages: conversation.New().User("x").Messages()})
	assert.ErrorIs(t, err, llm.ErrUnavailable)
}

func TestErrorTimeouts(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	req := &llm.Request{Model: model("m"), Messages: conversation.New().User("x").Messages()}

	// The HTTP client's own timeout.
	p, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1", HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
	require.NoError(t, err)
	_, err = p.Generate(t.Context(), req)
	assert.ErrorIs(t, err, llm.ErrTimeout)

	// The caller's deadline (the Client's per-attempt timeout).
	p, err = openai.New(openai.Config{BaseURL: srv.URL + "/v1"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = p.Generate(ctx, req)
	assert.ErrorIs(t, err, llm.ErrTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	// The caller's cancellation.
	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = p.Generate(ctx, req)
	assert.ErrorIs(t, err, llm.ErrCanceled)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestErrorFromHTTP(t *testing.T) {
	e := openai.ErrorFromHTTP("azure-foundry", "azure-gpt-4o", 429,
		http.Header{"Retry-After-Ms": {"800"}, "Apim-Request-Id": {"apim-9"}},
		[]byte(`{"error":{"code":"429","message":"Requests have exceeded call rate limit. Please retry after 1 second."}}`))
	assert.ErrorIs(t, e, llm.ErrRateLimited)
	assert.Equal(t, 800*time.Millisecond, e.RetryAfter)
	assert.Equal(t, "apim-9", e.RequestID)
	assert.Equal(t, "azure-foundry", e.Provider)
	assert.Equal(t, "azure-gpt-4o", e.Model)
	var apiErr *goopenai.APIError
	require.ErrorAs(t, e, &apiErr)
	assert.Equal(t, "429", apiErr.Code)

	// A body that is not an OpenAI error still classifies by status.
	e = openai.ErrorFromHTTP("p", "m", 401, nil, []byte(`{"statusCode":401,"message":"Auth token validation failed"}`))
	assert.ErrorIs(t, e, llm.ErrAuthentication)
	assert.Contains(t, e.Message, "Auth token validation failed")
	var reqErr *goopenai.RequestError
	assert.ErrorAs(t, e, &reqErr)
}

func TestNewFromClientConfigOptions(t *testing.T) {
	srv := newFakeOpenAI(t, "", "deployment-1", 0)
	cc := goopenai.DefaultConfig("")
	cc.BaseURL = srv.URL + "/v1"
	cc.EmptyMessagesLimit = 0 // as in a hand-built config: the provider must fix it
	p, err := openai.NewFromClientConfig(cc, openai.Options{
		Name:     "azure-foundry",
		WireName: func(m registry.Model) string { return "deployment-1" },
		Hint:     func(c llm.Code, m registry.Model) string { return "check the deployment" },
		Redact:   []string{"super-secret"},
	})
	require.NoError(t, err)
	m := registry.Model{ID: "azure-gpt-4o", Provider: "azure-foundry", Name: "ignored"}
	resp, err := p.Generate(t.Context(), &llm.Request{Model: m, Messages: conversation.New().User("hi").Messages()})
	require.NoError(t, err)
	assert.Equal(t, "azure-foundry", resp.Provider)
	assert.Equal(t, "azure-gpt-4o", resp.Model)
	assert.Contains(t, string(srv.LastBody()), `"model":"deployment-1"`)

	var text string
	for c, err := range p.Stream(t.Context(), &llm.Request{Model: m, Messages: conversation.New().User("a b c").Messages()}) {
		require.NoError(t, err, "blank lines between events must not trip go-openai's empty-message limit")
		text += c.Text
	}
	assert.Equal(t, "echo: a b c", text)

	_, err = openai.NewFromClientConfig(goopenai.ClientConfig{BaseURL: "not a url"}, openai.Options{})
	assert.Error(t, err)
}
