package httpguard

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
)

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.9.9.9": true, "::1": true, "::ffff:127.0.0.1": true,
		"evil.localhost": false, "localhost.": false, "10.0.0.1": false, "example.com": false, "": false, "0.0.0.0": false,
	} {
		assert.Equal(t, want, IsLoopback(host), host)
	}
}

func TestCheckRedirect(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPost, "https://a.example.com/v1/x?key=k", nil)
	resp := &http.Response{StatusCode: 302, Header: http.Header{"Location": {"http://evil.example.net/steal?key=secret"}}}
	e := CheckRedirect(req, resp)
	require.NotNil(t, e)
	assert.ErrorIs(t, e, ErrRedirect)
	assert.Equal(t, 302, e.Status)
	assert.Equal(t, "http://evil.example.net/steal", e.Location, "no query: a server could echo a secret there")
	assert.NotContains(t, e.Message(), "secret")

	ok := &http.Response{StatusCode: 200, Request: req}
	assert.Nil(t, CheckRedirect(req, ok))
	moved, _ := http.NewRequest(http.MethodGet, "https://b.example.com/v1/x", nil)
	followed := &http.Response{StatusCode: 200, Request: moved}
	e = CheckRedirect(req, followed)
	require.NotNil(t, e, "a reply reached through a redirect to another origin is refused")
	assert.True(t, e.Followed)

	c := RefuseRedirects(&http.Client{Timeout: time.Second})
	assert.Equal(t, time.Second, c.Timeout)
	assert.ErrorIs(t, c.CheckRedirect(nil, nil), http.ErrUseLastResponse)
	assert.NotNil(t, RefuseRedirects(nil).Transport)
	assert.Equal(t, "https://h/p", ShowURL(&url.URL{Scheme: "https", Host: "h", Path: "/p", User: url.User("u"), RawQuery: "q"}))
}

func TestReadBody(t *testing.T) {
	var buf bytes.Buffer
	body := strings.Repeat("x", 3<<20)
	for _, size := range []int64{-1, int64(len(body))} {
		got, err := ReadBody(&buf, strings.NewReader(body), size, 4<<20)
		require.NoError(t, err)
		assert.Equal(t, len(body), len(got))
		_, err = ReadBody(&buf, strings.NewReader(body), size, 1<<20)
		var tl *TooLargeError
		require.ErrorAs(t, err, &tl, "size %d", size)
		assert.ErrorIs(t, err, ErrResponseTooLarge)
	}
	got, err := ReadBody(&buf, strings.NewReader("small"), 5, 100)
	require.NoError(t, err)
	assert.Equal(t, "small", string(got))
	// A body longer than its Content-Length.
	_, err = ReadBody(&buf, strings.NewReader(body), 2<<20, 4<<20)
	assert.ErrorIs(t, err, ErrResponseTooLarge)

	eb, cut, err := ReadErrorBody(&buf, strings.NewReader(strings.Repeat("e", MaxErrorBody+10)), DefaultMaxResponseBytes)
	require.NoError(t, err)
	assert.True(t, cut)
	assert.Len(t, eb, MaxErrorBody)
	_, _, err = ReadErrorBody(&buf, io.MultiReader(strings.NewReader("a"), errReader{}), 100)
	assert.Error(t, err)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("reset") }

func TestRetryAfter(t *testing.T) {
	for h, want := range map[[2]string]time.Duration{
		{"Retry-After-Ms", "1500"}:  1500 * time.Millisecond,
		{"Retry-After-Ms", "1e300"}: MaxRetryAfter,
		{"Retry-After-Ms", "-5"}:    0,
		{"Retry-After-Ms", "NaN"}:   0,
		{"Retry-After", "2"}:        2 * time.Second,
		{"Retry-After", "1e30"}:     MaxRetryAfter,
		{"Retry-After", "+Inf"}:     0,
		{"Retry-After", "soon"}:     0,
	} {
		assert.Equal(t, want, RetryAfter(http.Header{h[0]: {h[1]}}), "%v", h)
	}
	assert.Zero(t, RetryAfter(nil))
}

func TestSecrets(t *testing.T) {
	s := Secrets(nil).Add("sk-secret-1", "k", "sk-secret-1", "")
	assert.Equal(t, Secrets{"sk-secret-1"}, s, "short and repeated values are dropped")
	e := &llm.Error{Message: "bad key sk-secret-1\x1b[2J", RequestID: "id-sk-secret-1",
		Header: http.Header{"X-Sk-Secret-1": {"sk-secret-1"}}, Err: errors.New("wrapped sk-secret-1")}
	s.Error(e)
	assert.NotContains(t, e.Error(), "sk-secret-1")
	assert.NotContains(t, e.Message, "\x1b")
	assert.NotContains(t, e.Err.Error(), "sk-secret-1")
	for k, vs := range e.Header {
		assert.NotContains(t, strings.ToLower(k), "sk-secret-1")
		assert.NotContains(t, vs[0], "sk-secret-1")
	}
	r := &llm.Response{Completion: "sk-secret-1", RequestID: strings.Repeat("r", 1000)}
	s.Response(r)
	assert.Equal(t, Redacted, r.Completion)
	assert.LessOrEqual(t, len(r.RequestID), MaxIDLen+len("…"))
	c := &llm.Chunk{Text: "a sk-secret-1", Region: "sk-secret-1"}
	s.Chunk(c)
	assert.Equal(t, "a "+Redacted, c.Text)
	assert.Equal(t, Redacted, c.Region)
	assert.Equal(t, "ab?", Printable("ab\xff", 10))
	assert.Equal(t, "a txt.exe é", Printable("a\u202etxt.exe é", 50), "bidirectional overrides go, letters stay")
}

func TestSecretsInHeaderNames(t *testing.T) {
	s := Secrets(nil).Add("sk-abc123XYZ", "9f8e7d6c")
	h := http.Header{}
	// Canonicalized on arrival: the case of what the server echoed changes.
	h[http.CanonicalHeaderKey("x-echo-sk-abc123xyz")] = []string{"v"}
	h[http.CanonicalHeaderKey("x-9f8e7d6c-and-9F8E7D6C")] = []string{"sk-abc123XYZ"}
	h["X-Ratelimit-Remaining-Requests"] = []string{"99"}
	s.Header(h)
	for k, vs := range h {
		assert.NotContains(t, strings.ToLower(k), "abc123xyz", k)
		assert.NotContains(t, strings.ToLower(k), "9f8e7d6c", k)
		for _, v := range vs {
			assert.NotContains(t, v, "sk-abc123XYZ", k)
		}
	}
	assert.Equal(t, []string{"99"}, h["X-Ratelimit-Remaining-Requests"], "other headers are left alone")
	assert.Len(t, h, 3)
	assert.Equal(t, "X-Echo-"+Redacted, s.Name("X-Echo-Sk-Abc123xyz"))
	assert.Equal(t, "x-"+Redacted+"-"+Redacted, s.Name("x-9F8e7D6c-9f8e7d6c"))
}
