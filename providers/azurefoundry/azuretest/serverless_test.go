package azuretest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func serverlessServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s := NewServer(append([]Option{WithServerless("mistral-large-2411"), WithAPIKeys("key-1")}, opts...)...)
	t.Cleanup(s.Close)
	return s
}

func TestServerlessMatchesRecording(t *testing.T) {
	rec := readRecording(t, "modelinference_serverless_mistral_chat_extra_params.recording.json")
	s := serverlessServer(t)
	// The recorded request, on the recorded path and query.
	path := rec.RequestURI[strings.Index(rec.RequestURI, ".com/")+len(".com"):]
	resp, body := do(t, s.Client(), http.MethodPost, s.URL+path, string(rec.RequestBody), map[string]string{"api-key": "key-1"})
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.NotEmpty(t, resp.Header.Get("x-request-id"))
	requireSameShape(t, rec.ResponseBody, body, nil, []string{"choices[].message.tool_calls"})
	c := decodeCompletion(t, body)
	assert.Equal(t, "mistral-large-2411", c.Model)
	assert.Equal(t, ExpectedReply("How many feet are in a mile?"), *c.Choices[0].Message.Content)
	assert.Empty(t, c.Choices[0].ContentFilterResults, "serverless bodies carry no annotations")

	got, ok := s.LastRequest()
	require.True(t, ok)
	assert.Equal(t, "mistral-large-2411", got.Deployment)
	assert.Equal(t, "2024-05-01-preview", got.APIVersion)
	s.Close() // Stats is final once Close returns
	assert.Equal(t, 1, s.Stats().ByDeployment["mistral-large-2411"])
}

func TestServerlessStreamMatchesRecording(t *testing.T) {
	// The excerpt marks its omitted middle with an SSE comment line.
	var lines []string
	for _, l := range strings.Split(string(readFixture(t, "modelinference_serverless_mistral_stream.excerpt.sse")), "\n") {
		if !strings.HasPrefix(l, ":") {
			lines = append(lines, l)
		}
	}
	want := sseEvents(t, []byte(strings.Join(lines, "\n")))
	s := serverlessServer(t)
	resp, raw := do(t, s.Client(), http.MethodPost, s.URL+ServerlessPath,
		`{"messages":[{"role":"user","content":"Give me three reasons"}],"stream":true}`, map[string]string{"Authorization": "Bearer key-1"})
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", raw)
	assert.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	got := sseEvents(t, raw)
	require.GreaterOrEqual(t, len(got), 4)
	requireSameShape(t, []byte(want[0]), []byte(got[0]), nil, nil)                    // role chunk, no prompt-annotation event
	requireSameShape(t, []byte(want[1]), []byte(got[1]), nil, nil)                    // content chunk
	requireSameShape(t, []byte(want[len(want)-2]), []byte(got[len(got)-2]), nil, nil) // finish chunk with usage
	assert.Equal(t, "[DONE]", got[len(got)-1])
}

func TestServerlessUnauthorizedMatchesRecording(t *testing.T) {
	rec := readRecording(t, "modelinference_serverless_error_401.recording.json")
	s := serverlessServer(t)
	resp, body := do(t, s.Client(), http.MethodPost, s.URL+ServerlessPath+"?api-version=2024-05-01-preview", string(rec.RequestBody), map[string]string{"api-key": "wrong"})
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.JSONEq(t, string(rec.ResponseBody), string(body))
	assert.Equal(t, rec.ResponseHeaders["x-ms-error-reason"], resp.Header.Get("x-ms-error-reason"))
}

func TestServerlessRouteOnlyInServerlessMode(t *testing.T) {
	s := NewServer()
	defer s.Close()
	resp, _ := do(t, s.Client(), http.MethodPost, s.URL+ServerlessPath, userBody("hi", ""), nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// A serverless endpoint is no Foundry resource: none of its answers, the
// refusals of the shared steps included, names a resource region.
func TestServerlessErrorsCarryNoRegion(t *testing.T) {
	s := serverlessServer(t, WithRateLimit("mistral-large-2411", 1, 0))
	hdr := map[string]string{"api-key": "key-1"}
	resp, body := do(t, s.Client(), http.MethodPost, s.URL+ServerlessPath, userBody("hi", ""), hdr)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
	assert.Empty(t, resp.Header.Get("x-ms-region"))

	resp, body = do(t, s.Client(), http.MethodPost, s.URL+ServerlessPath, userBody("hi", ""), hdr)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "body: %s", body)
	assert.NotEmpty(t, resp.Header.Get("retry-after-ms"))
	assert.Empty(t, resp.Header.Get("x-ms-region"))

	resp, body = do(t, s.Client(), http.MethodPost, s.URL+ServerlessPath, `{"messages":`, hdr)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "body: %s", body)
	assert.Empty(t, resp.Header.Get("x-ms-region"))
}
