package azurefoundry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/deluge-go/deluge/llm"
)

// TestErrorMessages covers the rewritten messages the fixtures do not:
// Entra ID 401s, 403, a 404 for the route, a plain 429, a 5xx.
func TestErrorMessages(t *testing.T) {
	clock := newFakeClock()
	for _, tc := range []struct {
		name     string
		cfg      Config
		status   int
		body     string
		header   map[string]string
		sentinel error
		want     []string
	}{
		{"401 static token", Config{ADToken: "expired-token-123"}, 401,
			`{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."}`, nil,
			llm.ErrAuthentication, []string{"rejected the Entra ID token for resource 'my-resource'", "Config.ADToken", "az account get-access-token", "AZURE_OPENAI_USE_ENTRA_ID=1"}},
		{"401 credential", Config{Credential: &fakeCredential{clock: clock, life: time.Hour}}, 401,
			`{"statusCode":401,"message":"Unauthorized"}`, nil,
			llm.ErrAuthentication, []string{"'Cognitive Services OpenAI User'", DefaultTokenScope}},
		{"403", Config{APIKey: "k"}, 403,
			`{"error":{"code":"403","message":"Public access is disabled. Please configure private endpoint."}}`, nil,
			llm.ErrPermissionDenied, []string{"Azure denied access to resource 'my-resource'", "network rules", "Public access is disabled"}},
		{"404 route", Config{APIKey: "k", APIVersion: "2024-10-21"}, 404,
			`{"error":{"code":"404","message":"Resource not found"}}`, nil,
			llm.ErrNotFound, []string{"has no such route (POST /openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21)", "AZURE_OPENAI_ENDPOINT"}},
		{"404 v1 deployment", Config{APIKey: "k"}, 404,
			`{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`, nil,
			llm.ErrNotFound, []string{"Azure deployment 'gpt-4o' not found in resource 'my-resource'", "AZURE_DEPLOYMENT_AZURE_GPT_4O"}},
		{"429", Config{APIKey: "k"}, 429,
			`{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation have exceeded call rate limit. Please retry after 3 seconds."}}`,
			map[string]string{"retry-after-ms": "2500", "retry-after": "3"},
			llm.ErrRateLimited, []string{"Azure rate limit reached for deployment 'gpt-4o' in resource 'my-resource'", "exceeded call rate limit"}},
		{"400 api version", Config{APIKey: "k", APIVersion: "2023-05-15"}, 400,
			`{"error":{"code":"BadRequest","message":"API version not supported"}}`, nil,
			llm.ErrConfiguration, []string{"API version not supported", `"2023-05-15"`, "AZURE_API_VERSION", "v1 (recommended)", "such as 2024-10-21"}},
		{"503", Config{APIKey: "k"}, 503,
			`{"error":{"message":"That model is currently overloaded with other requests.","type":"server_error","param":null,"code":null}}`, nil,
			llm.ErrUnavailable, []string{"Azure resource 'my-resource' unavailable", "overloaded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMock(t, func(*http.Request) *http.Response { return jsonResponse(tc.status, tc.body, tc.header) })
			cfg := tc.cfg
			cfg.Endpoint = testEndpoint
			p := newTestProvider(t, cfg, m)
			p.now = clock.Now
			_, err := p.Generate(context.Background(), hello(lookup(t, "azure-gpt-4o")))
			e := asLLMError(t, err)
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("code %s, want %v", e.Code, tc.sentinel)
			}
			for _, w := range tc.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message lacks %q:\n%s", w, e.Message)
				}
			}
			if tc.status == 429 && e.RetryAfter != 2500*time.Millisecond {
				t.Errorf("RetryAfter = %v, want retry-after-ms", e.RetryAfter)
			}
			for _, secret := range []string{"expired-token-123", "tok-1"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error reveals %q", secret)
				}
			}
		})
	}
}

// TestAPIVersionAdvice: the advice never proposes the version that failed,
// and for reasoning models proposes one that serves them.
func TestAPIVersionAdvice(t *testing.T) {
	for _, tc := range []struct {
		name, version, model string
		want, not            []string
	}{
		{"reasoning model on the latest GA", "2024-10-21", "azure-o3",
			[]string{`"2024-10-21"`, "v1 (recommended)", "such as 2025-04-01-preview", "2024-12-01-preview or later"}, []string{"such as 2024-10-21"}},
		{"reasoning model on the latest preview", "2025-04-01-preview", "azure-o3",
			[]string{"v1 (recommended)"}, []string{"such as 2025-04-01-preview"}},
		{"chat model on the latest GA", "2024-10-21", "azure-gpt-4o",
			[]string{"v1 (recommended)", "such as 2025-04-01-preview"}, []string{"such as 2024-10-21", "reasoning"}},
		{"v1 itself refused", "v1", "azure-gpt-4o",
			[]string{`"v1"`, "such as 2024-10-21"}, []string{"v1 (recommended)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"error":{"code":"BadRequest","message":"Model o3 is enabled only for api versions 2024-12-01-preview and later"}}`
			m := newMock(t, func(*http.Request) *http.Response { return jsonResponse(400, body, nil) })
			p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "k", APIVersion: tc.version}, m)
			_, err := p.Generate(context.Background(), hello(lookup(t, tc.model)))
			e := asLLMError(t, err)
			if e.Code != llm.CodeConfiguration {
				t.Errorf("code %q, want configuration", e.Code)
			}
			for _, w := range tc.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message lacks %q:\n%s", w, e.Message)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(e.Message, w) {
					t.Errorf("message has %q:\n%s", w, e.Message)
				}
			}
		})
	}
}

// TestSynchronousCallToBatchDeployment: Azure refuses a chat completion
// sent to a batch deployment with 400 OperationNotSupported (as reported
// in BerriAI/litellm#9122); the error says why, and nothing is priced.
func TestSynchronousCallToBatchDeployment(t *testing.T) {
	body := `{"error":{"code":"OperationNotSupported","message":"The chatCompletion operation does not work with the specified model, gpt-4o. Please choose different model and try again."}}`
	m := newMock(t, func(*http.Request) *http.Response { return jsonResponse(400, body, nil) })
	p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "k", DeploymentType: GlobalBatch}, m)
	_, err := p.Generate(context.Background(), hello(lookup(t, "azure-gpt-4o")))
	e := asLLMError(t, err)
	if e.Code != llm.CodeConfiguration || !strings.Contains(e.Message, "declared a global-batch deployment") ||
		!strings.Contains(e.Message, EnvDeploymentType) {
		t.Errorf("err = %v", err)
	}
	// The same answer for a standard deployment is an ordinary bad request.
	p = newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "k"}, m)
	_, err = p.Generate(context.Background(), hello(lookup(t, "azure-gpt-4o")))
	if e := asLLMError(t, err); e.Code != llm.CodeInvalidRequest {
		t.Errorf("standard deployment: %v", err)
	}
}
