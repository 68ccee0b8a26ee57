package azuretest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests hold the emulator's output against the Azure recordings and
// documented examples in fixtures/azure: same keys and JSON types,
// recursively. Extra keys are allowed only where listed, each for a reason.

// Keys newer Azure responses have that the 2025-02 gpt-4 recording lacks
// (all present in the o1 recording).
var newerCompletionKeys = []string{
	"choices[].content_filter_results.protected_material_code",
	"choices[].content_filter_results.protected_material_text",
	"choices[].message.refusal",
	"prompt_filter_results[].content_filter_results.jailbreak",
	"usage.completion_tokens_details",
	"usage.prompt_tokens_details",
}

func TestFixtureChatCompletion(t *testing.T) {
	rec := readRecording(t, "aoai_chat_completion_gpt4_2025-01-01-preview.recording.json")
	s := NewServer(WithDeployment("gpt-4-0613", "gpt-4"), WithDefaultRateLimit(10, 10000))
	defer s.Close()

	resp, body := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4-0613", "2025-01-01-preview"), string(rec.RequestBody), nil)
	require.Equal(t, rec.StatusCode, resp.StatusCode, "body: %s", body)
	// system_fingerprint was null for that gpt-4 version; newer ones send a string.
	requireSameShape(t, rec.ResponseBody, body, newerCompletionKeys, []string{"system_fingerprint"})

	for _, h := range []string{"apim-request-id", "x-ms-region", "x-ms-rai-invoked", "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens", "X-Request-ID"} {
		assert.NotEmpty(t, resp.Header.Get(h), "header %s", h)
	}
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, "gpt-4", decodeCompletion(t, body).Model, "model is the underlying model name")
}

func TestFixtureReasoningCompletion(t *testing.T) {
	rec := readRecording(t, "aoai_chat_completion_o1_reasoning_effort.recording.json")
	// The recording's limits, 100 requests and 600,000 tokens, read as a
	// 10-second window of 100: 600 RPM (see WithRateLimitHeaders).
	s := NewServer(WithDeployment("o1", ""), WithRateLimit("o1", 600, 600000), WithRateLimitHeaders())
	defer s.Close()

	resp, body := do(t, s.Client(), http.MethodPost, classicURL(s, "o1", "2025-01-01-preview"), string(rec.RequestBody), nil)
	require.Equal(t, rec.StatusCode, resp.StatusCode, "body: %s", body)
	requireSameShape(t, rec.ResponseBody, body, nil, nil)

	for name := range rec.ResponseHeaders {
		switch strings.ToLower(name) {
		case "apim-request-id", "x-ms-region", "x-ms-rai-invoked", "x-request-id", "content-type",
			"x-ratelimit-limit-requests", "x-ratelimit-limit-tokens", "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens":
			assert.NotEmpty(t, resp.Header.Get(name), "header %s", name)
		}
	}
	assert.Equal(t, "100", resp.Header.Get("x-ratelimit-limit-requests"))
	assert.Equal(t, "99", resp.Header.Get("x-ratelimit-remaining-requests"))
	c := decodeCompletion(t, body)
	assert.Equal(t, "o1-2024-12-17", c.Model)
	assert.Equal(t, 64, c.Usage.CompletionTokensDetails.ReasoningTokens, "reasoning_effort low")
}

func TestFixtureStream(t *testing.T) {
	for _, tc := range []struct {
		name, sse string
		v1        bool
	}{
		{"classic", "aoai_chat_stream_gpt4_2025-01-01-preview.sse", false},
		{"v1", "aoai_chat_stream_v1_endpoint_gpt4turbo.sse", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := sseEvents(t, readFixture(t, tc.sse))
			s := NewServer(WithDeployment("gpt-4", "gpt-4-turbo-2024-04-09"))
			defer s.Close()
			url := classicURL(s, "gpt-4", "2025-01-01-preview")
			body := userBody("Count to 10, with a comma between each number", `"stream":true,"max_tokens":1024`)
			if tc.v1 {
				url = s.URL + "/openai/v1/chat/completions"
				body = strings.Replace(body, `{`, `{"model":"gpt-4",`, 1)
			}
			resp, raw := do(t, s.Client(), http.MethodPost, url, body, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", raw)
			assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
			if tc.v1 {
				assert.Equal(t, "gpt-4", resp.Header.Get("x-ms-deployment-name"))
			}
			got := sseEvents(t, raw)
			require.GreaterOrEqual(t, len(got), 5)

			// The classic recording predates jailbreak prompt annotations.
			var promptExtra []string
			if !tc.v1 {
				promptExtra = []string{"prompt_filter_results[].content_filter_results.jailbreak"}
			}
			nullable := []string{"system_fingerprint"}
			requireSameShape(t, []byte(want[0]), []byte(got[0]), promptExtra, nil)                 // prompt annotations
			requireSameShape(t, []byte(want[1]), []byte(got[1]), nil, nullable)                    // role chunk
			requireSameShape(t, []byte(want[2]), []byte(got[2]), nil, nullable)                    // content chunk
			requireSameShape(t, []byte(want[len(want)-2]), []byte(got[len(got)-2]), nil, nullable) // finish chunk
			assert.Equal(t, "[DONE]", got[len(got)-1])
			assert.Equal(t, want[0][:strings.Index(want[0], `"prompt_filter_results"`)], got[0][:strings.Index(got[0], `"prompt_filter_results"`)],
				"first event: empty choices, id, model, object and created 0")
		})
	}
}

func TestFixtureStreamIncludeUsage(t *testing.T) {
	want := sseEvents(t, readFixture(t, "aoai_stream_include_usage_final_chunk.copilot-test.sse"))
	require.Len(t, want, 3)
	s := NewServer()
	defer s.Close()
	_, raw := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"),
		userBody("hi there", `"stream":true,"stream_options":{"include_usage":true}`), nil)
	got := sseEvents(t, raw)
	require.GreaterOrEqual(t, len(got), 3)
	got = got[len(got)-3:]
	requireSameShape(t, []byte(want[0]), []byte(got[0]), nil, nil) // finish chunk, "usage":null
	requireSameShape(t, []byte(want[1]), []byte(got[1]), nil, nil) // empty choices + usage
	assert.Equal(t, "[DONE]", got[2])
}

func TestFixtureUnauthorizedStream(t *testing.T) {
	rec := readRecording(t, "aoai_error_401_invalid_key_stream.recording.json")
	s := NewServer(WithAPIKeys("right"), WithDeployment("gpt-35-turbo-0613", ""))
	defer s.Close()
	resp, body := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-35-turbo-0613", "2023-12-01-preview"),
		string(rec.RequestBody), map[string]string{"api-key": "wrong"})
	require.Equal(t, rec.StatusCode, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), "a 401 on a stream request is JSON, not SSE")
	assert.NotEmpty(t, resp.Header.Get("apim-request-id"))
	assert.JSONEq(t, string(rec.ResponseBody), string(body))
}

func TestFixtureDeploymentNotFound(t *testing.T) {
	rec := readRecording(t, "aoai_error_404_deployment_not_found.recording.json")
	s := NewServer()
	defer s.Close()
	// The recorded URI carries the escaped name "invalid%20model%20name".
	path := rec.RequestURI[strings.Index(rec.RequestURI, "/openai/"):]
	resp, body := do(t, s.Client(), http.MethodPost, s.URL+path, string(rec.RequestBody), nil)
	require.Equal(t, rec.StatusCode, resp.StatusCode)
	assert.JSONEq(t, string(rec.ResponseBody), string(body))
	assert.Equal(t, DefaultRegion, resp.Header.Get("x-ms-region"))
	assert.Equal(t, 1, s.Stats().ByDeployment["invalid model name"], "the name is unescaped")
}

func TestFixtureRateLimited(t *testing.T) {
	want := readFixture(t, "aoai_error_429_token_rate_limit.issue.json")
	clock := newFakeClock()
	s := NewServer(WithClock(clock.Now), WithDefaultRateLimit(6, 0))
	defer s.Close()
	url := classicURL(s, "gpt-4o", "2023-05-15")
	// RPM 6: a burst of one, then one every 10 s.
	resp, _ := do(t, s.Client(), http.MethodPost, url, userBody("a", ""), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, body := do(t, s.Client(), http.MethodPost, url, userBody("b", ""), nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	requireSameShape(t, want, body, nil, nil)
	assert.Equal(t, "10000", resp.Header.Get("retry-after-ms"))
	assert.Equal(t, "10", resp.Header.Get("retry-after"))
	assert.Contains(t, string(body), "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2023-05-15 have exceeded call rate limit of your current AIServices S0 pricing tier. Please retry after 10 seconds.")

	// The daily quota message is the fixture's, word for word.
	require.NoError(t, s.SetDailyQuotaExhausted("gpt-4o", true))
	resp, body = do(t, s.Client(), http.MethodPost, url, userBody("c", ""), nil)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.JSONEq(t, string(want), string(body))
	assert.Equal(t, "86400", resp.Header.Get("retry-after"))
	assert.Equal(t, "86400000", resp.Header.Get("retry-after-ms"))
}

func TestFixturePromptFiltered(t *testing.T) {
	rec := readRecording(t, "aoai_error_400_content_filter_prompt_chat.recording.json")
	s := NewServer(WithDeployment("gpt-4", ""), WithContentFilterWords("rob a bank", ""))
	defer s.Close()
	// The recording's URI has a doubled slash, which Azure accepted.
	resp, body := do(t, s.Client(), http.MethodPost, s.URL+"/"+rec.RequestURI[strings.Index(rec.RequestURI, "/openai/"):],
		string(rec.RequestBody), nil)
	require.Equal(t, rec.StatusCode, resp.StatusCode, "body: %s", body)
	assert.JSONEq(t, string(rec.ResponseBody), string(body))
	assert.Equal(t, "model_error", resp.Header.Get("ms-azureml-model-error-reason"))

	// Also with the default word, and on a stream request (still JSON).
	s2 := NewServer()
	defer s2.Close()
	resp, body = do(t, s2.Client(), http.MethodPost, classicURL(s2, "gpt-4o", "2024-10-21"), userBody("please FILTER_PROMPT this", `"stream":true`), nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.JSONEq(t, string(rec.ResponseBody), string(body))
}

func TestFixtureUnsupportedParameter(t *testing.T) {
	want := readFixture(t, "aoai_error_400_unsupported_parameter_max_tokens.issue.json")
	s := NewServer(WithDeployment("o1", ""))
	defer s.Close()
	resp, body := do(t, s.Client(), http.MethodPost, classicURL(s, "o1", "2025-01-01-preview"), userBody("hi", `"max_tokens":100`), nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.JSONEq(t, string(want), string(body))
}

func TestFixtureCompletionFiltered(t *testing.T) {
	want := readFixture(t, "aoai_chat_completion_finish_reason_content_filter_blocklist.doc.json")
	s := NewServer()
	defer s.Close()
	resp, body := do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), userBody("say FILTER_COMPLETION now", ""), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	// The documentation example omits keys every real response has.
	extra := append([]string{"choices[].logprobs", "system_fingerprint"}, newerCompletionKeys...)
	requireSameShape(t, want, body, extra, nil)
	c := decodeCompletion(t, body)
	assert.Equal(t, "content_filter", c.Choices[0].FinishReason)
	assert.Nil(t, c.Choices[0].Message.Content)
	assert.JSONEq(t, `[{"filtered":true,"id":"`+BlocklistID+`"}]`, string(c.Choices[0].ContentFilterResults["custom_blocklists"]))
}
