package anthropic_test

import (
	"maps"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/internal/mockwire"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/registry"
)

const testKey = "sk-ant-test-0123456789abcdef"

// mockAPI answers every request with a reply function's response and
// records what it received.
type mockAPI = mockwire.Transport

func newMock(t *testing.T, reply func(*http.Request) *http.Response) *mockAPI {
	t.Helper()
	return mockwire.New(reply)
}

// respond answers with a JSON body.
func respond(status int, body string, header map[string]string) func(*http.Request) *http.Response {
	return mockwire.Reply(status, body, header)
}

// respondSSE answers 200 with an event stream.
func respondSSE(body string, header map[string]string) func(*http.Request) *http.Response {
	h := map[string]string{"Content-Type": "text/event-stream; charset=utf-8"}
	maps.Copy(h, header)
	return mockwire.Reply(http.StatusOK, body, h)
}

// okBody is a minimal Messages API reply.
const okBody = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
"content":[{"type":"text","text":"Hi!"}],"stop_reason":"end_turn","stop_sequence":null,
"usage":{"input_tokens":10,"output_tokens":2}}`

func newProvider(t *testing.T, m *mockAPI) *anthropic.Provider {
	t.Helper()
	p, err := anthropic.New(anthropic.Config{APIKey: testKey, HTTPClient: m.Client()})
	require.NoError(t, err)
	return p
}

func model(t *testing.T, id string) registry.Model {
	t.Helper()
	m, err := registry.Lookup(id)
	require.NoError(t, err)
	return m
}
