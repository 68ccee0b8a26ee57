package openai_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/providers/providertest"
	"github.com/deluge-go/deluge/registry"
)

// sse joins events into a text/event-stream body.
func sse(events ...string) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString("data: ")
		b.WriteString(e)
		b.WriteString("\n\n")
	}
	return b.String()
}

// countingBody records whether the provider closed the response body.
type countingBody struct {
	io.Reader
	closed atomic.Int32
}

func (b *countingBody) Close() error {
	b.closed.Add(1)
	return nil
}

// streamProvider returns a provider whose transport answers with body as an
// event stream.
func streamProvider(t *testing.T, status int, header http.Header, body io.ReadCloser) *openai.Provider {
	t.Helper()
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			io.Copy(io.Discard, r.Body)
		}
		h := http.Header{"Content-Type": {"text/event-stream"}}
		for k, v := range header {
			h[k] = v
		}
		return &http.Response{StatusCode: status, Header: h, Body: body, Request: r}, nil
	})
	p, err := openai.New(openai.Config{APIKey: testKey, HTTPClient: &http.Client{Transport: rt}})
	require.NoError(t, err)
	return p
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type streamResult struct {
	chunks []*llm.Chunk
	text   string
	err    error
}

func drain(p *openai.Provider, ctx context.Context, req *llm.Request) streamResult {
	var r streamResult
	for c, err := range p.Stream(ctx, req) {
		if err != nil {
			r.err = err
			continue
		}
		r.chunks = append(r.chunks, c)
		r.text += c.Text
	}
	return r
}

func userRequest(text string) *llm.Request {
	return &llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User(text).Messages()}
}

func TestStreamAgainstFakeServer(t *testing.T) {
	srv := newFakeOpenAI(t, testKey, fakeModel, providertest.Healthy)
	p, err := openai.New(openai.Config{APIKey: testKey, BaseURL: srv.URL + "/v1"})
	require.NoError(t, err)
	req := &llm.Request{Model: registry.Model{ID: "m", Provider: "openai", Name: fakeModel},
		Messages: conversation.New().User("the quick brown fox").Messages()}
	resp, err := p.Generate(t.Context(), req)
	require.NoError(t, err)

	r := drain(p, t.Context(), req)
	require.NoError(t, r.err)
	assert.Equal(t, resp.Completion, r.text)
	assert.Equal(t, "echo: the quick brown fox", r.text)
	require.Greater(t, len(r.chunks), 3, "one chunk per word")
	first := r.chunks[0]
	assert.Equal(t, "req_fake_123", first.RequestID)
	assert.Equal(t, fakeModel+"-2025-01-01", first.ServedModel)
	assert.NotNil(t, first.Header)
	last := r.chunks[len(r.chunks)-1]
	require.NotNil(t, last.Usage, "usage arrives on the final empty-choices event")
	assert.Equal(t, resp.Usage, *last.Usage)
	finishes := 0
	for _, c := range r.chunks {
		if c.FinishReason != "" {
			finishes++
			assert.Equal(t, "stop", c.FinishReason)
		}
	}
	assert.Equal(t, 1, finishes)
}

func TestStreamToolCallAssembly(t *testing.T) {
	body := sse(
		`{"id":"c","model":"gpt-4.1","choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}]}`,
		`{"id":"c","model":"gpt-4.1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`,
		`{"id":"c","model":"gpt-4.1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":""}}]},"finish_reason":null}]}`,
		`{"id":"c","model":"gpt-4.1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]},"finish_reason":null}]}`,
		`{"id":"c","model":"gpt-4.1","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]},"finish_reason":null}]}`,
		`{"id":"c","model":"gpt-4.1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Paris\"}"}}]},"finish_reason":null}]}`,
		`{"id":"c","model":"gpt-4.1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		`{"id":"c","model":"gpt-4.1","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50}}`,
		`[DONE]`)
	p := streamProvider(t, 200, nil, io.NopCloser(strings.NewReader(body)))
	r := drain(p, t.Context(), userRequest("weather and time?"))
	require.NoError(t, r.err)
	var carriers []*llm.Chunk
	for _, c := range r.chunks {
		if len(c.ToolCalls) > 0 {
			carriers = append(carriers, c)
		}
	}
	require.Len(t, carriers, 1, "tool calls are yielded once, whole")
	assert.Equal(t, "tool_calls", carriers[0].FinishReason)
	assert.Equal(t, []conversation.ToolCall{
		{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`},
		{ID: "call_b", Name: "get_time", Arguments: `{}`},
	}, carriers[0].ToolCalls)
	assert.Empty(t, r.text)
}

func TestStreamEarlyBreakClosesBody(t *testing.T) {
	var events []string
	for range 1000 {
		events = append(events, `{"choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}`)
	}
	body := &countingBody{Reader: strings.NewReader(sse(events...))}
	p := streamProvider(t, 200, nil, body)
	n := 0
	for c, err := range p.Stream(t.Context(), userRequest("long story")) {
		require.NoError(t, err)
		require.Equal(t, "word ", c.Text)
		n++
		if n == 2 {
			break
		}
	}
	assert.Equal(t, int32(1), body.closed.Load(), "breaking out of the loop must close the body")
}

func TestStreamClosesBodyAtEnd(t *testing.T) {
	body := &countingBody{Reader: strings.NewReader(sse(
		`{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}`, `[DONE]`))}
	p := streamProvider(t, 200, nil, body)
	r := drain(p, t.Context(), userRequest("x"))
	require.NoError(t, r.err)
	assert.Equal(t, int32(1), body.closed.Load())
}

func TestStreamEndings(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		text    string
		wantErr error
	}{
		{"finish then EOF without [DONE] is complete",
			sse(`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}`), "a", nil},
		{"EOF without any finish reason is incomplete",
			sse(`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}`), "a", llm.ErrUnavailable},
		{"[DONE] without any finish reason is incomplete too",
			sse(`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}`, `[DONE]`), "a", llm.ErrUnavailable},
		{"an error event mid-stream",
			sse(`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}`,
				`{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}`),
			"a", llm.ErrUnavailable},
		{"a malformed event",
			sse(`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}`, `{"choices":[{"ind`), "a", llm.ErrUnknown},
		{"usage on the finish chunk (no separate usage event)",
			sse(`{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`, `[DONE]`),
			"a", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := streamProvider(t, 200, nil, io.NopCloser(strings.NewReader(tt.body)))
			r := drain(p, t.Context(), userRequest("x"))
			assert.Equal(t, tt.text, r.text)
			if tt.wantErr == nil {
				assert.NoError(t, r.err)
				return
			}
			require.Error(t, r.err)
			assert.ErrorIs(t, r.err, tt.wantErr)
			var le *llm.Error
			require.ErrorAs(t, r.err, &le)
			assert.Equal(t, "gpt-4o", le.Model)
		})
	}
}

func TestStreamErrorEventKeepsAPIError(t *testing.T) {
	body := sse(`{"error":{"message":"Rate limit reached","type":"rate_limit_exceeded","code":"rate_limit_exceeded"}}`)
	p := streamProvider(t, 200, nil, io.NopCloser(strings.NewReader(body)))
	r := drain(p, t.Context(), userRequest("x"))
	require.Error(t, r.err)
	assert.ErrorIs(t, r.err, llm.ErrRateLimited)
	var apiErr *goopenai.APIError
	assert.ErrorAs(t, r.err, &apiErr)
}

func TestStreamHTTPErrorBeforeStart(t *testing.T) {
	p := streamProvider(t, 429, http.Header{"Content-Type": {"application/json"}, "Retry-After-Ms": {"1500"}, "X-Request-Id": {"req_9"}},
		io.NopCloser(strings.NewReader(`{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`)))
	r := drain(p, t.Context(), userRequest("x"))
	assert.Empty(t, r.chunks)
	var le *llm.Error
	require.ErrorAs(t, r.err, &le)
	assert.Equal(t, llm.CodeRateLimited, le.Code)
	assert.Equal(t, 429, le.StatusCode)
	assert.Equal(t, 1500*time.Millisecond, le.RetryAfter)
	assert.Equal(t, "req_9", le.RequestID)
}

func TestStreamCanceledMidway(t *testing.T) {
	srv := newFakeOpenAI(t, testKey, fakeModel, providertest.Stalled)
	p, err := openai.New(openai.Config{APIKey: testKey, BaseURL: srv.URL + "/v1"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req := &llm.Request{Model: registry.Model{ID: "m", Provider: "openai", Name: fakeModel}, Messages: conversation.New().User("x").Messages()}
	var got []string
	var final error
	for c, err := range p.Stream(ctx, req) {
		if err != nil {
			final = err
			break
		}
		got = append(got, c.Text)
		cancel() // the backend has stalled after this chunk
	}
	assert.Equal(t, []string{"Once"}, got)
	require.Error(t, final)
	assert.ErrorIs(t, final, context.Canceled)
	assert.Equal(t, llm.CodeCanceled, llm.CodeOf(final))
	assert.Eventually(t, func() bool { return srv.InFlight() == 0 }, 5*time.Second, 10*time.Millisecond,
		"the backend sees the request end")
}

func TestStreamLogprobs(t *testing.T) {
	body := sse(`{"choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":{"content":[{"token":"Hi","logprob":-0.5,"bytes":[72,105],"top_logprobs":[]}]},"finish_reason":"stop"}]}`, `[DONE]`)
	p := streamProvider(t, 200, nil, io.NopCloser(strings.NewReader(body)))
	r := drain(p, t.Context(), userRequest("x"))
	require.NoError(t, r.err)
	require.Len(t, r.chunks, 1)
	assert.Equal(t, []llm.TokenLogprob{{Token: "Hi", Logprob: -0.5, Bytes: []byte("Hi")}}, r.chunks[0].Logprobs)
}
