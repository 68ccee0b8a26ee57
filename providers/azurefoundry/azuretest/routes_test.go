package azuretest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuth(t *testing.T) {
	s := NewServer(WithAPIKeys("key1", "key2"), WithBearerTokens("tok"))
	defer s.Close()
	url := classicURL(s, "gpt-4o", "2024-10-21")
	body := userBody("hi", "")

	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
		want   []byte
	}{
		{"api key", map[string]string{"api-key": "key2"}, http.StatusOK, nil},
		{"bearer", map[string]string{"Authorization": "Bearer tok"}, http.StatusOK, nil},
		{"wrong key", map[string]string{"api-key": "nope"}, http.StatusUnauthorized, bodyUnauthorizedKey},
		{"missing", nil, http.StatusUnauthorized, bodyUnauthorizedKey},
		{"wrong token", map[string]string{"Authorization": "Bearer nope"}, http.StatusUnauthorized, bodyUnauthorizedBearer},
		{"key as bearer", map[string]string{"Authorization": "Bearer key1"}, http.StatusUnauthorized, bodyUnauthorizedBearer},
		{"basic scheme", map[string]string{"Authorization": "Basic tok"}, http.StatusUnauthorized, bodyUnauthorizedBearer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, got := do(t, s.Client(), http.MethodPost, url, body, tc.header)
			require.Equal(t, tc.status, resp.StatusCode, "body: %s", got)
			if tc.want != nil {
				assert.JSONEq(t, string(tc.want), string(got))
				assert.Empty(t, resp.Header.Get("x-ms-region"), "the recorded 401 has no region header")
			}
		})
	}

	open := NewServer()
	defer open.Close()
	resp, _ := do(t, open.Client(), http.MethodPost, classicURL(open, "gpt-4o", "2024-10-21"), body, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "no keys configured: no authentication")
}

func TestAPIVersions(t *testing.T) {
	s := NewServer(WithAPIKeys("k"))
	defer s.Close()
	key := map[string]string{"api-key": "k"}
	body := userBody("hi", "")

	resp, got := do(t, s.Client(), http.MethodPost, s.URL+"/openai/deployments/gpt-4o/chat/completions", body, key)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, string(bodyResourceNotFound), string(got), "missing api-version: Azure's 404")

	resp, _ = do(t, s.Client(), http.MethodPost, s.URL+"/openai/deployments/gpt-4o/chat/completions", body, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the route does not match before authentication")

	resp, got = do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2099-01-01"), body, key)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.JSONEq(t, `{"error":{"code":"BadRequest","message":"API version not supported"}}`, string(got))

	for _, v := range []string{"2024-02-01", "2024-06-01", "2024-10-21", "2024-12-01-preview", "2025-01-01-preview", "2025-03-01-preview", "2025-04-01-preview"} {
		resp, got = do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", v), body, key)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", v, got)
	}

	custom := NewServer(WithAPIVersions("2024-10-21"))
	defer custom.Close()
	resp, _ = do(t, custom.Client(), http.MethodPost, classicURL(custom, "gpt-4o", "2024-06-01"), body, nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestV1Route(t *testing.T) {
	s := NewServer(WithBearerTokens("tok"), WithDeployment("my-4o", "gpt-4o-2024-11-20"))
	defer s.Close()
	auth := map[string]string{"Authorization": "Bearer tok"}
	body := `{"model":"my-4o","messages":[{"role":"user","content":"hi"}]}`

	for _, q := range []string{"", "?api-version=v1", "?api-version=preview"} {
		resp, got := do(t, s.Client(), http.MethodPost, s.URL+"/openai/v1/chat/completions"+q, body, auth)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%q: %s", q, got)
		assert.Equal(t, "my-4o", resp.Header.Get("x-ms-deployment-name"))
		c := decodeCompletion(t, got)
		assert.Equal(t, "gpt-4o-2024-11-20", c.Model)
		assert.Equal(t, "Echo: hi", *c.Choices[0].Message.Content)
	}

	resp, got := do(t, s.Client(), http.MethodPost, s.URL+"/openai/v1/chat/completions?api-version=2024-10-21", body, auth)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.JSONEq(t, string(bodyAPIVersionNotSupported), string(got))

	resp, got = do(t, s.Client(), http.MethodPost, s.URL+"/openai/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`, auth)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, string(bodyDeploymentNotFound), string(got))

	resp, got = do(t, s.Client(), http.MethodPost, s.URL+"/openai/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, auth)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(got), `"code":"missing_required_parameter"`)

	resp, _ = do(t, s.Client(), http.MethodPost, s.URL+"/openai/v1/chat/completions", body, nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// OpenAI clients send an API key as a bearer token; v1 accepts that.
	keyed := NewServer(WithAPIKeys("key"))
	defer keyed.Close()
	v1Body := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
	resp, _ = do(t, keyed.Client(), http.MethodPost, keyed.URL+"/openai/v1/chat/completions", v1Body, map[string]string{"Authorization": "Bearer key"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = do(t, keyed.Client(), http.MethodPost, classicURL(keyed, "gpt-4o", "2024-10-21"), userBody("hi", ""), map[string]string{"Authorization": "Bearer key"})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "not on the classic route")
}

func TestDeploymentNameEscaping(t *testing.T) {
	s := NewServer(WithDeployment("my deployment", "gpt-4o-2024-11-20"))
	defer s.Close()
	resp, got := do(t, s.Client(), http.MethodPost, classicURL(s, "my%20deployment", "2024-10-21"), userBody("x", ""), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", got)

	resp, got = do(t, s.Client(), http.MethodPost, classicURL(s, "a%2Fb", "2024-10-21"), userBody("x", ""), nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, string(bodyDeploymentNotFound), string(got))
}

func TestUnknownRoutes(t *testing.T) {
	s := NewServer()
	defer s.Close()
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, "/openai/deployments/gpt-4o/completions?api-version=2024-10-21"},
		{http.MethodGet, "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"},
		{http.MethodPost, "/v1/chat/completions"},
		{http.MethodGet, "/"},
	} {
		resp, got := do(t, s.Client(), tc.method, s.URL+tc.path, "", nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s %s", tc.method, tc.path)
		assert.Equal(t, string(bodyResourceNotFound), string(got))
	}
}

func TestListRoutes(t *testing.T) {
	s := NewServer(WithAPIKeys("k"), WithDeployments(map[string]string{"a": "gpt-4o-2024-11-20", "b": "gpt-4o-2024-11-20", "c": ""}))
	defer s.Close()
	key := map[string]string{"api-key": "k"}

	resp, got := do(t, s.Client(), http.MethodGet, s.URL+"/openai/v1/models", "", key)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var v1 struct {
		Object string
		Data   []struct{ ID, Object, OwnedBy string }
	}
	require.NoError(t, json.Unmarshal(got, &v1))
	assert.Equal(t, "list", v1.Object)
	require.Len(t, v1.Data, 2, "distinct underlying models: %s", got)
	assert.Equal(t, "c", v1.Data[0].ID, "DefaultModel of an unknown name is the name")
	assert.Equal(t, "gpt-4o-2024-11-20", v1.Data[1].ID)

	resp, got = do(t, s.Client(), http.MethodGet, s.URL+"/openai/deployments?api-version=2022-12-01", "", key)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var deps struct {
		Data []struct{ ID, Model, Object, Status string }
	}
	require.NoError(t, json.Unmarshal(got, &deps))
	require.Len(t, deps.Data, 3)
	assert.Equal(t, "a", deps.Data[0].ID)
	assert.Equal(t, "gpt-4o-2024-11-20", deps.Data[0].Model)
	assert.Equal(t, "deployment", deps.Data[0].Object)

	resp, got = do(t, s.Client(), http.MethodGet, s.URL+"/openai/models?api-version=2024-10-21", "", key)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var models struct {
		Data []struct {
			ID           string
			Capabilities map[string]bool
		}
	}
	require.NoError(t, json.Unmarshal(got, &models))
	require.Len(t, models.Data, 2)
	assert.True(t, models.Data[1].Capabilities["chat_completion"])

	resp, _ = do(t, s.Client(), http.MethodGet, s.URL+"/openai/models", "", key)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "classic list without api-version")
	resp, _ = do(t, s.Client(), http.MethodGet, s.URL+"/openai/v1/models", "", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestValidation(t *testing.T) {
	s := NewServer()
	defer s.Close()
	url := classicURL(s, "gpt-4o", "2024-10-21")
	for _, tc := range []struct {
		name, body, want string
	}{
		{"malformed", `{"messages":[`, string(bodyMalformedJSON)},
		{"not json", `hello`, string(bodyMalformedJSON)},
		{"empty messages", `{"messages":[]}`, string(bodyEmptyMessages)},
		{"missing messages", `{}`, `{"error":{"message":"Missing required parameter: 'messages'.","type":"invalid_request_error","param":"messages","code":"missing_required_parameter"}}`},
		{"wrong type", `{"messages":[{"role":"user","content":"x"}],"max_tokens":"ten"}`, `{"error":{"message":"Invalid type for 'max_tokens': expected an integer, but got a string instead.","type":"invalid_request_error","param":"max_tokens","code":"invalid_type"}}`},
		{"zero max_tokens", `{"messages":[{"role":"user","content":"x"}],"max_tokens":0}`, `{"error":{"message":"Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.","type":"invalid_request_error","param":"max_tokens","code":"integer_below_min_value"}}`},
		{"bad content", `{"messages":[{"role":"user","content":5}]}`, `{"error":{"message":"Invalid type for 'messages[0].content': expected a string or an array of content parts.","type":"invalid_request_error","param":"messages[0].content","code":"invalid_type"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, got := do(t, s.Client(), http.MethodPost, url, tc.body, nil)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "body: %s", got)
			assert.JSONEq(t, tc.want, string(got))
		})
	}
}

func TestReasoningDeployments(t *testing.T) {
	s := NewServer(WithDeployments(map[string]string{"o3-mini": "", "gpt-5": "", "r1": "DeepSeek-R1", "4o": "gpt-4o"}))
	defer s.Close()
	for _, p := range []string{"temperature", "top_p", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs", "logit_bias"} {
		value := "0.5"
		switch p {
		case "logprobs":
			value = "true"
		case "top_logprobs":
			value = "2"
		case "logit_bias":
			value = `{"50256":-100}`
		}
		resp, got := do(t, s.Client(), http.MethodPost, classicURL(s, "o3-mini", "2025-01-01-preview"), userBody("x", `"`+p+`":`+value), nil)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, p)
		assert.JSONEq(t, `{"error":{"message":"Unsupported parameter: '`+p+`' is not supported with this model.","type":"invalid_request_error","param":"`+p+`","code":"unsupported_parameter"}}`, string(got))
	}
	// null means absent.
	resp, got := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-5", "2025-01-01-preview"), userBody("x", `"temperature":null,"max_completion_tokens":1000,"reasoning_effort":"high"`), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", got)
	c := decodeCompletion(t, got)
	assert.Equal(t, 256, c.Usage.CompletionTokensDetails.ReasoningTokens)
	assert.Equal(t, 256+CountTokens("Echo: x"), c.Usage.CompletionTokens)

	resp, _ = do(t, s.Client(), http.MethodPost, classicURL(s, "r1", "2025-01-01-preview"), userBody("x", `"max_tokens":5`), nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "DeepSeek-R1 behaves as a reasoning model")

	resp, got = do(t, s.Client(), http.MethodPost, classicURL(s, "o3-mini", "2024-10-21"), userBody("x", ""), nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.JSONEq(t, string(bodyReasoningAPIVersion), string(got))

	resp, got = do(t, s.Client(), http.MethodPost, classicURL(s, "4o", "2024-10-21"), userBody("x", `"max_tokens":5,"temperature":0`), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", got)
	assert.Zero(t, decodeCompletion(t, got).Usage.CompletionTokensDetails.ReasoningTokens)
}
