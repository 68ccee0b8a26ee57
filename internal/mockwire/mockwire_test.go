package mockwire

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTransportRecordsAndReplies(t *testing.T) {
	tr := New(Reply(http.StatusTooManyRequests, `{"error":{}}`, map[string]string{"Retry-After": "2"}))
	req, err := http.NewRequest(http.MethodPost, "https://example.test/v1/x%2Fy?api-version=v1", strings.NewReader(`{"model":"m"}`))
	require.NoError(t, err)
	req.Header.Set("api-key", "k")
	resp, err := tr.Client().Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "2", resp.Header.Get("Retry-After"))
	assert.JSONEq(t, `{"error":{}}`, string(body))

	require.Equal(t, 1, tr.Count())
	r := tr.Last(t)
	assert.Equal(t, http.MethodPost, r.Method)
	assert.Equal(t, "https://example.test/v1/x%2Fy?api-version=v1", r.URL)
	assert.Equal(t, "/v1/x%2Fy", r.Path)
	assert.Equal(t, "api-version=v1", r.Query)
	assert.Equal(t, "k", r.Header.Get("api-key"))
	assert.Equal(t, `{"model":"m"}`, string(r.Raw))
	assert.Equal(t, map[string]any{"model": "m"}, r.Body)
}

func TestResponseContentTypeOverride(t *testing.T) {
	resp := Response(http.StatusOK, "data: x\n\n", map[string]string{"Content-Type": "text/event-stream"})
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
}
