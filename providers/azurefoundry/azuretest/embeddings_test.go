package azuretest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type embeddingsDoc struct {
	Object string `json:"object"`
	Model  string `json:"model"`
	Data   []struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

func (d embeddingsDoc) vector(t *testing.T, i int) []float32 {
	t.Helper()
	var v []float32
	if json.Unmarshal(d.Data[i].Embedding, &v) == nil {
		return v
	}
	var s string
	require.NoError(t, json.Unmarshal(d.Data[i].Embedding, &s))
	raw, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	for len(raw) >= 4 {
		v = append(v, math.Float32frombits(binary.LittleEndian.Uint32(raw)))
		raw = raw[4:]
	}
	return v
}

func TestEmbeddings(t *testing.T) {
	many := make([]string, MaxEmbeddingInputs+1)
	for i := range many {
		many[i] = "x"
	}
	tooMany, _ := json.Marshal(many)
	for _, f := range apiFamilies {
		t.Run(f.name, func(t *testing.T) {
			s := batchServer(t, WithDeployment("text-embedding-3-large", ""), WithDeployment("text-embedding-ada-002", ""))
			for _, tc := range []struct {
				name, deployment, body string // body without "model"
				status                 int
				code, message          string
				check                  func(t *testing.T, d embeddingsDoc)
			}{
				{name: "string", deployment: "text-embedding-3-small", body: `"input":"hello world"`, status: 200, check: func(t *testing.T, d embeddingsDoc) {
					require.Len(t, d.Data, 1)
					v := d.vector(t, 0)
					assert.Len(t, v, 1536)
					assert.Equal(t, Embedding("text-embedding-3-small", "hello world", 0), v)
					assert.Equal(t, CountTokens("hello world"), d.Usage.PromptTokens)
					assert.Equal(t, d.Usage.PromptTokens, d.Usage.TotalTokens)
					assert.Equal(t, "text-embedding-3-small", d.Model)
					assert.Equal(t, "list", d.Object)
					assert.Equal(t, "embedding", d.Data[0].Object)
				}},
				{name: "array", deployment: "text-embedding-3-large", body: `"input":["a","bb","a"]`, status: 200, check: func(t *testing.T, d embeddingsDoc) {
					require.Len(t, d.Data, 3)
					assert.Len(t, d.vector(t, 1), 3072)
					assert.Equal(t, 2, d.Data[2].Index)
					assert.Equal(t, d.vector(t, 0), d.vector(t, 2), "same text, same vector")
					assert.NotEqual(t, d.vector(t, 0), d.vector(t, 1))
				}},
				{name: "token array", deployment: "text-embedding-3-small", body: `"input":[1,2,3]`, status: 200, check: func(t *testing.T, d embeddingsDoc) {
					require.Len(t, d.Data, 1)
					assert.Equal(t, 3, d.Usage.PromptTokens)
				}},
				{name: "token arrays", deployment: "text-embedding-3-small", body: `"input":[[1,2],[3]]`, status: 200, check: func(t *testing.T, d embeddingsDoc) {
					assert.Len(t, d.Data, 2)
					assert.Equal(t, 3, d.Usage.PromptTokens)
				}},
				{name: "dimensions", deployment: "text-embedding-3-large", body: `"input":"x","dimensions":256`, status: 200, check: func(t *testing.T, d embeddingsDoc) {
					v := d.vector(t, 0)
					assert.Len(t, v, 256)
					full := Embedding("text-embedding-3-large", "x", 0)
					ratio := float64(v[0] / full[0])
					assert.InDelta(t, ratio, float64(v[255]/full[255]), 1e-4, "a truncated, renormalised native vector")
				}},
				{name: "base64", deployment: "text-embedding-3-small", body: `"input":"x","encoding_format":"base64"`, status: 200, check: func(t *testing.T, d embeddingsDoc) {
					assert.Equal(t, Embedding("text-embedding-3-small", "x", 0), d.vector(t, 0))
				}},
				{name: "ada", deployment: "text-embedding-ada-002", body: `"input":"x","encoding_format":"float"`, status: 200, check: func(t *testing.T, d embeddingsDoc) {
					assert.Len(t, d.vector(t, 0), 1536)
				}},
				{name: "ada dimensions", deployment: "text-embedding-ada-002", body: `"input":"x","dimensions":256`, status: 400, message: "This model does not support specifying dimensions."},
				{name: "dimensions too large", deployment: "text-embedding-3-small", body: `"input":"x","dimensions":1537`, status: 400, code: "integer_above_max_value"},
				{name: "dimensions zero", deployment: "text-embedding-3-small", body: `"input":"x","dimensions":0`, status: 400, code: "integer_below_min_value"},
				{name: "encoding format", deployment: "text-embedding-3-small", body: `"input":"x","encoding_format":"int8"`, status: 400, code: "invalid_value"},
				{name: "too many inputs", deployment: "text-embedding-3-small", body: `"input":` + string(tooMany), status: 400, message: "Too many inputs. The max number of inputs is 2048."},
				{name: "input too long", deployment: "text-embedding-3-small", body: `"input":"` + strings.Repeat("abcd", MaxEmbeddingInputTokens+1) + `"`, status: 400, message: "maximum context length is 8192 tokens, however you requested 8193 tokens"},
				{name: "empty input", deployment: "text-embedding-3-small", body: `"input":""`, status: 400, message: "'$.input' is invalid."},
				{name: "empty array", deployment: "text-embedding-3-small", body: `"input":[]`, status: 400, message: "'$.input' is invalid."},
				{name: "input object", deployment: "text-embedding-3-small", body: `"input":{"a":1}`, status: 400, message: "'$.input' is invalid."},
				{name: "no input", deployment: "text-embedding-3-small", body: `"user":"u"`, status: 400, code: "missing_required_parameter"},
				{name: "chat deployment", deployment: "gpt-4o", body: `"input":"x"`, status: 400, code: "OperationNotSupported", message: "The embeddings operation does not work with the specified model, gpt-4o."},
				{name: "unknown deployment", deployment: "nope", body: `"input":"x"`, status: 404, code: "DeploymentNotFound"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					body := "{" + tc.body + "}"
					if f.name == "v1" {
						body = `{"model":"` + tc.deployment + `",` + tc.body + "}"
					}
					resp, raw := do(t, s.Client(), http.MethodPost, embeddingsURL(f, s, tc.deployment), body, nil)
					require.Equal(t, tc.status, resp.StatusCode, "body: %.300s", raw)
					if tc.status != 200 {
						if tc.code != "" {
							assert.Equal(t, tc.code, errorCode(t, raw))
						}
						assert.Contains(t, errorMessage(t, raw), tc.message)
						return
					}
					var d embeddingsDoc
					require.NoError(t, json.Unmarshal(raw, &d))
					tc.check(t, d)
					last, ok := s.LastRequest()
					require.True(t, ok)
					assert.Equal(t, "embeddings", last.Operation)
					assert.Equal(t, tc.deployment, last.Deployment)
				})
			}
		})
	}
}

func TestEmbeddingVectors(t *testing.T) {
	for _, dims := range []int{0, 1, 256, 1536, 5000} {
		v := Embedding("text-embedding-3-small", "some text", dims)
		var norm float64
		for _, x := range v {
			norm += float64(x) * float64(x)
		}
		assert.InDelta(t, 1, norm, 1e-5, "unit norm at %d dimensions", dims)
	}
	assert.Len(t, Embedding("text-embedding-3-small", "x", 5000), 1536, "capped at the native size")
	assert.Equal(t, 3072, EmbeddingDimensions("text-embedding-3-large"))
	assert.Equal(t, 1536, EmbeddingDimensions("text-embedding-ada-002"))
}

func TestEmbeddingsQuotaAndFaults(t *testing.T) {
	s := batchServer(t, WithRateLimit("text-embedding-3-small", 600, 10))
	url := embeddingsURL(apiFamilies[1], s, "text-embedding-3-small")
	resp, _ := do(t, s.Client(), http.MethodPost, url, `{"input":"`+strings.Repeat("x", 400)+`"}`, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, body := do(t, s.Client(), http.MethodPost, url, `{"input":"x"}`, nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	// BerriAI-style reports: "Requests to the Embeddings_Create Operation under Azure OpenAI API version ..."
	assert.Contains(t, errorMessage(t, body), "Requests to the Embeddings_Create Operation under Azure OpenAI API version "+classicAPIVersion+" have exceeded token rate limit")
	s.SetFaults(Faults{Rate503: 1})
	require.NoError(t, s.SetRateLimit("text-embedding-3-small", 0, 0))
	resp, _ = do(t, s.Client(), http.MethodPost, url, `{"input":"x"}`, nil)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

func TestChatOnEmbeddingDeployment(t *testing.T) {
	s := batchServer(t)
	resp, body := do(t, s.Client(), http.MethodPost, classicURL(s, "text-embedding-3-small", "2024-10-21"), userBody("hi", ""), nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "The chatCompletion operation does not work with the specified model, text-embedding-3-small. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.", errorMessage(t, body))
	_, body = do(t, s.Client(), http.MethodGet, s.URL+"/openai/models?api-version=2024-10-21", "", nil)
	var models struct {
		Data []struct {
			ID           string
			Capabilities map[string]bool
		}
	}
	require.NoError(t, json.Unmarshal(body, &models))
	for _, m := range models.Data {
		assert.Equal(t, IsEmbeddingModel(m.ID), m.Capabilities["embeddings"], m.ID)
		assert.Equal(t, !IsEmbeddingModel(m.ID), m.Capabilities["chat_completion"], m.ID)
	}
}

func TestBaseModelName(t *testing.T) {
	for in, want := range map[string]string{
		"gpt-4o-2024-11-20":      "gpt-4o",
		"gpt-35-turbo-0125":      "gpt-35-turbo",
		"o3-mini":                "o3-mini",
		"text-embedding-3-small": "text-embedding-3-small",
		"gpt-4-0613":             "gpt-4",
		"DeepSeek-R1":            "DeepSeek-R1",
	} {
		assert.Equal(t, want, baseModelName(in), in)
	}
}

// TestAPIAuthentication: on every v1 route the API key is accepted as a
// bearer token, as Azure does (Microsoft's v1 samples use the OpenAI client,
// which sends it so); the classic routes take it only in api-key.
func TestAPIAuthentication(t *testing.T) {
	const key, token = "the-key", "entra-token"
	s := batchServer(t, WithAPIKeys(key), WithBearerTokens(token))
	for _, tc := range []struct {
		method, url, body string
	}{
		{http.MethodGet, s.URL + "/openai/v1/models", ""},
		{http.MethodGet, s.URL + "/openai/v1/files", ""},
		{http.MethodGet, s.URL + "/openai/v1/batches", ""},
		{http.MethodPost, s.URL + "/openai/v1/responses", `{"model":"gpt-4o","input":"x"}`},
		{http.MethodPost, s.URL + "/openai/v1/embeddings", `{"model":"text-embedding-3-small","input":"x"}`},
		{http.MethodPost, s.URL + "/openai/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}]}`},
	} {
		for _, auth := range []map[string]string{{"api-key": key}, {"Authorization": "Bearer " + key}, {"Authorization": "Bearer " + token}} {
			resp, body := do(t, s.Client(), tc.method, tc.url, tc.body, auth)
			assert.Equal(t, http.StatusOK, resp.StatusCode, "%s %v: %s", tc.url, auth, body)
		}
		resp, _ := do(t, s.Client(), tc.method, tc.url, tc.body, map[string]string{"Authorization": "Bearer wrong"})
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, tc.url)
		resp, _ = do(t, s.Client(), tc.method, tc.url, tc.body, nil)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, tc.url)
	}
	for _, u := range []string{
		classicAPIURL(s, "files", classicAPIVersion),
		classicAPIURL(s, "batches", classicAPIVersion),
		classicAPIURL(s, "models", classicAPIVersion),
	} {
		resp, body := do(t, s.Client(), http.MethodGet, u, "", map[string]string{"Authorization": "Bearer " + key})
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s: a key is not a bearer token on classic routes: %s", u, body)
		resp, _ = do(t, s.Client(), http.MethodGet, u, "", map[string]string{"Authorization": "Bearer " + token})
		assert.Equal(t, http.StatusOK, resp.StatusCode, u)
		resp, _ = do(t, s.Client(), http.MethodGet, u, "", map[string]string{"api-key": key})
		assert.Equal(t, http.StatusOK, resp.StatusCode, u)
	}
}

func TestAPIRoutingEdges(t *testing.T) {
	s := batchServer(t)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/openai/v1/embeddings", 404},
		{http.MethodPost, "/openai/v1/files/file-x", 404},
		{http.MethodGet, "/openai/v1/batches/b/cancel", 404},
		{http.MethodGet, "/openai/v1/responses", 404},
		{http.MethodPut, "/openai/v1/responses/r", 404},
		{http.MethodGet, "/openai/v1/files/a/b/c", 404},
		{http.MethodPost, "/openai/embeddings?api-version=2024-10-21", 404},
		{http.MethodPost, "/openai/deployments/nope/embeddings?api-version=2024-10-21", 404},
		{http.MethodPost, "/openai/deployments//embeddings?api-version=2024-10-21", 404},
		{http.MethodGet, "/openai/v1/files?api-version=2024-10-21", 400},
	} {
		resp, body := do(t, s.Client(), tc.method, s.URL+tc.path, "", nil)
		assert.Equal(t, tc.status, resp.StatusCode, "%s %s: %s", tc.method, tc.path, body)
	}
}
