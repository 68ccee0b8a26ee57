package azuretest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplyAndUsage(t *testing.T) {
	s := NewServer()
	defer s.Close()
	body := `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"first"},{"role":"assistant","content":"ok"},{"role":"user","content":"Hello, world"}]}`
	resp, got := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), body, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	c := decodeCompletion(t, got)
	assert.Equal(t, "Echo: Hello, world", *c.Choices[0].Message.Content)
	assert.Equal(t, ExpectedReply("Hello, world"), *c.Choices[0].Message.Content)
	assert.Equal(t, "stop", c.Choices[0].FinishReason)
	assert.Equal(t, PromptTokens("Be brief.", "first", "ok", "Hello, world"), c.Usage.PromptTokens)
	assert.Equal(t, 3+(3+3)+(3+2)+(3+1)+(3+3), c.Usage.PromptTokens, "documented rule")
	assert.Equal(t, CountTokens("Echo: Hello, world"), c.Usage.CompletionTokens)
	assert.Equal(t, c.Usage.PromptTokens+c.Usage.CompletionTokens, c.Usage.TotalTokens)
	assert.True(t, strings.HasPrefix(c.ID, "chatcmpl-"))

	n, err := EstimateRequestTokens([]byte(body))
	require.NoError(t, err)
	assert.Equal(t, c.Usage.PromptTokens+DefaultQuotaMaxTokens, n)
	n, err = EstimateRequestTokens([]byte(userBody("hi", `"max_tokens":10,"n":2`)))
	require.NoError(t, err)
	assert.Equal(t, PromptTokens("hi")+20, n)
}

func TestContentParts(t *testing.T) {
	s := NewServer()
	defer s.Close()
	body := `{"messages":[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}},{"type":"text","text":"here"}]}]}`
	_, got := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), body, nil)
	c := decodeCompletion(t, got)
	assert.Equal(t, "Echo: look\nhere", *c.Choices[0].Message.Content)
	assert.Equal(t, 3+3+CountTokens("look\nhere")+ImagePartTokens, c.Usage.PromptTokens)
}

func TestTruncation(t *testing.T) {
	s := NewServer(WithDeployment("gpt-4o", ""), WithDeployment("o4-mini", ""))
	defer s.Close()
	_, got := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), userBody("one two three four five", `"max_tokens":3`), nil)
	c := decodeCompletion(t, got)
	assert.Equal(t, "Echo: one tw", *c.Choices[0].Message.Content, "3 tokens = 12 bytes")
	assert.Equal(t, "length", c.Choices[0].FinishReason)
	assert.Equal(t, 3, c.Usage.CompletionTokens)

	// Reasoning spends its tokens first; nothing is left for the content here.
	_, got = do(t, s.Client(), http.MethodPost, classicURL(s, "o4-mini", "2025-04-01-preview"), userBody("hello", `"max_completion_tokens":50,"reasoning_effort":"low"`), nil)
	c = decodeCompletion(t, got)
	assert.Equal(t, "", *c.Choices[0].Message.Content)
	assert.Equal(t, "length", c.Choices[0].FinishReason)
	assert.Equal(t, 50, c.Usage.CompletionTokensDetails.ReasoningTokens)
	assert.Equal(t, 50, c.Usage.CompletionTokens)
}

func TestStreamConcatenation(t *testing.T) {
	s := NewServer()
	defer s.Close()
	prompt := `tell me "something" long, with ünïcode and	tabs and a few words`
	_, raw := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), userBody(prompt, `"stream":true`), nil)
	events := sseEvents(t, raw)
	var text strings.Builder
	contentChunks := 0
	for _, ev := range events[1 : len(events)-1] {
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content *string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		require.NoError(t, json.Unmarshal([]byte(ev), &chunk), ev)
		require.Len(t, chunk.Choices, 1)
		if c := chunk.Choices[0].Delta.Content; c != nil && *c != "" {
			text.WriteString(*c)
			contentChunks++
		}
	}
	assert.Equal(t, ExpectedReply(prompt), text.String())
	assert.Equal(t, len(SplitReply(ExpectedReply(prompt))), contentChunks)
	assert.Greater(t, contentChunks, 5, "several content chunks")
}

func TestSplitReply(t *testing.T) {
	assert.Equal(t, []string{"Echo:", " a", " b"}, SplitReply("Echo: a b"))
	assert.Equal(t, []string{"x", " ", " y"}, SplitReply("x  y"))
	assert.Nil(t, SplitReply(""))
}

func TestStreamCompletionFilter(t *testing.T) {
	s := NewServer()
	defer s.Close()
	_, raw := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), userBody("one two FILTER_COMPLETION three", `"stream":true`), nil)
	events := sseEvents(t, raw)
	joined := strings.Join(events, "\n")
	assert.NotContains(t, joined, "FILTER_COMPLETION", "filtered text is not streamed")
	assert.Contains(t, joined, `" two"`)
	assert.NotContains(t, joined, `" three"`)
	finish := events[len(events)-2]
	assert.Contains(t, finish, `"finish_reason":"content_filter"`)
	assert.Contains(t, finish, `"custom_blocklists":[{"filtered":true,"id":"EmulatorBlocklist"}]`)
	assert.Equal(t, "[DONE]", events[len(events)-1])
}

const weatherTool = `{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":2},"unit":{"type":"string","enum":["celsius","fahrenheit"]},"tags":{"type":"array","items":{"type":"string"}},"opts":{"type":"object","properties":{"metric":{"type":"boolean"}}}},"required":["city"]}}}`
const timeTool = `{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{}}}}`

func TestToolCalls(t *testing.T) {
	s := NewServer()
	defer s.Close()
	url := classicURL(s, "gpt-4o", "2024-10-21")
	tools := `"tools":[` + timeTool + `,` + weatherTool + `]`
	wantArgs := `{"city":"example","days":2,"opts":{"metric":true},"tags":["example"],"unit":"celsius"}`

	for _, tc := range []struct {
		name, prompt, extra, wantTool string
	}{
		{"by name", "please call get_weather for Paris", "", "get_weather"},
		{"trigger picks the first", "CALL_TOOL", "", "get_time"},
		{"name must end at a boundary", "call get_time_zone", "", ""},
		{"no trigger", "what is the weather", "", ""},
		{"tool_choice names one", "hello", `,"tool_choice":{"type":"function","function":{"name":"get_weather"}}`, "get_weather"},
		{"required", "hello", `,"tool_choice":"required"`, "get_time"},
		{"none", "call get_weather", `,"tool_choice":"none"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, got := do(t, s.Client(), http.MethodPost, url, userBody(tc.prompt, tools+tc.extra), nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", got)
			c := decodeCompletion(t, got)
			ch := c.Choices[0]
			if tc.wantTool == "" {
				assert.Equal(t, "stop", ch.FinishReason)
				assert.Empty(t, ch.Message.ToolCalls)
				return
			}
			assert.Equal(t, "tool_calls", ch.FinishReason)
			assert.Nil(t, ch.Message.Content)
			require.Len(t, ch.Message.ToolCalls, 1)
			call := ch.Message.ToolCalls[0]
			assert.Equal(t, tc.wantTool, call.Function.Name)
			assert.Equal(t, "function", call.Type)
			assert.Regexp(t, `^call_[0-9a-f]{24}$`, call.ID)
			if tc.wantTool == "get_weather" {
				assert.JSONEq(t, wantArgs, call.Function.Arguments)
			} else {
				assert.Equal(t, `{}`, call.Function.Arguments)
			}
		})
	}

	// A tool result comes back as text.
	body := `{"messages":[{"role":"user","content":"call get_weather"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"21 degrees"}],` + tools + `}`
	_, got := do(t, s.Client(), http.MethodPost, url, body, nil)
	c := decodeCompletion(t, got)
	assert.Equal(t, "stop", c.Choices[0].FinishReason)
	assert.Equal(t, ExpectedToolResultReply("21 degrees"), *c.Choices[0].Message.Content)
}

func TestToolCallStream(t *testing.T) {
	s := NewServer()
	defer s.Close()
	_, raw := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"),
		userBody("call get_weather", `"stream":true,"tools":[`+weatherTool+`]`), nil)
	events := sseEvents(t, raw)
	type delta struct {
		ToolCalls []struct {
			Index    *int   `json:"index"`
			ID       string `json:"id"`
			Type     string `json:"type"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	}
	var args strings.Builder
	var name, id string
	pieces := 0
	for _, ev := range events[1 : len(events)-2] {
		var chunk struct {
			Choices []struct{ Delta delta } `json:"choices"`
		}
		require.NoError(t, json.Unmarshal([]byte(ev), &chunk))
		require.Len(t, chunk.Choices, 1)
		require.Len(t, chunk.Choices[0].Delta.ToolCalls, 1, ev)
		tc := chunk.Choices[0].Delta.ToolCalls[0]
		require.NotNil(t, tc.Index)
		assert.Equal(t, 0, *tc.Index)
		if tc.ID != "" {
			id, name = tc.ID, tc.Function.Name
			assert.Equal(t, "function", tc.Type)
		}
		if tc.Function.Arguments != "" {
			pieces++
		}
		args.WriteString(tc.Function.Arguments)
	}
	assert.Equal(t, "get_weather", name)
	assert.NotEmpty(t, id)
	assert.Greater(t, pieces, 2, "arguments arrive in pieces")
	assert.True(t, json.Valid([]byte(args.String())), args.String())
	assert.Contains(t, events[len(events)-2], `"finish_reason":"tool_calls"`)
}

func TestJSONModes(t *testing.T) {
	s := NewServer()
	defer s.Close()
	url := classicURL(s, "gpt-4o", "2024-10-21")

	_, got := do(t, s.Client(), http.MethodPost, url, userBody("give json", `"response_format":{"type":"json_object"}`), nil)
	content := *decodeCompletion(t, got).Choices[0].Message.Content
	assert.Equal(t, ExpectedJSONReply("give json"), content)
	assert.JSONEq(t, `{"reply":"Echo: give json"}`, content)

	schema := `{"type":"json_schema","json_schema":{"name":"person","strict":true,"schema":{"type":"object","properties":{"name":{"type":"string"},"age":{"type":["integer","null"]},"score":{"type":"number"},"kind":{"anyOf":[{"const":"a"},{"type":"string"}]}},"required":["name","age"]}}}`
	_, got = do(t, s.Client(), http.MethodPost, url, userBody("give json", `"response_format":`+schema), nil)
	content = *decodeCompletion(t, got).Choices[0].Message.Content
	assert.JSONEq(t, `{"age":1,"kind":"a","name":"example","score":1}`, content)
}

func TestLatencyHonoursContext(t *testing.T) {
	s := NewServer(WithLatency(time.Hour, 0))
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), strings.NewReader(userBody("x", "")))
	require.NoError(t, err)
	start := time.Now()
	_, err = s.Client().Do(req)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 30*time.Second)

	s.SetLatency(0, 0)
	resp, _ := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), userBody("x", ""), nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	// The abandoned request is recorded as closed by the client once its
	// handler returns.
	require.Eventually(t, func() bool { return s.Stats().ByStatus[StatusClientClosed] == 1 }, 5*time.Second, 10*time.Millisecond)
}

func TestCloseAbortsDelays(t *testing.T) {
	s := NewServer(WithLatency(time.Hour, 0))
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := s.Client().Post(classicURL(s, "gpt-4o", "2024-10-21"), "application/json", strings.NewReader(userBody("x", "")))
		if err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(50 * time.Millisecond) // let the request reach the handler's delay
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked on a pending latency delay")
	}
	<-done
}

func TestStats(t *testing.T) {
	clock := newFakeClock()
	s := NewServer(WithClock(clock.Now), WithDeployment("a", ""), WithDeployment("b", ""), WithRateLimit("b", 6, 0))
	defer s.Close()
	do(t, s.Client(), http.MethodPost, classicURL(s, "a", "2024-10-21"), userBody("x", ""), nil)
	clock.Advance(time.Second)
	do(t, s.Client(), http.MethodPost, classicURL(s, "b", "2024-10-21"), userBody("x", `"stream":true`), nil)
	clock.Advance(time.Second)
	do(t, s.Client(), http.MethodPost, classicURL(s, "b", "2024-10-21"), userBody("x", ""), nil) // 429
	clock.Advance(time.Second)
	do(t, s.Client(), http.MethodGet, s.URL+"/nowhere", "", nil)

	st := s.Stats()
	assert.Equal(t, 4, st.Requests)
	assert.Equal(t, map[string]int{"a": 1, "b": 2}, st.ByDeployment)
	assert.Equal(t, map[int]int{200: 2, 429: 1, 404: 1}, st.ByStatus)
	assert.Equal(t, 1, st.RateLimited)
	require.Len(t, st.Arrivals, 4)
	start := newFakeClock().Now()
	for i, a := range st.Arrivals {
		assert.Equal(t, start.Add(time.Duration(i)*time.Second), a.Time, "arrival %d", i)
	}
	assert.True(t, st.Arrivals[1].Stream)
	assert.Equal(t, 429, st.Arrivals[2].Status)
	assert.Equal(t, 8*time.Second, st.Arrivals[2].RetryAfter, "RPM 6: one request per 10 s window, which ends 8 s later")
	assert.Equal(t, "/nowhere", st.Arrivals[3].Path)

	s.ResetStats()
	st = s.Stats()
	assert.Zero(t, st.Requests)
	assert.Empty(t, st.Arrivals)
	assert.Empty(t, st.ByStatus)
}

func TestArrivalLogRing(t *testing.T) {
	clock := newFakeClock()
	s := NewServer(WithClock(clock.Now), WithArrivalLog(3))
	defer s.Close()
	for range 5 {
		do(t, s.Client(), http.MethodGet, s.URL+"/x", "", nil)
		clock.Advance(time.Second)
	}
	st := s.Stats()
	assert.Equal(t, 5, st.Requests)
	require.Len(t, st.Arrivals, 3, "only the newest are kept")
	assert.Equal(t, newFakeClock().Now().Add(2*time.Second), st.Arrivals[0].Time)
}
