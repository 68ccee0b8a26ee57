package azuretest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/internal/fixture"
)

// sseNamedEvents splits an SSE body into (event name, data) pairs, checking
// that every event is an "event:" line, a "data:" line and a blank line.
func sseNamedEvents(t *testing.T, body []byte) (names, data []string) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, ok := strings.CutPrefix(line, "event: ")
		require.True(t, ok, "expected an event line, got %q", line)
		require.True(t, sc.Scan(), "event %s has no data line", name)
		d, ok := strings.CutPrefix(sc.Text(), "data: ")
		require.True(t, ok, "expected a data line, got %q", sc.Text())
		require.True(t, sc.Scan())
		require.Empty(t, sc.Text(), "an event ends with a blank line")
		names, data = append(names, name), append(data, d)
	}
	require.NoError(t, sc.Err())
	return names, data
}

func claudeServer(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s := NewServer(append([]Option{WithDeployment("claude-sonnet-4-5", ""), WithAPIKeys("key-1"), WithBearerTokens("tok-1")}, opts...)...)
	t.Cleanup(s.Close)
	return s
}

func postClaude(t *testing.T, s *Server, body string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	if header == nil {
		header = map[string]string{"x-api-key": "key-1", "anthropic-version": "2023-06-01"}
	}
	return do(t, s.Client(), http.MethodPost, s.URL+AnthropicPath, body, header)
}

func claudeBody(prompt, extra string) string {
	p, _ := json.Marshal(prompt)
	b := `{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":` + string(p) + `}]`
	if extra != "" {
		b += "," + extra
	}
	return b + "}"
}

type anthMsg struct {
	Type       string `json:"type"`
	Model      string `json:"model"`
	StopReason string `json:"stop_reason"`
	Content    []struct {
		Type  string          `json:"type"`
		Text  string          `json:"text"`
		ID    string          `json:"id"`
		Name  string          `json:"name"`
		Input json.RawMessage `json:"input"`
	} `json:"content"`
	Usage struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"usage"`
}

func TestAnthropicMessageShape(t *testing.T) {
	s := claudeServer(t)
	resp, body := postClaude(t, s, claudeBody("Hello", `"system":"Be brief."`), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.True(t, strings.HasPrefix(resp.Header.Get("request-id"), "req_"))
	// Every key the emulator sends is in the documented Message, with the
	// same JSON type; the documentation's extra fields are optional.
	doc := fixture.Anthropic(t, "messages_create_response.doc.json")
	requireSameShape(t, body, doc,
		[]string{"container", "content[].citations", "stop_details", "usage.cache_creation", "usage.inference_geo",
			"usage.output_tokens_details", "usage.server_tool_use", "usage.service_tier"},
		[]string{"stop_sequence"})
	var m anthMsg
	require.NoError(t, json.Unmarshal(body, &m))
	assert.Equal(t, "claude-sonnet-4-5", m.Model, "DefaultModel of a Claude deployment is its name")
	assert.Equal(t, "end_turn", m.StopReason)
	require.Len(t, m.Content, 1)
	assert.Equal(t, ExpectedReply("Hello"), m.Content[0].Text)
	// 3 + system (3 tokens) + (3 + "Hello" 2 tokens).
	assert.Equal(t, 3+CountTokens("Be brief.")+3+CountTokens("Hello"), m.Usage.InputTokens)
	assert.Equal(t, CountTokens(ExpectedReply("Hello")), m.Usage.OutputTokens)

	got, ok := s.LastRequest()
	require.True(t, ok)
	assert.Equal(t, AnthropicPath, got.Path)
	assert.Equal(t, "2023-06-01", got.APIVersion)
	assert.Equal(t, "claude-sonnet-4-5", got.Deployment)
	require.Len(t, got.Messages, 2)
	assert.Equal(t, Message{Role: "system", Content: "Be brief.", Parts: []Part{{Type: "text", Text: "Be brief."}}}, got.Messages[0])
	assert.Equal(t, "user", got.Messages[1].Role)
	assert.Equal(t, "Hello", got.Messages[1].Content)
}

func TestAnthropicStreamMatchesDocumentedSequence(t *testing.T) {
	s := claudeServer(t)
	resp, body := postClaude(t, s, claudeBody("Hi", `"stream":true`), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
	assert.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	names, data := sseNamedEvents(t, body)
	wantNames, wantData := sseNamedEvents(t, fixture.Anthropic(t, "messages_stream_basic.doc.sse"))
	assert.Equal(t, wantNames, names, "the documented event sequence (the reply has as many deltas as the doc's)")
	for i := range data {
		requireSameShape(t, []byte(wantData[i]), []byte(data[i]),
			[]string{"message.usage.cache_creation_input_tokens", "message.usage.cache_read_input_tokens"}, // as in the doc's web-search stream
			[]string{"message.stop_reason", "message.stop_sequence", "delta.stop_sequence"})
		var typ struct{ Type string }
		require.NoError(t, json.Unmarshal([]byte(data[i]), &typ))
		assert.Equal(t, names[i], typ.Type, "the data repeats the event name")
	}
	var text strings.Builder
	for _, d := range data {
		var ev struct {
			Delta struct{ Text string } `json:"delta"`
		}
		require.NoError(t, json.Unmarshal([]byte(d), &ev))
		text.WriteString(ev.Delta.Text)
	}
	assert.Equal(t, ExpectedReply("Hi"), text.String())
}

func TestAnthropicToolUse(t *testing.T) {
	s := claudeServer(t)
	tools := `"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"location":{"type":"string"},"unit":{"enum":["fahrenheit","celsius"]}},"required":["location"]}}]`
	for _, stream := range []bool{false, true} {
		body := claudeBody("What is the weather in Paris?", tools+`,"tool_choice":{"type":"any"},"stream":`+strconv.FormatBool(stream))
		resp, raw := postClaude(t, s, body, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", raw)
		if !stream {
			var m anthMsg
			require.NoError(t, json.Unmarshal(raw, &m))
			assert.Equal(t, "tool_use", m.StopReason)
			require.Len(t, m.Content, 1)
			assert.Equal(t, "tool_use", m.Content[0].Type)
			assert.True(t, strings.HasPrefix(m.Content[0].ID, "toolu_"))
			assert.JSONEq(t, `{"location":"example","unit":"fahrenheit"}`, string(m.Content[0].Input))
			continue
		}
		names, data := sseNamedEvents(t, raw)
		wantNames, wantData := sseNamedEvents(t, fixture.Anthropic(t, "messages_stream_tool_use.doc.sse"))
		// The documented tool block: start, an empty fragment, fragments, stop.
		start := indexOf(wantNames, wantData, `"tool_use"`)
		requireSameShape(t, []byte(wantData[start]), []byte(data[1]), nil, nil)
		requireSameShape(t, []byte(wantData[start+1]), []byte(data[3]), nil, nil)
		assert.Contains(t, data[3], `"partial_json":""`, "the first fragment is empty, as documented")
		var input strings.Builder
		for i, n := range names {
			if n == "content_block_delta" {
				var ev struct {
					Delta struct {
						PartialJSON string `json:"partial_json"`
					} `json:"delta"`
				}
				require.NoError(t, json.Unmarshal([]byte(data[i]), &ev))
				input.WriteString(ev.Delta.PartialJSON)
			}
		}
		assert.JSONEq(t, `{"location":"example","unit":"fahrenheit"}`, input.String())
		requireSameShape(t, []byte(wantData[len(wantData)-2]), []byte(data[len(data)-2]), nil, nil)
		assert.Contains(t, data[len(data)-2], `"stop_reason":"tool_use"`)
		_ = wantNames
	}

	// The tool result comes back in a user turn; the reply echoes it and the
	// recorded conversation shows it as a tool message.
	body := `{"model":"claude-sonnet-4-5","max_tokens":100,` + tools + `,"messages":[
		{"role":"user","content":"What is the weather in Paris?"},
		{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"location":"Paris"}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny"}]}]}`
	resp, raw := postClaude(t, s, body, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", raw)
	var m anthMsg
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Equal(t, ExpectedToolResultReply("sunny"), m.Content[0].Text)
	msgs := s.LastMessages()
	require.Len(t, msgs, 3)
	assert.Equal(t, []ToolCall{{ID: "toolu_1", Type: "tool_use", Name: "get_weather", Arguments: `{"location":"Paris"}`}}, msgs[1].ToolCalls)
	assert.Equal(t, Message{Role: "tool", ToolCallID: "toolu_1", Content: "sunny"}, msgs[2])
}

func indexOf(names, data []string, substr string) int {
	for i := range names {
		if names[i] == "content_block_start" && strings.Contains(data[i], substr) {
			return i
		}
	}
	return -1
}

func TestAnthropicStopsAndLimits(t *testing.T) {
	s := claudeServer(t)
	var m anthMsg
	_, raw := postClaude(t, s, `{"model":"claude-sonnet-4-5","max_tokens":2,"messages":[{"role":"user","content":"a long prompt to echo"}]}`, nil)
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Equal(t, "max_tokens", m.StopReason)
	assert.Equal(t, "Echo: a ", m.Content[0].Text)

	_, raw = postClaude(t, s, claudeBody("one two three", `"stop_sequences":["two"]`), nil)
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Equal(t, "stop_sequence", m.StopReason)
	assert.Contains(t, string(raw), `"stop_sequence":"two"`)

	_, raw = postClaude(t, s, claudeBody("say FILTER_COMPLETION now", ""), nil)
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Equal(t, "refusal", m.StopReason, "the completion word makes Claude refuse")
	assert.Equal(t, "Echo: say ", m.Content[0].Text)
}

func TestAnthropicErrors(t *testing.T) {
	s := claudeServer(t, WithDeployment("gpt-4o", ""))
	type errBody struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	for _, tc := range []struct {
		name, body string
		header     map[string]string
		status     int
		typ        string
	}{
		{"bad key", claudeBody("hi", ""), map[string]string{"x-api-key": "nope"}, 401, ""},
		{"bad token", claudeBody("hi", ""), map[string]string{"Authorization": "Bearer nope"}, 401, ""},
		{"good token", claudeBody("hi", ""), map[string]string{"Authorization": "Bearer tok-1"}, 200, ""},
		{"no max_tokens", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error"},
		{"both sampling knobs", claudeBody("hi", `"temperature":0.5,"top_p":0.9`), nil, 400, "invalid_request_error"},
		{"unknown deployment", strings.Replace(claudeBody("hi", ""), "claude-sonnet-4-5", "claude-nope", 1), nil, 404, "not_found_error"},
		{"not a Claude deployment", strings.Replace(claudeBody("hi", ""), "claude-sonnet-4-5", "gpt-4o", 1), nil, 404, "not_found_error"},
		{"system role in messages", `{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"system","content":"x"},{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, raw := postClaude(t, s, tc.body, tc.header)
			require.Equal(t, tc.status, resp.StatusCode, "body: %s", raw)
			if tc.typ == "" {
				return
			}
			var e errBody
			require.NoError(t, json.Unmarshal(raw, &e))
			assert.Equal(t, "error", e.Type)
			assert.Equal(t, tc.typ, e.Error.Type)
			assert.NotEmpty(t, e.Error.Message)
			assert.Equal(t, resp.Header.Get("request-id"), e.RequestID)
			requireSameShape(t, raw, fixture.Anthropic(t, "error_404_not_found.doc.json"), nil, nil)
		})
	}
}

func TestAnthropicQuotaAndFaults(t *testing.T) {
	clock := newFakeClock()
	s := claudeServer(t, WithClock(clock.Now), WithRateLimit("claude-sonnet-4-5", 60, 1000))
	// TPM counts the prompt plus max_tokens: 256 + the prompt leaves room
	// in a 1,000-token bucket for four such requests, the fifth is refused.
	var last *http.Response
	for range 5 {
		last, _ = postClaude(t, s, claudeBody("hi", ""), nil)
	}
	assert.Equal(t, http.StatusTooManyRequests, last.StatusCode)
	assert.NotEmpty(t, last.Header.Get("retry-after"))
	assert.Equal(t, "1000", last.Header.Get("anthropic-ratelimit-tokens-limit"))
	_, raw := postClaude(t, s, claudeBody("hi", ""), nil)
	assert.Contains(t, string(raw), `"rate_limit_error"`)

	s2 := claudeServer(t, WithFaults(Faults{Rate503: 1}))
	resp, raw := postClaude(t, s2, claudeBody("hi", ""), nil)
	assert.Equal(t, 529, resp.StatusCode)
	assert.Contains(t, string(raw), `"overloaded_error"`)

	s3 := claudeServer(t, WithFaults(Faults{Rate429: 1, RetryAfter: 3 * time.Second}))
	resp, _ = postClaude(t, s3, claudeBody("hi", `"stream":true`), nil)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "3", resp.Header.Get("retry-after"))
	s3.Close() // Stats is final once Close returns
	assert.Equal(t, 1, s3.Stats().RateLimited)
}
