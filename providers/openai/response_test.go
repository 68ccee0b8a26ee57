package openai_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
)

func generateWith(t *testing.T, status int, header http.Header, body string) (*llm.Response, error) {
	t.Helper()
	p, _ := mockProvider(t, openai.Config{}, status, header, body)
	return p.Generate(t.Context(), &llm.Request{Model: model("gpt-4o"), Messages: conversation.New().User("x").Messages()})
}

func TestParseResponse(t *testing.T) {
	body := `{"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06",
	"choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},
		"logprobs":{"content":[
			{"token":"Hello","logprob":-0.1,"bytes":[72,101,108,108,111],"top_logprobs":[{"token":"Hello","logprob":-0.1,"bytes":[72]},{"token":"Hi","logprob":-2.5,"bytes":null}]},
			{"token":" there","logprob":-0.3,"bytes":null,"top_logprobs":[]}]},
		"finish_reason":"length"}],
	"usage":{"prompt_tokens":1200,"completion_tokens":40,"total_tokens":1240,
		"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},
		"completion_tokens_details":{"reasoning_tokens":12,"audio_tokens":0}},
	"system_fingerprint":"fp_1"}`
	header := http.Header{"X-Request-Id": {"req_abc"}, "X-Ratelimit-Remaining-Requests": {"99"}}
	resp, err := generateWith(t, 200, header, body)
	require.NoError(t, err)

	assert.Equal(t, "gpt-4o", resp.Model, "Model is the catalog ID")
	assert.Equal(t, openai.ProviderName, resp.Provider)
	assert.Equal(t, "gpt-4o-2024-08-06", resp.ServedModel)
	assert.Equal(t, "Hello there", resp.Completion)
	assert.Equal(t, conversation.Message{Role: conversation.RoleAssistant, Parts: []conversation.Part{conversation.Text("Hello there")}}, resp.Message)
	assert.Equal(t, "length", resp.FinishReason)
	assert.Equal(t, llm.Usage{InputTokens: 1200, OutputTokens: 40, CachedInputTokens: 1024, ReasoningTokens: 12}, resp.Usage)
	assert.Equal(t, "req_abc", resp.RequestID)
	assert.Equal(t, "99", resp.Header.Get("x-ratelimit-remaining-requests"))
	assert.Empty(t, resp.Region)
	assert.Nil(t, resp.ContentFilter)
	assert.Nil(t, resp.PromptFilter)
	assert.Zero(t, resp.Cost, "the Client prices the call")
	assert.Zero(t, resp.Attempts)
	assert.Zero(t, resp.Latency)
	assert.Equal(t, []llm.TokenLogprob{
		{Token: "Hello", Logprob: -0.1, Bytes: []byte("Hello"), TopLogprobs: []llm.TopLogprob{
			{Token: "Hello", Logprob: -0.1, Bytes: []byte("H")}, {Token: "Hi", Logprob: -2.5}}},
		{Token: " there", Logprob: -0.3},
	}, resp.Logprobs)
}

func TestParseToolCalls(t *testing.T) {
	body := `{"id":"c","object":"chat.completion","created":1,"model":"gpt-4.1",
	"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
		{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
		{"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]},
		"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}}`
	resp, err := generateWith(t, 200, nil, body)
	require.NoError(t, err)
	assert.Equal(t, "tool_calls", resp.FinishReason)
	assert.Empty(t, resp.Completion)
	assert.Equal(t, []conversation.ToolCall{
		{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`},
		{ID: "call_b", Name: "get_time", Arguments: `{}`},
	}, resp.Message.ToolCalls())
	require.NoError(t, resp.Message.Validate(), "the reply can be appended to the conversation as is")
}

func TestParseFinishReasons(t *testing.T) {
	for _, fr := range []string{"stop", "length", "tool_calls", "content_filter", "function_call"} {
		body := `{"choices":[{"index":0,"message":{"role":"assistant","content":"a"},"finish_reason":"` + fr + `"}],"usage":{}}`
		resp, err := generateWith(t, 200, nil, body)
		require.NoError(t, err)
		assert.Equal(t, fr, resp.FinishReason)
	}
}

func TestParseRequestIDPrefersAzure(t *testing.T) {
	resp, err := generateWith(t, 200, http.Header{"Apim-Request-Id": {"apim-1"}, "X-Request-Id": {"x-1"}, "X-Ms-Region": {"Sweden Central"}}, okBody)
	require.NoError(t, err)
	assert.Equal(t, "apim-1", resp.RequestID)
	assert.Equal(t, "Sweden Central", resp.Region)
}

func TestParseNoChoices(t *testing.T) {
	_, err := generateWith(t, 200, nil, `{"id":"x","choices":[],"usage":{}}`)
	require.Error(t, err)
	var le *llm.Error
	require.ErrorAs(t, err, &le)
	assert.Equal(t, llm.CodeUnknown, le.Code)
	assert.Equal(t, 200, le.StatusCode)
}

func TestParseContentAsParts(t *testing.T) {
	resp, err := generateWith(t, 200, nil, `{"choices":[{"index":0,"message":{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},"finish_reason":"stop"}]}`)
	require.NoError(t, err)
	assert.Equal(t, "ab", resp.Completion)
	assert.Equal(t, llm.Usage{}, resp.Usage, "no usage reported")
}

// TestParseContentShapes: content as null, parts without text, or a type
// no server sends reads as no text; parts that are not objects with a
// string "text" make the reply undecodable, as they did when the parts
// were decoded into a typed slice.
func TestParseContentShapes(t *testing.T) {
	reply := func(content string) string {
		return `{"choices":[{"index":0,"message":{"role":"assistant","content":` + content + `},"finish_reason":"stop"}]}`
	}
	for content, want := range map[string]string{
		`null`:       "",
		`"a\n\"b\""`: "a\n\"b\"",
		`[{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"c"}]`: "c",
		`[null,{"text":null},{"text":"d"}]`:                                         "d",
		`[]`:                                                                        "",
		`42`:                                                                        "",
		`{"text":"e"}`:                                                              "",
	} {
		resp, err := generateWith(t, 200, nil, reply(content))
		require.NoError(t, err, content)
		assert.Equal(t, want, resp.Completion, content)
	}
	for _, content := range []string{`["a"]`, `[{"text":1}]`, `[[]]`} {
		_, err := generateWith(t, 200, nil, reply(content))
		var le *llm.Error
		require.ErrorAs(t, err, &le, content)
		assert.Equal(t, llm.CodeUnknown, le.Code, content)
	}
}

func TestParseNotJSON(t *testing.T) {
	_, err := generateWith(t, 200, http.Header{"Content-Type": {"text/html"}}, "<html>welcome</html>")
	require.Error(t, err)
	var le *llm.Error
	require.ErrorAs(t, err, &le)
	assert.Equal(t, llm.CodeUnknown, le.Code)
	assert.Contains(t, le.Message, "OpenAI-compatible")
}

func TestParseRefusal(t *testing.T) {
	body := `{"id":"c","object":"chat.completion","created":1,"model":"gpt-4o",
	"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}`
	resp, err := generateWith(t, 200, nil, body)
	require.NoError(t, err)
	assert.Equal(t, "I can't help with that.", resp.Refusal)
	assert.Empty(t, resp.Completion)
}
