package openai_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

const responsesURL = "https://api.openai.com/v1/responses"

// okResponse is a minimal completed response object.
const okResponse = `{"id":"resp_1","object":"response","status":"completed","model":"gpt-4o-2024-11-20",
"output":[{"type":"message","id":"msg_1","role":"assistant","status":"completed","content":[{"type":"output_text","text":"ok","annotations":[]}]}],
"usage":{"input_tokens":3,"input_tokens_details":{"cached_tokens":0},"output_tokens":1,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":4},
"service_tier":"default"}`

func responsesRequest(m registry.Model, conv *conversation.Conversation, s llm.Sampling) *llm.Request {
	s.API = llm.APIResponses
	return &llm.Request{Model: m, Messages: conv.Messages(), Sampling: s}
}

// TestResponsesWireRequest: the conversation becomes instructions and input
// items, the settings the Responses API's own fields, as OpenAI's API
// reference defines them.
func TestResponsesWireRequest(t *testing.T) {
	p, w := mockProvider(t, openai.Config{Organization: "org-1"}, 200, nil, okResponse)
	conv := conversation.New().
		System("Be terse.").
		System("Answer in French.").
		User("Look:", conversation.ImageData("image/png", []byte{1, 2}), conversation.FileData("a.pdf", "application/pdf", []byte("%PDF"))).
		Add(conversation.Message{Role: conversation.RoleAssistant, Parts: []conversation.Part{
			conversation.Text("Calling."), conversation.Call("call_1", "lookup", `{"q":"x"}`), conversation.Call("call_2", "now", "")}}).
		Add(conversation.Message{Role: conversation.RoleTool, Parts: []conversation.Part{conversation.Result("call_1", "42"), conversation.Result("call_2", "")}}).
		User("And?")
	req := responsesRequest(model("gpt-4o"), conv, llm.Sampling{
		Temperature: ptr(0.0), TopP: ptr(0.5), MaxNewTokens: 100, User: "u1", Seed: ptr(int64(7)),
		Tools:          []llm.Tool{{Name: "lookup", Description: "Look up", Parameters: []byte(`{"type":"object"}`)}, {Name: "now", Strict: true}},
		ToolChoice:     "lookup",
		ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "out", Schema: []byte(`{"type":"object"}`), Strict: true},
		Logprobs:       true, TopLogprobs: 2,
	})
	resp, err := p.Generate(t.Context(), req)
	require.NoError(t, err)
	assert.Equal(t, "ok", resp.Completion)

	r, body := w.last(t)
	assert.Equal(t, responsesURL, r.URL)
	assert.Equal(t, "Bearer "+testKey, r.Header.Get("Authorization"))
	assert.Equal(t, "org-1", r.Header.Get("OpenAI-Organization"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.JSONEq(t, `{
		"model": "gpt-4o",
		"instructions": "Be terse.\n\nAnswer in French.",
		"input": [
			{"type":"message","role":"user","content":[
				{"type":"input_text","text":"Look:"},
				{"type":"input_image","image_url":"data:image/png;base64,AQI=","detail":"auto"},
				{"type":"input_file","filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERg=="}]},
			{"type":"message","role":"assistant","content":"Calling."},
			{"type":"function_call","call_id":"call_1","name":"lookup","arguments":"{\"q\":\"x\"}"},
			{"type":"function_call","call_id":"call_2","name":"now","arguments":"{}"},
			{"type":"function_call_output","call_id":"call_1","output":"42"},
			{"type":"function_call_output","call_id":"call_2","output":""},
			{"type":"message","role":"user","content":"And?"}
		],
		"max_output_tokens": 100,
		"temperature": 0,
		"top_p": 0.5,
		"tools": [
			{"type":"function","name":"lookup","description":"Look up","parameters":{"type":"object"},"strict":false},
			{"type":"function","name":"now","parameters":{"type":"object","properties":{}},"strict":true}
		],
		"tool_choice": {"type":"function","name":"lookup"},
		"text": {"format":{"type":"json_schema","name":"out","schema":{"type":"object"},"strict":true}},
		"top_logprobs": 2,
		"include": ["message.output_text.logprobs"],
		"store": false,
		"user": "u1"
	}`, string(body))
}

// TestResponsesWireReasoning: reasoning models get reasoning.effort and
// summary and no sampling knobs; background mode stores the response.
func TestResponsesWireReasoning(t *testing.T) {
	p, w := mockProvider(t, openai.Config{}, 200, nil, okResponse)
	m := registry.Model{ID: "o3", Provider: "openai", Name: "o3", Reasoning: true}
	_, err := p.Generate(t.Context(), responsesRequest(m, conversation.New().User("hi"), llm.Sampling{
		Temperature: ptr(0.3), ReasoningEffort: "high", ReasoningSummary: "detailed", Logprobs: true,
		PreviousResponseID: "resp_prev", Background: true,
	}))
	require.NoError(t, err)
	_, body := w.last(t)
	assert.JSONEq(t, `{"model":"o3","input":[{"type":"message","role":"user","content":"hi"}],
		"reasoning":{"effort":"high","summary":"detailed"},"previous_response_id":"resp_prev","store":true,"background":true}`, string(body))

	// A chat model gets no reasoning object, whatever the options say.
	_, err = p.Generate(t.Context(), responsesRequest(model("gpt-4.1"), conversation.New().User("hi"), llm.Sampling{ReasoningSummary: "auto", Store: ptr(true)}))
	require.NoError(t, err)
	_, body = w.last(t)
	assert.JSONEq(t, `{"model":"gpt-4.1","input":[{"type":"message","role":"user","content":"hi"}],"store":true}`, string(body))
}

// TestResponsesRouting: which calls go to the Responses API.
func TestResponsesRouting(t *testing.T) {
	p, w := mockProvider(t, openai.Config{}, 200, nil, okResponse)
	only := registry.Model{ID: "gpt-5-codex", Provider: "openai", Name: "gpt-5-codex", APISpec: registry.APISpecResponses, Reasoning: true}
	for name, req := range map[string]*llm.Request{
		"model's APISpec":      {Model: only, Messages: conversation.New().User("x").Messages()},
		"WithAPI":              responsesRequest(model("gpt-4o"), conversation.New().User("x"), llm.Sampling{}),
		"previous response ID": {Model: model("gpt-4o"), Messages: conversation.New().User("x").Messages(), Sampling: llm.Sampling{PreviousResponseID: "resp_1"}},
	} {
		_, err := p.Generate(t.Context(), req)
		require.NoError(t, err, name)
		r, _ := w.last(t)
		assert.Equal(t, responsesURL, r.URL, name)
	}
}

// TestResponsesRejected: requests the Responses API cannot take fail
// before anything is sent, saying what to change.
func TestResponsesRejected(t *testing.T) {
	for name, tt := range map[string]struct {
		s      llm.Sampling
		stream bool
		want   string
	}{
		"stop":                  {s: llm.Sampling{Stop: []string{"x"}}, want: "no stop sequences"},
		"tiny max tokens":       {s: llm.Sampling{MaxNewTokens: 5}, want: "minimum of 16"},
		"background unstored":   {s: llm.Sampling{Background: true, Store: ptr(false)}, want: "needs the response stored"},
		"streamed background":   {s: llm.Sampling{Background: true}, stream: true, want: "cannot run in the background"},
		"bad response format":   {s: llm.Sampling{ResponseFormat: &llm.ResponseFormat{Type: "yaml"}}, want: "unknown response format"},
		"tool without name":     {s: llm.Sampling{Tools: []llm.Tool{{}}}, want: "has no name"},
		"tool with bad schema":  {s: llm.Sampling{Tools: []llm.Tool{{Name: "f", Parameters: []byte("{")}}}, want: "not valid JSON"},
		"json schema no schema": {s: llm.Sampling{ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema}}, want: "needs Schema"},
	} {
		t.Run(name, func(t *testing.T) {
			p, w := mockProvider(t, openai.Config{}, 200, nil, okResponse)
			req := responsesRequest(model("gpt-4o"), conversation.New().User("x"), tt.s)
			var err error
			if tt.stream {
				for _, e := range p.Stream(t.Context(), req) {
					err = e
				}
			} else {
				_, err = p.Generate(t.Context(), req)
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, llm.ErrInvalidRequest)
			assert.Contains(t, err.Error(), tt.want)
			assert.Zero(t, w.Count(), "nothing is sent")
		})
	}
}

// TestResponsesMapping: output items become the Response: text, refusal,
// reasoning summary, tool calls, usage, status, Azure's content filters.
func TestResponsesMapping(t *testing.T) {
	body := `{"id":"resp_9","object":"response","status":"completed","model":"o4-mini-2025-04-16","service_tier":"flex",
	"output":[
		{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"First."},{"type":"summary_text","text":"Second."}]},
		{"type":"message","id":"msg_1","role":"assistant","content":[
			{"type":"output_text","text":"Hello ","annotations":[],"logprobs":[{"token":"Hello","logprob":-0.1,"bytes":[72],"top_logprobs":[]}]},
			{"type":"output_text","text":"there","annotations":[]},
			{"type":"refusal","refusal":"no more"}]},
		{"type":"function_call","id":"fc_1","call_id":"call_7","name":"f","arguments":"{\"a\":1}","status":"completed"},
		{"type":"web_search_call","id":"ws_1","status":"completed"}
	],
	"usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":4},"output_tokens":20,"output_tokens_details":{"reasoning_tokens":12},"total_tokens":30},
	"content_filters":[
		{"blocked":false,"source_type":"prompt","content_filter_results":{"jailbreak":{"filtered":false,"detected":false}},"content_filter_offsets":{"start_offset":0,"end_offset":10,"check_offset":0}},
		{"blocked":false,"source_type":"completion","content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"content_filter_offsets":{"start_offset":0,"end_offset":11,"check_offset":11}}
	]}`
	p, _ := mockProvider(t, openai.Config{}, 200, http.Header{"X-Request-Id": {"req-1"}}, body)
	resp, err := p.Generate(t.Context(), responsesRequest(model("o4-mini"), conversation.New().User("x"), llm.Sampling{}))
	require.NoError(t, err)
	assert.Equal(t, "Hello there", resp.Completion)
	assert.Equal(t, "no more", resp.Refusal)
	assert.Equal(t, "First.\n\nSecond.", resp.ReasoningSummary)
	assert.Equal(t, "tool_calls", resp.FinishReason)
	assert.Equal(t, []conversation.ToolCall{{ID: "call_7", Name: "f", Arguments: `{"a":1}`}}, resp.Message.ToolCalls())
	assert.Equal(t, "Hello there", resp.Message.Text())
	assert.Equal(t, llm.Usage{InputTokens: 10, CachedInputTokens: 4, OutputTokens: 20, ReasoningTokens: 12}, resp.Usage)
	assert.Equal(t, "resp_9", resp.ResponseID)
	assert.Equal(t, "completed", resp.Status)
	assert.Equal(t, "flex", resp.ServiceTier)
	assert.Equal(t, "o4-mini-2025-04-16", resp.ServedModel)
	assert.Equal(t, "req-1", resp.RequestID)
	require.Len(t, resp.Logprobs, 1)
	assert.Equal(t, llm.TokenLogprob{Token: "Hello", Logprob: -0.1, Bytes: []byte{72}}, resp.Logprobs[0])
	require.Len(t, resp.PromptFilter, 1)
	assert.Equal(t, llm.DetectionResult{}, resp.PromptFilter[0].Jailbreak)
	require.NotNil(t, resp.ContentFilter)
	assert.Equal(t, safe(), resp.ContentFilter.Hate)
}

// TestResponsesStatuses: incomplete, blocked, failed and cancelled
// responses.
func TestResponsesStatuses(t *testing.T) {
	cases := map[string]struct {
		body       string
		finish     string
		code       llm.Code
		retryable  bool
		msgContain string
	}{
		"cut by max_output_tokens": {body: `{"id":"r","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[{"type":"message","content":[{"type":"output_text","text":"par"}]}]}`, finish: "length"},
		"cut by the filter":        {body: `{"id":"r","status":"incomplete","incomplete_details":{"reason":"content_filter"},"output":[]}`, finish: llm.FinishContentFilter},
		"completion blocked":       {body: `{"id":"r","status":"completed","output":[],"content_filters":[{"blocked":true,"source_type":"completion","content_filter_results":{"violence":{"filtered":true,"severity":"high"}}}]}`, finish: llm.FinishContentFilter},
		"failed, server error":     {body: `{"id":"r","status":"failed","error":{"code":"server_error","message":"boom"}}`, code: llm.CodeUnavailable, retryable: true, msgContain: "boom"},
		"failed, rate limit":       {body: `{"id":"r","status":"failed","error":{"code":"rate_limit_exceeded","message":"slow down"}}`, code: llm.CodeRateLimited, retryable: true},
		"failed, invalid prompt":   {body: `{"id":"r","status":"failed","error":{"code":"invalid_prompt","message":"no"}}`, code: llm.CodeInvalidRequest},
		"failed, bad image":        {body: `{"id":"r","status":"failed","error":{"code":"invalid_image_url","message":"no"}}`, code: llm.CodeInvalidRequest},
		"cancelled":                {body: `{"id":"r","status":"cancelled","output":[]}`, code: llm.CodeCanceled},
	}
	for name, tt := range cases {
		t.Run(name, func(t *testing.T) {
			p, _ := mockProvider(t, openai.Config{}, 200, nil, tt.body)
			resp, err := p.Generate(t.Context(), responsesRequest(model("gpt-4o"), conversation.New().User("x"), llm.Sampling{}))
			if tt.code == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.finish, resp.FinishReason)
				return
			}
			require.Error(t, err)
			var le *llm.Error
			require.ErrorAs(t, err, &le)
			assert.Equal(t, tt.code, le.Code)
			assert.Equal(t, 200, le.StatusCode, "the failure came in a 200 body (llm.Poller's convention)")
			assert.Equal(t, tt.retryable, le.Code.Retryable())
			assert.Contains(t, le.Message, tt.msgContain)
		})
	}
}

// TestResponsesHTTPErrors: an HTTP error is the *llm.Error the chat path
// returns, with go-openai's *APIError inside and no secret.
func TestResponsesHTTPErrors(t *testing.T) {
	p, _ := mockProvider(t, openai.Config{}, 429, http.Header{"Retry-After-Ms": {"1500"}},
		`{"error":{"code":"rate_limit_exceeded","message":"Rate limit reached for key `+testKey+`","type":"requests"}}`)
	_, err := p.Generate(t.Context(), responsesRequest(model("gpt-4o"), conversation.New().User("x"), llm.Sampling{}))
	require.Error(t, err)
	var le *llm.Error
	require.ErrorAs(t, err, &le)
	assert.Equal(t, llm.CodeRateLimited, le.Code)
	assert.Equal(t, 429, le.StatusCode)
	assert.Equal(t, int64(1500), le.RetryAfter.Milliseconds())
	var apiErr *goopenai.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.NotContains(t, err.Error(), testKey)
	assert.NotContains(t, apiErr.Message, testKey)

	p, _ = mockProvider(t, openai.Config{}, 302, http.Header{"Location": {"https://elsewhere.example/x"}}, "")
	_, err = p.Generate(t.Context(), responsesRequest(model("gpt-4o"), conversation.New().User("x"), llm.Sampling{}))
	assert.ErrorIs(t, err, openai.ErrRedirect)
	assert.ErrorIs(t, err, llm.ErrConfiguration)
}

// respSSE renders Responses API events as the server sends them.
func respSSE(events ...string) string {
	var b strings.Builder
	for _, e := range events {
		var head struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal([]byte(e), &head)
		var c bytes.Buffer
		if json.Compact(&c, []byte(e)) == nil {
			e = c.String() // a data line holds no newline
		}
		b.WriteString("event: " + head.Type + "\ndata: " + e + "\n\n")
	}
	return b.String()
}

func TestResponsesStream(t *testing.T) {
	body := respSSE(
		`{"type":"response.created","sequence_number":0,"response":{"id":"resp_s","model":"o4-mini-2025-04-16","status":"in_progress","output":[]}}`,
		`{"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_s","status":"in_progress"}}`,
		`{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"type":"reasoning","id":"rs_1","summary":[]}}`,
		`{"type":"response.reasoning_summary_text.delta","sequence_number":3,"item_id":"rs_1","summary_index":0,"delta":"Think"}`,
		`{"type":"response.reasoning_summary_text.delta","sequence_number":4,"item_id":"rs_1","summary_index":0,"delta":"ing."}`,
		`{"type":"response.reasoning_summary_text.delta","sequence_number":5,"item_id":"rs_1","summary_index":1,"delta":"More."}`,
		`{"type":"response.output_text.delta","sequence_number":6,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Hel","logprobs":[]}`,
		`{"type":"response.output_text.delta","sequence_number":7,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"lo \"you\"","logprobs":[]}`,
		`{"type":"response.output_item.added","sequence_number":8,"output_index":2,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":""}}`,
		`{"type":"response.function_call_arguments.delta","sequence_number":9,"item_id":"fc_1","output_index":2,"delta":"{\"a\""}`,
		`{"type":"response.function_call_arguments.delta","sequence_number":10,"item_id":"fc_1","output_index":2,"delta":":1}"}`,
		`{"type":"response.some_future_event","sequence_number":11,"delta":{"x":1}}`,
		`{"type":"response.completed","sequence_number":12,"response":{"id":"resp_s","status":"completed","service_tier":"default","output":[
			{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{\"a\":1}"}],
			"usage":{"input_tokens":5,"output_tokens":9,"output_tokens_details":{"reasoning_tokens":4}}}}`,
	)
	p := streamProvider(t, 200, http.Header{"Apim-Request-Id": {"apim-1"}, "X-Ms-Region": {"East US"}}, io.NopCloser(strings.NewReader(body)))
	r := drain(p, t.Context(), responsesRequest(model("o4-mini"), conversation.New().User("x"), llm.Sampling{}))
	require.NoError(t, r.err)
	assert.Equal(t, `Hello "you"`, r.text)
	var summary strings.Builder
	for _, c := range r.chunks {
		summary.WriteString(c.ReasoningSummary)
	}
	assert.Equal(t, "Thinking.\n\nMore.", summary.String())
	first, last := r.chunks[0], r.chunks[len(r.chunks)-1]
	assert.Equal(t, "apim-1", first.RequestID)
	assert.Equal(t, "East US", first.Region)
	assert.Equal(t, "o4-mini-2025-04-16", first.ServedModel)
	assert.Equal(t, "tool_calls", last.FinishReason)
	assert.Equal(t, []conversation.ToolCall{{ID: "call_1", Name: "f", Arguments: `{"a":1}`}}, last.ToolCalls)
	require.NotNil(t, last.Usage)
	assert.Equal(t, llm.Usage{InputTokens: 5, OutputTokens: 9, ReasoningTokens: 4}, *last.Usage)
	assert.Equal(t, "resp_s", last.ResponseID)
	assert.Equal(t, "completed", last.Status)
	for _, c := range r.chunks[:len(r.chunks)-1] {
		assert.Empty(t, c.FinishReason)
		assert.Nil(t, c.Usage)
	}
}

func TestResponsesStreamEndings(t *testing.T) {
	created := `{"type":"response.created","sequence_number":0,"response":{"id":"r","status":"in_progress"}}`
	delta := `{"type":"response.output_text.delta","sequence_number":1,"item_id":"m","delta":"a"}`
	for name, tt := range map[string]struct {
		body   string
		code   llm.Code
		finish string
	}{
		"incomplete":         {body: respSSE(created, delta, `{"type":"response.incomplete","sequence_number":2,"response":{"id":"r","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}}`), finish: "length"},
		"failed":             {body: respSSE(created, delta, `{"type":"response.failed","sequence_number":2,"response":{"id":"r","status":"failed","error":{"code":"server_error","message":"x"}}}`), code: llm.CodeUnavailable},
		"error event":        {body: respSSE(created, `{"type":"error","sequence_number":1,"code":"server_error","message":"That model is currently overloaded","param":null}`), code: llm.CodeUnavailable},
		"error event, typed": {body: respSSE(created, `{"type":"error","sequence_number":1,"error":{"type":"invalid_request_error","code":"bad","message":"no"}}`), code: llm.CodeInvalidRequest},
		"cut short":          {body: respSSE(created, delta), code: llm.CodeUnavailable},
		"malformed":          {body: "data: {not json\n\n", code: llm.CodeUnknown},
		"no final object":    {body: respSSE(created, `{"type":"response.completed","sequence_number":1}`), code: llm.CodeUnknown},
	} {
		t.Run(name, func(t *testing.T) {
			p := streamProvider(t, 200, nil, io.NopCloser(strings.NewReader(tt.body)))
			r := drain(p, t.Context(), responsesRequest(model("gpt-4o"), conversation.New().User("x"), llm.Sampling{}))
			if tt.code == "" {
				require.NoError(t, r.err)
				assert.Equal(t, tt.finish, r.chunks[len(r.chunks)-1].FinishReason)
				return
			}
			require.Error(t, r.err)
			assert.Equal(t, tt.code, llm.CodeOf(r.err), "%v", r.err)
		})
	}
}

func TestResponsesStreamEarlyBreakClosesBody(t *testing.T) {
	body := &countingBody{Reader: strings.NewReader(respSSE(
		`{"type":"response.output_text.delta","sequence_number":0,"delta":"a"}`,
		`{"type":"response.output_text.delta","sequence_number":1,"delta":"b"}`))}
	p := streamProvider(t, 200, nil, body)
	for range p.Stream(t.Context(), responsesRequest(model("gpt-4o"), conversation.New().User("x"), llm.Sampling{})) {
		break
	}
	assert.Equal(t, int32(1), body.closed.Load())
}

// TestResponsesAzureEmulator drives the serializer against the emulator on
// both URL families, through NewFromClientConfig as the azure-foundry
// provider builds it: plain, reasoning summary, stream, tool round trip,
// chaining, background polling and cancel, the completion filter.
func TestResponsesAzureEmulator(t *testing.T) {
	const key = "azure-key-0123456789"
	for _, classic := range []bool{false, true} {
		name := map[bool]string{false: "v1", true: "classic"}[classic]
		t.Run(name, func(t *testing.T) {
			srv := azuretest.NewServer(azuretest.WithAPIKeys(key), azuretest.WithDeployment("gpt-4o", ""),
				azuretest.WithDeployment("my o4", "o4-mini"), azuretest.WithBackgroundTiming(0, 0))
			t.Cleanup(srv.Close)
			cc := goopenai.DefaultConfig("")
			cc.HTTPClient = srv.Client()
			opts := openai.Options{Name: "azure-foundry", APIKey: key}
			if classic {
				cc.BaseURL = srv.URL
				cc.APIType = goopenai.APITypeAzure
				cc.APIVersion = "2024-10-21"
				cc.AzureModelMapperFunc = func(s string) string { return s }
				opts.ResponsesAPIVersion = "2025-04-01-preview"
			} else {
				cc.BaseURL = srv.URL + "/openai/v1"
			}
			p, err := openai.NewFromClientConfig(cc, opts)
			require.NoError(t, err)
			gpt4o := registry.Model{ID: "azure-gpt-4o", Provider: "azure-foundry", Name: "gpt-4o"}
			o4 := registry.Model{ID: "azure-o4-mini", Provider: "azure-foundry", Name: "my o4", Reasoning: true}
			ctx := t.Context()

			// Plain, with instructions.
			resp, err := p.Generate(ctx, responsesRequest(gpt4o, conversation.New().System("Be terse.").User("Hello there"), llm.Sampling{}))
			require.NoError(t, err)
			assert.Equal(t, azuretest.ExpectedReply("Hello there"), resp.Completion)
			assert.Equal(t, "stop", resp.FinishReason)
			assert.Equal(t, azuretest.PromptTokens("Be terse.", "Hello there"), resp.Usage.InputTokens)
			assert.Equal(t, "gpt-4o-2024-11-20", resp.ServedModel)
			require.Len(t, resp.PromptFilter, 1, "Azure's content_filters: the prompt's")
			assert.NotNil(t, resp.PromptFilter[0].Jailbreak)
			require.NotNil(t, resp.ContentFilter, "and the completion's")
			assert.False(t, resp.ContentFilter.Filtered())
			last, ok := srv.LastRequest()
			require.True(t, ok)
			assert.Equal(t, azuretest.OperationResponses, last.Operation)
			assert.Equal(t, "gpt-4o", last.Deployment)

			// A reasoning deployment: summary, reasoning tokens.
			resp, err = p.Generate(ctx, responsesRequest(o4, conversation.New().User("think"), llm.Sampling{ReasoningSummary: "auto", ReasoningEffort: "low"}))
			require.NoError(t, err)
			assert.Equal(t, azuretest.ExpectedReasoningSummary("think"), resp.ReasoningSummary)
			assert.Equal(t, 64, resp.Usage.ReasoningTokens)

			// Streaming matches Generate.
			sr := drain(p, ctx, responsesRequest(o4, conversation.New().User("stream me"), llm.Sampling{ReasoningSummary: "auto"}))
			require.NoError(t, sr.err)
			assert.Equal(t, azuretest.ExpectedReply("stream me"), sr.text)
			lastChunk := sr.chunks[len(sr.chunks)-1]
			assert.Equal(t, "stop", lastChunk.FinishReason)
			require.NotNil(t, lastChunk.Usage)
			assert.Positive(t, lastChunk.Usage.OutputTokens)

			// A tool call, and its result sent back.
			tools := llm.Sampling{Tools: []llm.Tool{{Name: "get_weather", Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}, ToolChoice: "required"}
			resp, err = p.Generate(ctx, responsesRequest(gpt4o, conversation.New().User("weather?"), tools))
			require.NoError(t, err)
			assert.Equal(t, "tool_calls", resp.FinishReason)
			calls := resp.Message.ToolCalls()
			require.Len(t, calls, 1)
			assert.Equal(t, "get_weather", calls[0].Name)
			conv := conversation.New().User("weather?").Add(resp.Message).Add(conversation.Message{Role: conversation.RoleTool,
				Parts: []conversation.Part{conversation.Result(calls[0].ID, "sunny")}})
			resp, err = p.Generate(ctx, responsesRequest(gpt4o, conv, llm.Sampling{Tools: tools.Tools}))
			require.NoError(t, err)
			assert.Equal(t, azuretest.ExpectedToolResultReply("sunny"), resp.Completion)

			// Chaining: a stored response continued by its ID.
			first, err := p.Generate(ctx, responsesRequest(gpt4o, conversation.New().User("one"), llm.Sampling{Store: ptr(true)}))
			require.NoError(t, err)
			require.NotEmpty(t, first.ResponseID)
			second, err := p.Generate(ctx, responsesRequest(gpt4o, conversation.New().User("two"), llm.Sampling{PreviousResponseID: first.ResponseID}))
			require.NoError(t, err)
			assert.Equal(t, azuretest.ExpectedReply("two"), second.Completion)
			assert.Equal(t, azuretest.PromptTokens("one", azuretest.ExpectedReply("one"), "two"), second.Usage.InputTokens)
			assert.NotContains(t, srv.StoredResponses(), second.ResponseID, "store is false unless asked")

			// Background: pending at once, then polled to the end.
			srv.HoldAsync(true)
			req := responsesRequest(gpt4o, conversation.New().User("later"), llm.Sampling{Background: true})
			pending, err := p.Generate(ctx, req)
			require.NoError(t, err)
			assert.Equal(t, "queued", pending.Status)
			assert.Empty(t, pending.FinishReason)
			polled, err := p.Poll(ctx, req, pending)
			require.NoError(t, err)
			assert.Equal(t, "queued", polled.Status)
			require.NoError(t, p.Cancel(ctx, req, pending))
			_, err = p.Poll(ctx, req, pending)
			assert.Equal(t, llm.CodeCanceled, llm.CodeOf(err), "a cancelled response is an error: %v", err)
			srv.HoldAsync(false)
			pending, err = p.Generate(ctx, req)
			require.NoError(t, err)
			var done *llm.Response
			for i := 0; i < 1000 && (done == nil || done.Status != "completed"); i++ {
				done, err = p.Poll(ctx, req, pending)
				require.NoError(t, err)
			}
			assert.Equal(t, azuretest.ExpectedReply("later"), done.Completion)
			_, err = p.Poll(ctx, req, &llm.Response{ResponseID: "resp_nope"})
			assert.Equal(t, llm.CodeNotFound, llm.CodeOf(err))

			// The completion filter cuts the reply: a response, not an error.
			resp, err = p.Generate(ctx, responsesRequest(gpt4o, conversation.New().User("say FILTER_COMPLETION please"), llm.Sampling{}))
			require.NoError(t, err)
			assert.Equal(t, llm.FinishContentFilter, resp.FinishReason)
			require.NotNil(t, resp.ContentFilter)
			assert.Equal(t, llm.BlocklistResults{{ID: azuretest.BlocklistID, Filtered: true}}, resp.ContentFilter.CustomBlocklists)
			// The prompt filter is a 400 content_filter.
			_, err = p.Generate(ctx, responsesRequest(gpt4o, conversation.New().User("FILTER_PROMPT"), llm.Sampling{}))
			assert.Equal(t, llm.CodeContentFiltered, llm.CodeOf(err))
		})
	}
}

// The Responses API fixtures, replayed like the chat ones.
func init() {
	fixtureCases["aoai_responses_create_v1_gpt41nano.doc.json"] = func(t *testing.T) {
		r := bodyOnly(t, "aoai_responses_create_v1_gpt41nano.doc.json", 200)
		resp, err := r.generate(t, responsesRequest(azureModel("gpt-4.1-nano", false), conversation.New().User("This is a test."), llm.Sampling{}))
		require.NoError(t, err)
		assert.JSONEq(t, `{"model":"gpt-4.1-nano","input":[{"type":"message","role":"user","content":"This is a test."}],"store":false}`, string(r.sent))
		assert.Equal(t, "Hello! It looks like you've sent a test message. How can I assist you today?", resp.Completion)
		assert.Equal(t, "stop", resp.FinishReason)
		assert.Equal(t, "gpt-4.1-nano", resp.ServedModel)
		assert.Equal(t, llm.Usage{InputTokens: 12, OutputTokens: 19}, resp.Usage)
		assert.Equal(t, "resp_682f7eb5dc408190b491cbbe57be2fbf0f98d661c3dc276d", resp.ResponseID)
		assert.Equal(t, "completed", resp.Status)
		assert.Equal(t, "default", resp.ServiceTier)
		assert.Empty(t, resp.ReasoningSummary)
		assert.Nil(t, resp.ContentFilter)
	}
	fixtureCases["aoai_responses_reasoning_gpt5_v1.doc.json"] = func(t *testing.T) {
		resp, err := bodyOnly(t, "aoai_responses_reasoning_gpt5_v1.doc.json", 200).
			generate(t, responsesRequest(azureModel("gpt-5", true), conversation.New().User("strawberry"), llm.Sampling{}))
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(resp.Completion, "“strawberry” has 3 r’s"))
		assert.Equal(t, "stop", resp.FinishReason)
		assert.Equal(t, llm.Usage{InputTokens: 139, OutputTokens: 240, ReasoningTokens: 192}, resp.Usage)
		assert.Empty(t, resp.ReasoningSummary, "an empty summary list is no summary")
		assert.Nil(t, resp.ContentFilter)
		assert.Nil(t, resp.PromptFilter)
		assert.Nil(t, resp.Logprobs, "logprobs: null")
	}
}
