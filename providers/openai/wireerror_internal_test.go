package openai

import (
	"net/http"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
)

func TestParseFailure(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		apiErr *goopenai.APIError
		want   failure
	}{
		{"OpenAI shape", 401, nil,
			`{"error":{"message":"Incorrect API key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, nil,
			failure{Status: 401, Code: "invalid_api_key", Type: "invalid_request_error", Message: "Incorrect API key"}},
		{"numeric code and retry-after-ms", 429, http.Header{"Retry-After-Ms": {"1500"}},
			`{"error":{"message":"slow down","code":429}}`, nil,
			failure{Status: 429, Code: "429", Message: "slow down", RetryAfter: 1500 * time.Millisecond}},
		{"message as an array", 400, nil, `{"error":{"message":["a","b"],"code":null}}`, nil,
			failure{Status: 400, Message: "a, b"}},
		{"Azure flat body", 401, nil, `{"statusCode":401,"message":"Auth token validation failed"}`, nil,
			failure{Status: 401, Message: "Auth token validation failed"}},
		{"Azure flat body with code", 404, nil, `{"code":"DeploymentNotFound","message":"gone"}`, nil,
			failure{Status: 404, Code: "DeploymentNotFound", Message: "gone"}},
		{"HTML from a proxy", 502, nil, "  <html>Bad Gateway</html>\n", nil,
			failure{Status: 502, Message: "<html>Bad Gateway</html>"}},
		{"empty body: the status text", 503, nil, "", nil, failure{Status: 503, Message: "Service Unavailable"}},
		{"JSON that is not an error: the status text", 500, nil, `{"foo":1}`, nil, failure{Status: 500, Message: "Internal Server Error"}},
		{"a stream's error event, parsed by go-openai", 0, nil, "",
			&goopenai.APIError{Code: "server_error", Message: "overloaded", Type: "server_error", InnerError: &goopenai.InnerError{Code: "x"}},
			failure{Code: "server_error", Type: "server_error", Message: "overloaded", InnerCode: "x"}},
		{"retry from Azure's message", 429, nil, `{"error":{"code":"429","message":"Please retry after 7 seconds."}}`, nil,
			failure{Status: 429, Code: "429", Message: "Please retry after 7 seconds.", RetryAfter: 7 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, parseFailure(tt.status, tt.header, []byte(tt.body), tt.apiErr))
		})
	}
}

func TestParseFailureInnerErrorOnly(t *testing.T) {
	// Azure's filtered-prompt body without the top-level code: innererror
	// alone says content filter, in the singular form.
	body := `{"error":{"message":"The response was filtered","param":"prompt","status":400,
		"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"violence":{"filtered":true,"severity":"medium"}}}}}`
	f := parseFailure(400, nil, []byte(body), nil)
	assert.Empty(t, f.Code)
	assert.Equal(t, "ResponsibleAIPolicyViolation", f.InnerCode)
	require.NotNil(t, f.ContentFilter)
	assert.Equal(t, []string{"violence (medium)"}, f.ContentFilter.Fired())
	assert.Equal(t, llm.CodeContentFiltered, classifyFailure(&f))
}

func TestRetryAfterBounded(t *testing.T) {
	for _, h := range []http.Header{
		{"Retry-After-Ms": {"1e300"}},
		{"Retry-After": {"1e300"}},
		{"Retry-After": {"9223372036854775807"}},
	} {
		d := retryAfter(h, "")
		assert.Equal(t, maxRetryAfter, d, "%v: an absurd wait is capped, never negative", h)
	}
	assert.Equal(t, maxRetryAfter, retryAfter(nil, "retry after 99999999999999999999999 seconds"))
	assert.Equal(t, maxRetryAfter, retryAfter(nil, "try again in 2000000h"))
	assert.Zero(t, retryAfter(http.Header{"Retry-After-Ms": {"-5"}, "Retry-After": {"NaN"}}, ""))
}

func TestClassifyFailure(t *testing.T) {
	tests := []struct {
		name string
		f    failure
		want llm.Code
	}{
		{"400 plain", failure{Status: 400, Message: "bad"}, llm.CodeInvalidRequest},
		{"400 content_filter code", failure{Status: 400, Code: "content_filter"}, llm.CodeContentFiltered},
		{"400 innererror alone", failure{Status: 400, InnerCode: "ResponsibleAIPolicyViolation"}, llm.CodeContentFiltered},
		{"400 context length by code", failure{Status: 400, Code: "context_length_exceeded"}, llm.CodeContextLength},
		{"400 context length by message", failure{Status: 400, Message: "This model's maximum context length is 8192"}, llm.CodeContextLength},
		{"400 model_not_found", failure{Status: 400, Code: "model_not_found"}, llm.CodeNotFound},
		{"400 DeploymentNotFound", failure{Status: 400, Code: "DeploymentNotFound"}, llm.CodeNotFound},
		{"400 invalid_api_key", failure{Status: 400, Code: "invalid_api_key"}, llm.CodeAuthentication},
		{"403 model_not_found keeps the status", failure{Status: 403, Code: "model_not_found"}, llm.CodePermissionDenied},
		{"404", failure{Status: 404}, llm.CodeNotFound},
		{"429", failure{Status: 429, RetryAfter: time.Second}, llm.CodeRateLimited},
		{"429 a day away", failure{Status: 429, RetryAfter: 24 * time.Hour}, llm.CodeQuotaExceeded},
		{"429 insufficient_quota", failure{Status: 429, Type: "insufficient_quota"}, llm.CodeQuotaExceeded},
		{"429 per day", failure{Status: 429, Message: "Limit reached on requests per day (RPD)"}, llm.CodeQuotaExceeded},
		{"429 Azure's quotaincrease link is no quota", failure{Status: 429, Message: "see https://aka.ms/oai/quotaincrease"}, llm.CodeRateLimited},
		{"rate limit code on a 400", failure{Status: 400, Code: "rate_limit_exceeded"}, llm.CodeRateLimited},
		{"500", failure{Status: 500}, llm.CodeUnavailable},
		{"504", failure{Status: 504}, llm.CodeTimeout},
		{"413", failure{Status: 413}, llm.CodeContextLength},
		{"stream server_error", failure{Type: "server_error"}, llm.CodeUnavailable},
		{"stream overloaded", failure{Message: "Overloaded"}, llm.CodeUnavailable},
		{"stream invalid_request_error", failure{Type: "invalid_request_error"}, llm.CodeInvalidRequest},
		{"stream unknown", failure{Type: "weird"}, llm.CodeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, classifyFailure(&tt.f))
		})
	}
}
