package openai_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

// elsewhere is the host a hostile or misconfigured endpoint redirects to:
// it answers every request with a valid completion, and records whether
// anything, and which credentials, reached it.
type elsewhere struct {
	*httptest.Server
	hits  atomic.Int64
	creds atomic.Value // string: Authorization + api-key of the last request
}

func newElsewhere(t *testing.T) *elsewhere {
	e := &elsewhere{}
	e.creds.Store("")
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		e.creds.Store(r.Header.Get("Authorization") + r.Header.Get("Api-Key"))
		if strings.Contains(r.Header.Get("Accept"), "event-stream") {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("data: " + chunkJSON("m", "stolen", "stop", "") + "\n\ndata: [DONE]\n\n"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"choices":[{"index":0,"message":{"role":"assistant","content":"stolen"},"finish_reason":"stop"}]}`))
	}))
	t.Cleanup(e.Close)
	return e
}

// redirector answers every request with status and a Location on target,
// carrying the key in the query as a hostile server might.
func redirector(t *testing.T, status int, target, key string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.Path+"?leak="+key, status)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRedirectsAreNotFollowed: a 3xx from the endpoint, to another host
// over plain http, is an error with CodeConfiguration; nothing reaches the
// other host and no success is reported, for Generate and Stream, with the
// provider's own HTTP client and with a caller's (whose default policy
// follows redirects).
func TestRedirectsAreNotFollowed(t *testing.T) {
	const key = "sk-redirect-0123456789"
	for _, status := range []int{301, 302, 303, 307, 308} {
		for _, own := range []bool{true, false} {
			t.Run(strconv.Itoa(status)+map[bool]string{true: "/own client", false: "/caller's client"}[own], func(t *testing.T) {
				other := newElsewhere(t)
				origin := redirector(t, status, other.URL, key)
				cfg := openai.Config{APIKey: key, BaseURL: origin.URL + "/v1"}
				var callers *http.Client
				if !own {
					callers = &http.Client{}
					cfg.HTTPClient = callers
				}
				p, err := openai.New(cfg)
				require.NoError(t, err)
				req := &llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User("hi").Messages()}

				resp, err := p.Generate(t.Context(), req)
				assert.Nil(t, resp)
				checkRedirectError(t, err, status, other.URL, key)

				var chunks int
				for c, err := range p.Stream(t.Context(), req) {
					if err != nil {
						checkRedirectError(t, err, status, other.URL, key)
						break
					}
					chunks++
					assert.NotContains(t, c.Text, "stolen")
				}
				assert.Zero(t, chunks, "no chunk from the other host")
				assert.Zero(t, other.hits.Load(), "nothing may reach the host the endpoint redirects to")
				if callers != nil {
					assert.Nil(t, callers.CheckRedirect, "the caller's client is not modified")
				}
			})
		}
	}
}

func checkRedirectError(t *testing.T, err error, status int, target, key string) {
	t.Helper()
	require.Error(t, err)
	var le *llm.Error
	require.ErrorAs(t, err, &le)
	assert.Equal(t, llm.CodeConfiguration, le.Code)
	assert.ErrorIs(t, err, llm.ErrConfiguration)
	assert.ErrorIs(t, err, openai.ErrRedirect)
	assert.False(t, le.Retryable())
	assert.Equal(t, status, le.StatusCode)
	assert.Contains(t, le.Message, "redirecting to "+target, "the message names where the endpoint pointed")
	assert.Contains(t, le.Message, "OPENAI_BASE_URL", "and what to check")
	assert.NotContains(t, err.Error(), key)
	assert.NotContains(t, err.Error(), "leak=", "the Location's query is not shown")
}

// followingDoer is a caller's HTTP doer that follows redirects itself, out
// of the provider's control.
type followingDoer struct{ c *http.Client }

func (d followingDoer) Do(r *http.Request) (*http.Response, error) { return d.c.Do(r) }

// TestRedirectFollowedByACallersDoerIsRefused: when a doer the provider
// cannot configure follows a redirect to another origin, the reply it
// brings back is refused.
func TestRedirectFollowedByACallersDoerIsRefused(t *testing.T) {
	other := newElsewhere(t)
	origin := redirector(t, http.StatusTemporaryRedirect, other.URL, "x")
	cc := goopenai.DefaultConfig("")
	cc.BaseURL = origin.URL + "/v1"
	cc.HTTPClient = followingDoer{c: &http.Client{}}
	p, err := openai.NewFromClientConfig(cc, openai.Options{Name: "custom"})
	require.NoError(t, err)
	m := registry.Model{ID: "m", Provider: "custom"}
	_, err = p.Generate(t.Context(), &llm.Request{Model: m, Messages: conversation.New().User("hi").Messages()})
	require.ErrorIs(t, err, openai.ErrRedirect)
	assert.ErrorIs(t, err, llm.ErrConfiguration)
	assert.Contains(t, err.Error(), "followed a redirect from "+strings.ToLower(origin.URL))
	assert.Contains(t, err.Error(), "check the base URL")
}
