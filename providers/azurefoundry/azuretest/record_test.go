package azuretest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLastRequest(t *testing.T) {
	clock := newFakeClock()
	s := NewServer(WithClock(clock.Now), WithDeployment("my model", ""))
	defer s.Close()

	_, ok := s.LastRequest()
	require.False(t, ok, "nothing recorded yet")
	assert.Nil(t, s.LastMessages())

	body := `{"messages":[` +
		`{"role":"system","content":"Be brief."},` +
		`{"role":"user","name":"ann","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"text","text":"here"}]},` +
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
		`{"role":"tool","tool_call_id":"call_1","content":"sunny"}` +
		`],"stream":true}`
	resp, _ := do(t, s.Client(), http.MethodPost, s.URL+"/openai/deployments/my%20model/chat/completions?api-version=2024-10-21", body, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	r, ok := s.LastRequest()
	require.True(t, ok)
	assert.Equal(t, clock.Now(), r.Time)
	assert.Equal(t, "/openai/deployments/my model/chat/completions", r.Path)
	assert.Equal(t, "2024-10-21", r.APIVersion)
	assert.Equal(t, "my model", r.Deployment, "the path segment, unescaped")
	assert.True(t, r.Stream)
	assert.Equal(t, body, string(r.Body))
	assert.Equal(t, []Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Name: "ann", Content: "look\nhere", Parts: []Part{
			{Type: "text", Text: "look"},
			{Type: "image_url", ImageURL: "data:image/png;base64,AAAA"},
			{Type: "text", Text: "here"},
		}},
		{Role: "assistant", ToolCalls: []ToolCall{{ID: "call_1", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		{Role: "tool", ToolCallID: "call_1", Content: "sunny"},
	}, r.Messages)
	assert.Equal(t, r.Messages, s.LastMessages())

	// Body is the caller's copy.
	r.Body[0] = 'X'
	again, _ := s.LastRequest()
	assert.Equal(t, body, string(again.Body))

	s.ResetStats()
	_, ok = s.LastRequest()
	assert.False(t, ok, "ResetStats forgets the last request")
}

func TestLastRequestWhichRequests(t *testing.T) {
	s := NewServer(WithAPIKeys("k"))
	defer s.Close()
	key := map[string]string{"api-key": "k"}
	v1 := s.URL + "/openai/v1/chat/completions"
	last := func() Request {
		t.Helper()
		r, ok := s.LastRequest()
		require.True(t, ok)
		return r
	}

	do(t, s.Client(), http.MethodPost, v1, `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"first"}]}`, key)
	r := last()
	assert.Equal(t, "gpt-4o-mini", r.Deployment, "v1: the body's model")
	assert.Equal(t, "v1", r.APIVersion)
	assert.False(t, r.Stream)
	assert.Equal(t, []Message{{Role: "user", Content: "first"}}, r.Messages)

	// Refused before the body is read: not recorded.
	resp, _ := do(t, s.Client(), http.MethodPost, v1, `{"model":"gpt-4o","messages":[{"role":"user","content":"no key"}]}`, nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = do(t, s.Client(), http.MethodPost, classicURL(s, "nope", "2024-10-21"), userBody("unknown deployment", ""), key)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "first", last().Messages[0].Content)

	// Read but refused: recorded.
	resp, _ = do(t, s.Client(), http.MethodPost, v1, `{"model":"nope","messages":[{"role":"user","content":"unknown model"}]}`, key)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "nope", last().Deployment)
	assert.Equal(t, "unknown model", last().Messages[0].Content)

	resp, _ = do(t, s.Client(), http.MethodPost, v1, `{"model":"gpt-4o","messages":[]}`, key)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Empty(t, last().Messages)

	resp, _ = do(t, s.Client(), http.MethodPost, v1, `not json`, key)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	r = last()
	assert.Equal(t, "not json", string(r.Body))
	assert.Nil(t, r.Messages)
	assert.Empty(t, r.Deployment)

	s.SetFaults(Faults{Rate429: 1})
	resp, _ = do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), userBody("throttled", ""), key)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "gpt-4o", last().Deployment)
	assert.Equal(t, "throttled", last().Messages[0].Content)
}

func TestLastRequestConcurrent(t *testing.T) {
	h := NewHandler()
	const writers, each = 8, 50
	sent := make(map[string]bool)
	for w := range writers {
		for i := range each {
			sent[userBody(fmt.Sprintf("w%d i%d", w, i), "")] = true
		}
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if r, ok := h.LastRequest(); ok {
				if !assert.True(t, sent[string(r.Body)], "torn or unknown body %q", r.Body) {
					return
				}
				assert.Len(t, r.Messages, 1)
			}
		}
	})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				req, err := http.NewRequest(http.MethodPost, "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
					bytes.NewReader([]byte(userBody(fmt.Sprintf("w%d i%d", w, i), ""))))
				if !assert.NoError(t, err) {
					return
				}
				rec := newSyncRecorder()
				h.ServeHTTP(rec, req)
				assert.Equal(t, http.StatusOK, rec.code())
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	assert.Equal(t, writers*each, h.Requests())
	assert.Zero(t, h.InFlight())
}

func TestRequestsAndInFlight(t *testing.T) {
	s := NewServer(WithAPIKeys("k"))
	defer s.Close()
	assert.Zero(t, s.Requests())
	assert.Zero(t, s.InFlight())
	key := map[string]string{"api-key": "k"}
	do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), userBody("x", ""), key)
	do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), userBody("x", `"stream":true`), key)
	do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), userBody("x", ""), nil) // 401
	do(t, s.Client(), http.MethodGet, s.URL+"/nowhere", "", nil)                                      // 404
	// Counted on arrival: exact as soon as the responses are in.
	assert.Equal(t, 4, s.Requests())
	// Stats counts when handling ends; InFlight reaches 0 only after that.
	require.Eventually(t, func() bool { return s.InFlight() == 0 }, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, 4, s.Stats().Requests)

	s.ResetStats()
	assert.Zero(t, s.Requests())
	do(t, s.Client(), http.MethodGet, s.URL+"/nowhere", "", nil)
	assert.Equal(t, 1, s.Requests())
}

// syncRecorder is a ResponseWriter a test can read while the handler is
// still writing (httptest.ResponseRecorder is not safe for that). Each
// Write of the stream is one SSE event.
type syncRecorder struct {
	mu     sync.Mutex
	header http.Header
	status int
	writes []string
}

func newSyncRecorder() *syncRecorder { return &syncRecorder{header: make(http.Header)} }

// Header is only touched by the handler until it returns.
func (r *syncRecorder) Header() http.Header { return r.header }

func (r *syncRecorder) WriteHeader(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		r.status = code
	}
}

func (r *syncRecorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.writes = append(r.writes, string(b))
	return len(b), nil
}

func (r *syncRecorder) Flush() {}

func (r *syncRecorder) code() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// events returns the SSE payloads written so far.
func (r *syncRecorder) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.writes))
	for _, w := range r.writes {
		out = append(out, string(bytes.TrimSuffix(bytes.TrimPrefix([]byte(w), []byte("data: ")), []byte("\n\n"))))
	}
	return out
}

// deltaOf decodes the first choice's delta of a chunk event.
func deltaOf(t *testing.T, event string) (content *string, toolArgs string) {
	t.Helper()
	var chunk struct {
		Choices []struct {
			Delta struct {
				Content   *string `json:"content"`
				ToolCalls []struct {
					Function struct {
						Arguments string `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"delta"`
		} `json:"choices"`
	}
	require.NoError(t, json.Unmarshal([]byte(event), &chunk), event)
	require.Len(t, chunk.Choices, 1, event)
	d := chunk.Choices[0].Delta
	if len(d.ToolCalls) > 0 {
		toolArgs = d.ToolCalls[0].Function.Arguments
	}
	return d.Content, toolArgs
}
