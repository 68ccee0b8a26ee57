package anthropic_test

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/registry"
)

const testKey = "sk-ant-test-0123456789abcdef"

// captured is one request as it reached the transport.
type captured struct {
	Method string
	URL    string
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// mockAPI is an httpmock transport answering every request with reply's
// response and recording what it received.
type mockAPI struct {
	mt    *httpmock.MockTransport
	mu    sync.Mutex
	reqs  []captured
	reply func(req *http.Request) *http.Response
}

func newMock(t *testing.T, reply func(*http.Request) *http.Response) *mockAPI {
	t.Helper()
	m := &mockAPI{mt: httpmock.NewMockTransport(), reply: reply}
	m.mt.RegisterNoResponder(func(req *http.Request) (*http.Response, error) {
		c := captured{Method: req.Method, URL: req.URL.String(), Header: req.Header.Clone()}
		if req.Body != nil {
			b, err := io.ReadAll(req.Body)
			if err != nil {
				return nil, err
			}
			c.Raw = b
			_ = json.Unmarshal(b, &c.Body)
		}
		m.mu.Lock()
		m.reqs = append(m.reqs, c)
		m.mu.Unlock()
		resp := m.reply(req)
		resp.Request = req
		return resp, nil
	})
	return m
}

func (m *mockAPI) client() *http.Client { return &http.Client{Transport: m.mt} }

func (m *mockAPI) last(t *testing.T) captured {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	require.NotEmpty(t, m.reqs, "no request reached the transport")
	return m.reqs[len(m.reqs)-1]
}

func (m *mockAPI) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.reqs)
}

func respond(status int, body string, header map[string]string) func(*http.Request) *http.Response {
	return func(*http.Request) *http.Response {
		resp := httpmock.NewStringResponse(status, body)
		resp.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			resp.Header.Set(k, v)
		}
		return resp
	}
}

func respondSSE(body string, header map[string]string) func(*http.Request) *http.Response {
	return func(*http.Request) *http.Response {
		resp := httpmock.NewStringResponse(200, body)
		resp.Header.Set("Content-Type", "text/event-stream; charset=utf-8")
		for k, v := range header {
			resp.Header.Set(k, v)
		}
		return resp
	}
}

// okBody is a minimal Messages API reply.
const okBody = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
"content":[{"type":"text","text":"Hi!"}],"stop_reason":"end_turn","stop_sequence":null,
"usage":{"input_tokens":10,"output_tokens":2}}`

func newProvider(t *testing.T, m *mockAPI) *anthropic.Provider {
	t.Helper()
	p, err := anthropic.New(anthropic.Config{APIKey: testKey, HTTPClient: m.client()})
	require.NoError(t, err)
	return p
}

func model(t *testing.T, id string) registry.Model {
	t.Helper()
	m, err := registry.Lookup(id)
	require.NoError(t, err)
	return m
}
