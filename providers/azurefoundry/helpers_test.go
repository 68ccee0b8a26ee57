package azurefoundry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/jarcoal/httpmock"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/clocktest"
	"github.com/deluge-go/deluge/internal/fixture"
	"github.com/deluge-go/deluge/internal/mockwire"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// testEndpoint is a syntactically valid Azure endpoint served by httpmock.
const testEndpoint = "https://my-resource.openai.azure.com"

// quietLogger drops the provider's log lines in tests.
var quietLogger = slog.New(slog.DiscardHandler)

// mockAzure answers every request with the response a reply function
// builds, and records what it received.
type mockAzure = mockwire.Transport

func newMock(t *testing.T, reply func(req *http.Request) *http.Response) *mockAzure {
	t.Helper()
	return mockwire.New(reply)
}

// jsonResponse builds a response with a JSON body and Azure-like headers.
func jsonResponse(status int, body string, header map[string]string) *http.Response {
	return mockwire.Response(status, body, header)
}

// okBody is a minimal Azure chat completion.
const okBody = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-2024-11-20",
"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Hi!"}}],
"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}`

func okReply(*http.Request) *http.Response {
	return jsonResponse(200, okBody, map[string]string{"apim-request-id": "req-1", "x-ms-region": "Sweden Central"})
}

// newTestProvider builds a provider over the mock, failing the test on a
// configuration error.
func newTestProvider(t *testing.T, cfg Config, m *mockAzure) *Provider {
	t.Helper()
	if m != nil {
		cfg.HTTPClient = m.Client()
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func lookup(t *testing.T, id string) registry.Model {
	t.Helper()
	m, err := registry.Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func hello(m registry.Model) *llm.Request {
	return &llm.Request{Model: m, Messages: conversation.New().User("Hello!").Messages()}
}

// asLLMError fails the test unless err is an *llm.Error.
func asLLMError(t *testing.T, err error) *llm.Error {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got nil")
	}
	e, ok := err.(*llm.Error)
	if !ok {
		t.Fatalf("error is %T, want *llm.Error: %v", err, err)
	}
	return e
}

// fakeClock is a manually advanced clock.
type fakeClock = clocktest.Clock

func newFakeClock() *fakeClock { return clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

// fakeCredential hands out tokens "tok-1", "tok-2", … each valid for life
// from the clock's current time.
type fakeCredential struct {
	clock  *fakeClock
	life   time.Duration
	calls  atomic.Int32
	scopes atomic.Value // []string of the last call
	fail   atomic.Bool
	// gate, when set, blocks GetToken until closed (to test single-flight).
	gate chan struct{}
}

var _ azcore.TokenCredential = (*fakeCredential)(nil)

func (c *fakeCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return azcore.AccessToken{}, ctx.Err()
		}
	}
	n := c.calls.Add(1)
	c.scopes.Store(opts.Scopes)
	if c.fail.Load() {
		return azcore.AccessToken{}, errFakeCredential
	}
	return azcore.AccessToken{Token: "tok-" + strconv.Itoa(int(n)), ExpiresOn: c.clock.Now().Add(c.life)}, nil
}

var errFakeCredential = &credentialError{"AzureCLICredential: please run 'az login' to set up an account"}

type credentialError struct{ msg string }

func (e *credentialError) Error() string { return e.msg }

// fixturesDir is the repository's fixtures/azure (or DELUGE_AZURE_FIXTURES).
func fixturesDir(t *testing.T) string {
	t.Helper()
	dir, err := fixture.AzureDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	return fixture.Azure(t, name)
}

// recording is one recorded exchange (see package internal/fixture).
type recording = fixture.Recording

func readRecording(t *testing.T, name string) recording { return fixture.AzureRecording(t, name) }

// recordedResponse replays a recording's status, headers and body.
func recordedResponse(rec recording) func(*http.Request) *http.Response {
	return func(*http.Request) *http.Response {
		body := []byte(rec.ResponseBody)
		var s string
		if json.Unmarshal(body, &s) == nil {
			body = []byte(s) // a body recorded as a JSON string
		}
		resp := httpmock.NewBytesResponse(rec.StatusCode, body)
		for k, v := range rec.ResponseHeaders {
			if strings.EqualFold(k, "Content-Length") {
				continue
			}
			resp.Header.Set(k, v)
		}
		return resp
	}
}

// sseResponse replays an SSE body with the given headers.
func sseResponse(status int, body []byte, header map[string]string) func(*http.Request) *http.Response {
	return func(*http.Request) *http.Response {
		resp := httpmock.NewBytesResponse(status, bytes.Clone(body))
		for k, v := range header {
			if strings.EqualFold(k, "Content-Length") {
				continue
			}
			resp.Header.Set(k, v)
		}
		if resp.Header.Get("Content-Type") == "" {
			resp.Header.Set("Content-Type", "text/event-stream")
		}
		return resp
	}
}

// collect drains a stream into its chunks and final error.
func collect(seq func(func(*llm.Chunk, error) bool)) (chunks []*llm.Chunk, text string, err error) {
	var b strings.Builder
	for c, e := range seq {
		if e != nil {
			err = e
			break
		}
		chunks = append(chunks, c)
		b.WriteString(c.Text)
	}
	return chunks, b.String(), err
}
