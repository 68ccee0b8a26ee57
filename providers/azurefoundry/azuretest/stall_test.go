package azuretest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitFor is a generous deadline for things that happen at once unless the
// machine is very loaded; tests never sleep for a fixed time.
const waitFor = 10 * time.Second

func closedWithin(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitFor):
		t.Fatalf("%s did not happen within %v", what, waitFor)
	}
}

func TestStallStream(t *testing.T) {
	const prompt = "a b c d"
	pieces := SplitReply(ExpectedReply(prompt)) // "Echo:", " a", " b", " c", " d"
	require.Len(t, pieces, 5)
	toolBody := userBody("call get_weather", `"stream":true,"tools":[`+weatherTool+`]`)

	for _, tc := range []struct {
		name  string
		after int
		body  string
		want  []string // content (or tool-argument) deltas before the stall
	}{
		{"after 0", 0, userBody(prompt, `"stream":true`), nil},
		{"after 1", 1, userBody(prompt, `"stream":true`), pieces[:1]},
		{"after 3", 3, userBody(prompt, `"stream":true,"stream_options":{"include_usage":true}`), pieces[:3]},
		{"after all", 99, userBody(prompt, `"stream":true`), pieces},
		{"tool call after 2", 2, toolBody, []string{"{\"city\":", "\"example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHandler(WithFaults(Faults{RateStall: 1, StallAfter: tc.after}))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", strings.NewReader(tc.body))
			rec := newSyncRecorder()
			done := make(chan struct{})
			go func() {
				defer close(done)
				h.ServeHTTP(rec, req)
			}()

			// Prompt annotations, the role (or tool name) chunk, the deltas.
			want := 2 + len(tc.want)
			require.Eventually(t, func() bool { return len(rec.events()) >= want }, waitFor, time.Millisecond)
			select {
			case <-done:
				t.Fatalf("handler returned instead of stalling; events: %q", rec.events())
			default:
			}
			assert.Equal(t, 1, h.InFlight())

			cancel() // the client goes away
			closedWithin(t, done, "the stalled handler's return after the client left")
			assert.Zero(t, h.InFlight())

			events := rec.events()
			require.Len(t, events, want, "nothing after the stall: %q", events)
			assert.Equal(t, http.StatusOK, rec.code())
			assert.Equal(t, "text/event-stream", rec.Header().Get("Content-Type"))
			assert.Contains(t, events[0], `"choices":[]`)
			var got []string
			for _, ev := range events[2:] {
				content, args := deltaOf(t, ev)
				if content != nil {
					got = append(got, *content)
				} else {
					got = append(got, args)
				}
				assert.Contains(t, ev, `"finish_reason":null`)
			}
			assert.Equal(t, tc.want, got)
			for _, ev := range events {
				assert.NotContains(t, ev, "[DONE]")
				assert.NotContains(t, ev, `"usage":{`)
			}
			st := h.Stats()
			assert.Equal(t, map[int]int{StatusClientClosed: 1}, st.ByStatus)
			require.Len(t, st.Arrivals, 1)
			assert.True(t, st.Arrivals[0].Stream)
		})
	}
}

func TestStallNonStream(t *testing.T) {
	s := NewServer(WithFaults(Faults{RateStall: 1}))
	defer s.Close()
	url := classicURL(s, "gpt-4o", "2024-10-21")

	t.Run("Cancel", func(t *testing.T) {
		s.ResetStats()
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(userBody("x", "")))
		require.NoError(t, err)
		done := make(chan struct{})
		var doErr error
		go func() {
			defer close(done)
			resp, err := s.Client().Do(req)
			if err == nil {
				resp.Body.Close()
			}
			doErr = err
		}()
		require.Eventually(t, func() bool { return s.InFlight() == 1 }, waitFor, time.Millisecond)
		select {
		case <-done:
			t.Fatal("a stalled request got an answer")
		default:
		}
		cancel()
		closedWithin(t, done, "the canceled client's return")
		assert.ErrorIs(t, doErr, context.Canceled)
		require.Eventually(t, func() bool { return s.InFlight() == 0 }, waitFor, time.Millisecond)
		assert.Equal(t, map[int]int{StatusClientClosed: 1}, s.Stats().ByStatus)
	})

	t.Run("Deadline", func(t *testing.T) {
		const d = 100 * time.Millisecond
		ctx, cancel := context.WithTimeout(t.Context(), d)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(userBody("x", "")))
		require.NoError(t, err)
		start := time.Now()
		_, err = s.Client().Do(req)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.GreaterOrEqual(t, time.Since(start), d, "no answer before the deadline")
	})

	t.Run("OtherOutcomesWin", func(t *testing.T) {
		s.SetFaults(Faults{Rate500: 1, RateStall: 1})
		resp, _ := do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, "the exclusive faults are drawn first")
		s.SetFaults(Faults{RateStall: 1})
		resp, _ = do(t, s.Client(), http.MethodPost, url, userBody("FILTER_PROMPT", ""), nil)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "the prompt filter answers before the model stalls")
		s.SetFaults(Faults{})
		resp, _ = do(t, s.Client(), http.MethodPost, url, userBody("x", ""), nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

// readContentChunk reads SSE lines until the first chunk with non-empty
// delta content and returns that content.
func readContentChunk(t *testing.T, rd *bufio.Reader) string {
	t.Helper()
	for {
		line, err := rd.ReadString('\n')
		require.NoError(t, err)
		data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: ")
		if !ok || data == "[DONE]" {
			require.NotEqual(t, "[DONE]", data, "stream ended without stalling")
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		require.NoError(t, json.Unmarshal([]byte(data), &chunk))
		if len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != "" {
			return chunk.Choices[0].Delta.Content
		}
	}
}

// TestStallEarlyBreak is what a conformance suite checks with a Stalled
// backend: a client that stops reading after the first chunk and closes the
// body releases the request on the server side.
func TestStallEarlyBreak(t *testing.T) {
	s := NewServer(WithFaults(Faults{RateStall: 1, StallAfter: 1}))
	defer s.Close()
	resp, err := s.Client().Post(classicURL(s, "gpt-4o", "2024-10-21"), "application/json", strings.NewReader(userBody("Tell me a story.", `"stream":true`)))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Echo:", readContentChunk(t, bufio.NewReader(resp.Body)))
	assert.Equal(t, 1, s.InFlight(), "the stalled stream is still being served")

	resp.Body.Close() // break out of the stream
	require.Eventually(t, func() bool { return s.InFlight() == 0 }, waitFor, time.Millisecond, "the handler saw the client leave")
	assert.Equal(t, map[int]int{StatusClientClosed: 1}, s.Stats().ByStatus)

	s.SetFaults(Faults{})
	r, body := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), userBody("again", ""), nil)
	require.Equal(t, http.StatusOK, r.StatusCode)
	assert.Equal(t, ExpectedReply("again"), *decodeCompletion(t, body).Choices[0].Message.Content)
}

func TestCloseEndsStalls(t *testing.T) {
	s := NewServer(WithFaults(Faults{RateStall: 1, StallAfter: 1}))
	url := classicURL(s, "gpt-4o", "2024-10-21")
	client := s.Client()

	plainDone := make(chan struct{})
	var plainErr error
	go func() {
		defer close(plainDone)
		resp, err := client.Post(url, "application/json", strings.NewReader(userBody("x", "")))
		if err == nil {
			resp.Body.Close()
		}
		plainErr = err
	}()

	resp, err := client.Post(url, "application/json", strings.NewReader(userBody("x y", `"stream":true`)))
	require.NoError(t, err)
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	readContentChunk(t, rd)
	require.Eventually(t, func() bool { return s.InFlight() == 2 }, waitFor, time.Millisecond)

	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	closedWithin(t, closed, "Close with stalled requests")
	closedWithin(t, plainDone, "the stalled plain request's end")
	assert.Error(t, plainErr, "a stalled request ended by Close gets no response")
	_, err = io.ReadAll(rd)
	assert.Error(t, err, "a stalled stream ended by Close is cut off")
	assert.Zero(t, s.InFlight())
	assert.Equal(t, map[int]int{StatusReset: 2}, s.Stats().ByStatus)
}
