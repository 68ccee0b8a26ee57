// Package mockwire is the transport-level test double of the provider
// packages: an httpmock transport that answers every request with the
// response a function builds and records what reached it, so that a test
// checks the wire a provider wrote (method, URL, headers, body) and feeds it
// the reply to parse. End-to-end tests use the emulator instead
// (providers/azurefoundry/azuretest).
package mockwire

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/jarcoal/httpmock"
)

// Request is one request as it reached the transport.
type Request struct {
	Method string
	URL    string // as sent: escaped path and query
	Path   string // escaped path
	Query  string // raw query
	Header http.Header
	Raw    []byte         // the body as sent
	Body   map[string]any // Raw decoded; nil when it is not a JSON object
}

// Transport answers every request with the response of its reply function
// and records it. It is safe for concurrent use.
type Transport struct {
	mt    *httpmock.MockTransport
	reply func(*http.Request) *http.Response

	mu   sync.Mutex
	reqs []Request
}

// New returns a transport answering with reply's responses.
func New(reply func(*http.Request) *http.Response) *Transport {
	t := &Transport{mt: httpmock.NewMockTransport(), reply: reply}
	t.mt.RegisterNoResponder(t.respond)
	return t
}

func (t *Transport) respond(req *http.Request) (*http.Response, error) {
	r := Request{Method: req.Method, URL: req.URL.String(), Path: req.URL.EscapedPath(),
		Query: req.URL.RawQuery, Header: req.Header.Clone()}
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		r.Raw = b
		_ = json.Unmarshal(b, &r.Body)
	}
	t.mu.Lock()
	t.reqs = append(t.reqs, r)
	t.mu.Unlock()
	resp := t.reply(req)
	resp.Request = req
	return resp, nil
}

// Client returns an HTTP client sending through the transport.
func (t *Transport) Client() *http.Client { return &http.Client{Transport: t.mt} }

// Last returns the newest request, failing tb when there is none.
func (t *Transport) Last(tb testing.TB) Request {
	tb.Helper()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.reqs) == 0 {
		tb.Fatal("mockwire: no request reached the transport")
	}
	return t.reqs[len(t.reqs)-1]
}

// Count returns how many requests reached the transport.
func (t *Transport) Count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.reqs)
}

// Response builds a response of status with body and header; its
// Content-Type is application/json unless header sets one.
func Response(status int, body string, header map[string]string) *http.Response {
	resp := httpmock.NewStringResponse(status, body)
	resp.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		resp.Header.Set(k, v)
	}
	return resp
}

// Reply is a reply function answering every request with Response(status,
// body, header).
func Reply(status int, body string, header map[string]string) func(*http.Request) *http.Response {
	return func(*http.Request) *http.Response { return Response(status, body, header) }
}
