package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/fixture"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

func newEndpointProvider(m *mockAPI, deployment string) (*anthropic.Provider, error) {
	return anthropic.NewEndpoint(anthropic.Endpoint{
		Name:    "gateway",
		BaseURL: "https://gw.example.com/anthropic",
		Authenticate: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer tok-abcdef")
			return nil
		},
		HTTPClient: m.Client(),
		WireName:   func(registry.Model) string { return deployment },
		Redact:     []string{"tok-abcdef"},
	})
}

func hi(t *testing.T, id string) *llm.Request {
	return &llm.Request{Model: model(t, id), Messages: conversation.New().User("hi").Messages()}
}

func TestResponseFixture(t *testing.T) {
	m := newMock(t, respond(200, string(fixture.Anthropic(t, "messages_create_response.doc.json")),
		map[string]string{"request-id": "req_011CSHoEeqs5C35K2UUqR7Fy"}))
	p := newProvider(t, m)
	resp, err := p.Generate(context.Background(), hi(t, "claude-opus-4-6"))
	require.NoError(t, err)
	assert.Equal(t, "Hi! My name is Claude.", resp.Completion)
	assert.Equal(t, "Hi! My name is Claude.", resp.Message.Text())
	assert.Equal(t, conversation.RoleAssistant, resp.Message.Role)
	assert.Equal(t, "stop", resp.FinishReason)
	assert.Equal(t, "explanation", resp.Refusal, "stop_details of type refusal")
	assert.Equal(t, "claude-opus-4-6", resp.ServedModel)
	assert.Equal(t, "claude-opus-4-6", resp.Model)
	assert.Equal(t, anthropic.ProviderName, resp.Provider)
	assert.Equal(t, "req_011CSHoEeqs5C35K2UUqR7Fy", resp.RequestID)
	// Total input = input_tokens + cache reads + cache writes.
	assert.Equal(t, llm.Usage{InputTokens: 2095 + 2051 + 2051, OutputTokens: 503, CachedInputTokens: 2051, CacheWriteInputTokens: 2051}, resp.Usage)
	// Priced at Opus 4.6's rates: 2095 fresh at 5, 2051 read at 0.50, 2051 written at 6.25, 503 out at 25.
	assert.InDelta(t, (2095*5+2051*0.5+2051*6.25+503*25)/1e6, resp.Usage.Cost(model(t, "claude-opus-4-6")), 1e-12)
}

func TestToolUseFixture(t *testing.T) {
	m := newMock(t, respond(200, string(fixture.Anthropic(t, "messages_tool_use_response.doc.json")), nil))
	p := newProvider(t, m)
	resp, err := p.Generate(context.Background(), hi(t, "claude-opus-4-7"))
	require.NoError(t, err)
	assert.Equal(t, "tool_calls", resp.FinishReason)
	assert.Equal(t, "I'll check the current weather.", resp.Completion)
	calls := resp.Message.ToolCalls()
	require.Len(t, calls, 1)
	assert.Equal(t, "toolu_01A09q90qw90lq917835lq9", calls[0].ID)
	assert.Equal(t, "get_weather", calls[0].Name)
	assert.JSONEq(t, `{"location":"San Francisco, CA","unit":"celsius"}`, calls[0].Arguments)
}

func TestStopReasons(t *testing.T) {
	for stop, want := range map[string]string{
		"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
		"refusal": "content_filter", "pause_turn": "pause_turn", "model_context_window_exceeded": "length",
	} {
		m := newMock(t, respond(200, `{"type":"message","content":[{"type":"text","text":"x"}],"stop_reason":"`+stop+`","usage":{"input_tokens":1,"output_tokens":1}}`, nil))
		resp, err := newProvider(t, m).Generate(context.Background(), hi(t, "claude-haiku-4-5"))
		require.NoError(t, err)
		assert.Equal(t, want, resp.FinishReason, stop)
	}
}

func collect(t *testing.T, p *anthropic.Provider, req *llm.Request) ([]*llm.Chunk, string, error) {
	t.Helper()
	var chunks []*llm.Chunk
	var text strings.Builder
	for c, err := range p.Stream(context.Background(), req) {
		if err != nil {
			return chunks, text.String(), err
		}
		chunks = append(chunks, c)
		text.WriteString(c.Text)
	}
	return chunks, text.String(), nil
}

func TestStreamBasicFixture(t *testing.T) {
	m := newMock(t, respondSSE(string(fixture.Anthropic(t, "messages_stream_basic.doc.sse")), map[string]string{"request-id": "req_s1"}))
	p := newProvider(t, m)
	chunks, text, err := collect(t, p, hi(t, "claude-sonnet-4-5"))
	require.NoError(t, err)
	assert.Equal(t, "Hello!", text)
	assert.Equal(t, true, m.Last(t).Body["stream"])
	assert.Equal(t, "text/event-stream", m.Last(t).Header.Get("Accept"))
	require.Len(t, chunks, 3)
	assert.Equal(t, "req_s1", chunks[0].RequestID)
	assert.Equal(t, "claude-sonnet-4-5-20250929", chunks[0].ServedModel)
	assert.NotNil(t, chunks[0].Header)
	last := chunks[2]
	assert.Equal(t, "stop", last.FinishReason)
	require.NotNil(t, last.Usage)
	assert.Equal(t, llm.Usage{InputTokens: 25, OutputTokens: 15}, *last.Usage, "output_tokens of message_delta are cumulative")
}

func TestStreamToolUseFixture(t *testing.T) {
	m := newMock(t, respondSSE(string(fixture.Anthropic(t, "messages_stream_tool_use.doc.sse")), nil))
	chunks, text, err := collect(t, newProvider(t, m), hi(t, "claude-sonnet-4-5"))
	require.NoError(t, err)
	assert.Equal(t, "Okay, let's check the weather for San Francisco, CA:", text)
	var carriers int
	var calls []conversation.ToolCall
	for _, c := range chunks {
		if len(c.ToolCalls) > 0 {
			carriers++
			calls = append(calls, c.ToolCalls...)
			assert.Equal(t, "tool_calls", c.FinishReason, "calls come whole with the finish reason")
		}
	}
	assert.Equal(t, 1, carriers)
	require.Len(t, calls, 1)
	assert.Equal(t, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", calls[0].ID)
	assert.Equal(t, "get_weather", calls[0].Name)
	assert.JSONEq(t, `{"location": "San Francisco, CA", "unit": "fahrenheit"}`, calls[0].Arguments)
	assert.Equal(t, llm.Usage{InputTokens: 472, OutputTokens: 89}, *chunks[len(chunks)-1].Usage)
}

func TestStreamThinkingFixture(t *testing.T) {
	m := newMock(t, respondSSE(string(fixture.Anthropic(t, "messages_stream_extended_thinking.doc.sse")), nil))
	chunks, text, err := collect(t, newProvider(t, m), hi(t, "claude-sonnet-4-5"))
	require.NoError(t, err)
	assert.Equal(t, "27 * 453 = 12,231", text, "thinking is not part of the completion")
	assert.Equal(t, "stop", chunks[len(chunks)-1].FinishReason)
}

func TestStreamErrorEvent(t *testing.T) {
	body := string(fixture.Anthropic(t, "messages_stream_basic.doc.sse"))
	cut := strings.Index(body, "event: content_block_stop")
	body = body[:cut] + string(fixture.Anthropic(t, "messages_stream_error_overloaded.doc.sse"))
	m := newMock(t, respondSSE(body, map[string]string{"request-id": "req_e"}))
	chunks, text, err := collect(t, newProvider(t, m), hi(t, "claude-sonnet-4-5"))
	require.Error(t, err)
	assert.Equal(t, "Hello!", text, "the text before the error reached the caller")
	assert.Len(t, chunks, 2)
	var le *llm.Error
	require.ErrorAs(t, err, &le)
	assert.Equal(t, llm.CodeUnavailable, le.Code, "overloaded_error is retryable")
	assert.Equal(t, "req_e", le.RequestID)
	var api *anthropic.APIError
	require.ErrorAs(t, err, &api)
	assert.Equal(t, "overloaded_error", api.Type)
}

func TestStreamTruncated(t *testing.T) {
	body := string(fixture.Anthropic(t, "messages_stream_basic.doc.sse"))
	body = body[:strings.Index(body, "event: message_delta")]
	m := newMock(t, respondSSE(body, nil))
	_, text, err := collect(t, newProvider(t, m), hi(t, "claude-sonnet-4-5"))
	assert.Equal(t, "Hello!", text)
	require.Error(t, err)
	assert.True(t, errors.Is(err, llm.ErrUnavailable))
	assert.Contains(t, err.Error(), "message_stop")
}

func TestStreamJSONOutput(t *testing.T) {
	sse := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-haiku-4-5\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_j\",\"name\":\"json_response\",\"input\":{}}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" 1}\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":7}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	m := newMock(t, respondSSE(sse, nil))
	req := hi(t, "claude-haiku-4-5")
	req.ResponseFormat = &llm.ResponseFormat{Type: llm.FormatJSONObject}
	chunks, text, err := collect(t, newProvider(t, m), req)
	require.NoError(t, err)
	assert.Equal(t, `{"a": 1}`, text, "the forced tool's input streams as text")
	last := chunks[len(chunks)-1]
	assert.Equal(t, "stop", last.FinishReason)
	assert.Empty(t, last.ToolCalls)
}

func TestErrors(t *testing.T) {
	notFound := string(fixture.Anthropic(t, "error_404_not_found.doc.json"))
	envelope := func(typ, msg string) string {
		return `{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"}}`
	}
	for _, tc := range []struct {
		name   string
		status int
		body   string
		header map[string]string
		code   llm.Code
		retry  time.Duration
		reqID  string
	}{
		{"401", 401, envelope("authentication_error", "invalid x-api-key"), nil, llm.CodeAuthentication, 0, ""},
		{"403", 403, envelope("permission_error", "Your API key does not have permission to use the specified resource."), nil, llm.CodePermissionDenied, 0, ""},
		{"404 documented", 404, notFound, nil, llm.CodeNotFound, 0, "req_011CSHoEeqs5C35K2UUqR7Fy"},
		{"413", 413, envelope("request_too_large", "Request exceeds the maximum allowed number of bytes."), nil, llm.CodeContextLength, 0, ""},
		{"429", 429, envelope("rate_limit_error", "This request would exceed your organization's rate limit."), map[string]string{"retry-after": "7", "request-id": "req_429"}, llm.CodeRateLimited, 7 * time.Second, "req_429"},
		{"429 daily", 429, envelope("rate_limit_error", "quota"), map[string]string{"retry-after": "86400"}, llm.CodeQuotaExceeded, 86400 * time.Second, ""},
		{"500", 500, envelope("api_error", "Internal server error"), nil, llm.CodeUnavailable, 0, ""},
		{"529", 529, envelope("overloaded_error", "Overloaded"), nil, llm.CodeUnavailable, 0, ""},
		{"400", 400, envelope("invalid_request_error", "messages: roles must alternate"), nil, llm.CodeInvalidRequest, 0, ""},
		{"400 context", 400, envelope("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"), nil, llm.CodeContextLength, 0, ""},
		{"402 billing", 402, envelope("billing_error", "Your credit balance is too low."), nil, llm.CodeQuotaExceeded, 0, ""},
		{"azure 401", 401, `{"error":{"code":"401","message":"Access denied due to invalid subscription key."}}`, map[string]string{"apim-request-id": "apim-1"}, llm.CodeAuthentication, 0, "apim-1"},
		{"azure bearer 401", 401, `{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect."}`, nil, llm.CodeAuthentication, 0, ""},
		{"azure 429 ms", 429, `{"error":{"code":"429","message":"Rate limit is exceeded."}}`, map[string]string{"retry-after-ms": "1500", "retry-after": "2"}, llm.CodeRateLimited, 1500 * time.Millisecond, ""},
		{"html 502", 502, `<html>Bad gateway</html>`, nil, llm.CodeUnavailable, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMock(t, respond(tc.status, tc.body, tc.header))
			p := newProvider(t, m)
			for _, stream := range []bool{false, true} {
				var err error
				if stream {
					_, _, err = collect(t, p, hi(t, "claude-sonnet-4-5"))
				} else {
					_, err = p.Generate(context.Background(), hi(t, "claude-sonnet-4-5"))
				}
				var le *llm.Error
				require.ErrorAs(t, err, &le)
				assert.Equal(t, tc.code, le.Code)
				assert.True(t, errors.Is(err, tc.code.Sentinel()))
				assert.Equal(t, tc.status, le.StatusCode)
				assert.Equal(t, tc.retry, le.RetryAfter)
				assert.Equal(t, tc.reqID, le.RequestID)
				assert.Equal(t, "claude-sonnet-4-5", le.Model)
				assert.NotEmpty(t, le.Message)
			}
			assert.Equal(t, 2, m.Count(), "one request per call: the provider never retries")
		})
	}
}

func TestNoRedirects(t *testing.T) {
	m := newMock(t, func(*http.Request) *http.Response {
		resp := httpmock.NewStringResponse(307, "")
		resp.Header.Set("Location", "https://evil.example.net/v1/messages")
		return resp
	})
	p := newProvider(t, m)
	_, err := p.Generate(context.Background(), hi(t, "claude-sonnet-4-5"))
	require.Error(t, err)
	assert.Equal(t, 1, m.Count(), "the redirect is not followed")
	assert.Contains(t, err.Error(), "evil.example.net")
	assert.Contains(t, err.Error(), "redirect")
	assert.Equal(t, llm.CodeConfiguration, llm.CodeOf(err), "a setting to fix, never retried")
	assert.ErrorIs(t, err, anthropic.ErrRedirect)
	assert.ErrorIs(t, err, openai.ErrRedirect, "one error value for every provider")
	assert.Contains(t, err.Error(), "ANTHROPIC_BASE_URL", "says what to check")
}

func TestSecretsNeverInErrors(t *testing.T) {
	m := newMock(t, respond(401, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key `+testKey+`"}}`, nil))
	_, err := newProvider(t, m).Generate(context.Background(), hi(t, "claude-sonnet-4-5"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testKey)
	var api *anthropic.APIError
	require.ErrorAs(t, err, &api)
	assert.NotContains(t, api.Error(), testKey)
	assert.Contains(t, err.Error(), "ANTHROPIC_API_KEY", "says what to check")
}

func TestResponseTooLarge(t *testing.T) {
	const limit = 1 << 20
	big := `{"content":[{"type":"text","text":"` + strings.Repeat("a", limit) + `"}]}`
	for _, tc := range []struct {
		name  string
		reply func(*http.Request) *http.Response
	}{
		{"body", respond(200, big, nil)},
		{"body without Content-Length", func(r *http.Request) *http.Response {
			resp := respond(200, big, nil)(r)
			resp.ContentLength = -1
			return resp
		}},
		{"stream line", respondSSE("event: message_start\ndata: "+big+"\n\n", nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMock(t, tc.reply)
			p, err := anthropic.New(anthropic.Config{APIKey: testKey, HTTPClient: m.Client(), MaxResponseBytes: limit})
			require.NoError(t, err)
			if strings.HasPrefix(tc.name, "stream") {
				for _, err = range p.Stream(context.Background(), hi(t, "claude-sonnet-4-5")) {
				}
			} else {
				_, err = p.Generate(context.Background(), hi(t, "claude-sonnet-4-5"))
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, anthropic.ErrResponseTooLarge)
			assert.ErrorIs(t, err, openai.ErrResponseTooLarge, "one error value for every provider")
			assert.Equal(t, llm.CodeConfiguration, llm.CodeOf(err), "the same request would bring the same reply: not retried")
			assert.Contains(t, err.Error(), "MaxResponseBytes")
		})
	}
}

// TestSecretsNeverInReplies: a server echoing the credential it was sent
// in a request ID, a header, the text or a tool call gets it redacted, in
// a reply and in a stream alike.
func TestSecretsNeverInReplies(t *testing.T) {
	echo := map[string]string{"request-id": "req-" + testKey, "X-Echo": testKey}
	body := `{"id":"msg_1","type":"message","role":"assistant","model":"m-` + testKey + `","content":[{"type":"text","text":"your key is ` + testKey +
		`"},{"type":"tool_use","id":"t1","name":"f","input":{"k":"` + testKey + `"}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}}`
	m := newMock(t, respond(200, body, echo))
	resp, err := newProvider(t, m).Generate(context.Background(), hi(t, "claude-sonnet-4-5"))
	require.NoError(t, err)
	out, _ := json.Marshal(resp)
	assert.NotContains(t, string(out), testKey)
	assert.NotContains(t, resp.Header.Get("X-Echo"), testKey)
	assert.Contains(t, resp.RequestID, "[REDACTED]")

	sse := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"usage\":{\"input_tokens\":1}}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"key " + testKey + "\"}}\n\n" +
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"echo " + testKey + "\"}}\n\n"
	m = newMock(t, respondSSE(sse, echo))
	var seen strings.Builder
	for c, err := range newProvider(t, m).Stream(context.Background(), hi(t, "claude-sonnet-4-5")) {
		if err != nil {
			seen.WriteString(err.Error())
			continue
		}
		b, _ := json.Marshal(c)
		seen.Write(b)
		seen.WriteString(c.Header.Get("X-Echo"))
	}
	assert.Contains(t, seen.String(), "[REDACTED]")
	assert.NotContains(t, seen.String(), testKey)
}

func TestEndpoint(t *testing.T) {
	m := newMock(t, respond(401, `{"statusCode":401,"message":"token tok-abcdef rejected"}`, nil))
	p, err := newEndpointProvider(m, "prod-claude")
	require.NoError(t, err)
	_, err = p.Generate(context.Background(), hi(t, "claude-sonnet-4-5"))
	require.Error(t, err)
	c := m.Last(t)
	assert.Equal(t, "https://gw.example.com/anthropic/v1/messages", c.URL)
	assert.Equal(t, "Bearer tok-abcdef", c.Header.Get("Authorization"))
	assert.Empty(t, c.Header.Get("x-api-key"))
	assert.Equal(t, "prod-claude", c.Body["model"])
	var le *llm.Error
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "gateway", le.Provider)
	assert.NotContains(t, err.Error(), "tok-abcdef")
	assert.NotContains(t, err.Error(), "ANTHROPIC_API_KEY", "the anthropic provider's advice is not given for another provider's endpoint")

	failing, err := anthropic.NewEndpoint(anthropic.Endpoint{BaseURL: "https://gw.example.com/anthropic", HTTPClient: m.Client(),
		Authenticate: func(*http.Request) error { return errors.New("no token") }})
	require.NoError(t, err)
	before := m.Count()
	_, err = failing.Generate(context.Background(), hi(t, "claude-sonnet-4-5"))
	require.True(t, errors.Is(err, llm.ErrAuthentication))
	assert.Equal(t, before, m.Count(), "nothing is sent without a credential")
}

func TestConfig(t *testing.T) {
	_, err := anthropic.New(anthropic.Config{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ANTHROPIC_API_KEY")

	_, err = anthropic.New(anthropic.Config{APIKey: "k", AuthToken: "t"})
	require.Error(t, err)

	_, err = anthropic.New(anthropic.Config{APIKey: "k", BaseURL: "http://10.0.0.5:8080"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ANTHROPIC_ALLOW_INSECURE_HTTP")

	_, err = anthropic.New(anthropic.Config{APIKey: "k", BaseURL: "http://127.0.0.1:8080"})
	require.NoError(t, err, "loopback http is fine")

	cfg := anthropic.Config{APIKey: testKey, AuthToken: "secret-token"}
	for _, s := range []string{cfg.String(), cfg.GoString()} {
		assert.NotContains(t, s, testKey)
		assert.NotContains(t, s, "secret-token")
	}

	m := newMock(t, respond(200, okBody, nil))
	p, err := anthropic.New(anthropic.Config{AuthToken: "bearer-xyz", BaseURL: "https://proxy.example.com/v1/", HTTPClient: m.Client()})
	require.NoError(t, err)
	_, err = p.Generate(context.Background(), hi(t, "claude-sonnet-4-5"))
	require.NoError(t, err)
	assert.Equal(t, "https://proxy.example.com/v1/messages", m.Last(t).URL, "a pasted /v1 is not doubled")
	assert.Equal(t, "Bearer bearer-xyz", m.Last(t).Header.Get("Authorization"))
}

func TestCustomModelEndpoint(t *testing.T) {
	t.Setenv("MY_GATEWAY_KEY", "gw-key-123456")
	m := newMock(t, respond(200, okBody, nil))
	p := newProvider(t, m)
	mdl := model(t, "claude-haiku-4-5")
	mdl.APIBase, mdl.APIKeyEnvVar = "https://llm-gw.example.com", "MY_GATEWAY_KEY"
	_, err := p.Generate(context.Background(), &llm.Request{Model: mdl, Messages: conversation.New().User("hi").Messages()})
	require.NoError(t, err)
	assert.Equal(t, "https://llm-gw.example.com/v1/messages", m.Last(t).URL)
	assert.Equal(t, "gw-key-123456", m.Last(t).Header.Get("x-api-key"))

	mdl.APIKeyEnvVar = "UNSET_VAR_FOR_TEST"
	_, err = p.Generate(context.Background(), &llm.Request{Model: mdl, Messages: conversation.New().User("hi").Messages()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "UNSET_VAR_FOR_TEST")
}

func TestCanceled(t *testing.T) {
	m := newMock(t, respond(200, okBody, nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newProvider(t, m).Generate(ctx, hi(t, "claude-sonnet-4-5"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled))
	assert.Equal(t, llm.CodeCanceled, llm.CodeOf(err))
}

// TestFixtureCoverage fails when a fixture is added to fixtures/anthropic
// without a test replaying it.
func TestFixtureCoverage(t *testing.T) {
	replayed := []string{"SOURCES.md",
		"messages_create_response.doc.json", "messages_tool_use_response.doc.json", "error_404_not_found.doc.json",
		"messages_stream_basic.doc.sse", "messages_stream_tool_use.doc.sse", "messages_stream_extended_thinking.doc.sse",
		"messages_stream_error_overloaded.doc.sse"}
	entries, err := os.ReadDir(filepath.Join("..", "..", "fixtures", "anthropic"))
	require.NoError(t, err)
	for _, e := range entries {
		assert.Contains(t, replayed, e.Name(), "fixture %s is not replayed by any test", e.Name())
	}
}

// TestLoopbackIsLiteral: plain http is allowed with a key only to
// localhost itself and literal loopback addresses; a name under .localhost
// is resolved like any other and gets no exemption.
func TestLoopbackIsLiteral(t *testing.T) {
	for base, ok := range map[string]bool{
		"http://localhost:8080":          true,
		"http://127.0.0.1:8080":          true,
		"http://[::1]:8080":              true,
		"http://evil.localhost:8080":     false,
		"http://localhost.example.com":   false,
		"http://127.0.0.1.nip.io:8080":   false,
		"https://evil.localhost:8080":    true,
		"http://[::ffff:127.0.0.1]:8080": true,
	} {
		_, err := anthropic.New(anthropic.Config{APIKey: testKey, BaseURL: base})
		if ok {
			assert.NoError(t, err, base)
		} else {
			assert.ErrorContains(t, err, "clear text", base)
		}
	}
}
