package openai_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/fixture"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

// Batch lines for the Responses API: serialized by
// MarshalResponsesRequest, their output lines parsed by the Responses
// parser, checked against Microsoft's documented lines.

var respBatchModel = registry.Model{ID: "bt-o3-pro", Provider: "bt", Name: "o3-pro", APISpec: registry.APISpecResponses, Reasoning: true,
	InputCost: 20, OutputCost: 80, CachedInputCost: 5}

// wrapLine puts a reply body in an output line, as Azure writes it.
func wrapLine(id string, status int, body string) []byte {
	return []byte(`{"custom_id":"` + id + `","response":{"body":` + body + `,"request_id":"req-` + id + `","status_code":` +
		strconv.Itoa(status) + `},"error":null}`)
}

// A Responses line is Microsoft's input example (aoai_batch_input_responses):
// the same custom_id, method and url, the same model and prompt, its body
// the serializer's bytes.
func TestResponsesLineMatchesMicrosoftsInputExample(t *testing.T) {
	const wire = "REPLACE-WITH-MODEL-DEPLOYMENT-NAME"
	s, _ := batchMock(t, openai.BatchConfig{Model: respBatchModel, WireName: wire})
	type docLine struct {
		CustomID string         `json:"custom_id"`
		Method   string         `json:"method"`
		URL      string         `json:"url"`
		Body     map[string]any `json:"body"`
	}
	for i, raw := range strings.Split(strings.TrimSpace(string(fixture.Azure(t, "aoai_batch_input_responses.doc.jsonl"))), "\n") {
		var want docLine
		require.NoError(t, json.Unmarshal([]byte(raw), &want))
		prompt := want.Body["input"].(string)
		req := &llm.Request{Model: respBatchModel, Messages: conversation.New().User(prompt).Messages()}
		line, err := s.Line(want.CustomID, req)
		require.NoError(t, err, i)
		assert.NotContains(t, string(line), "\n")
		var got docLine
		require.NoError(t, json.Unmarshal(line, &got))
		assert.Equal(t, want.CustomID, got.CustomID)
		assert.Equal(t, "POST", got.Method)
		assert.Equal(t, "/v1/responses", got.URL, "the url of Microsoft's lines")
		assert.Equal(t, wire, got.Body["model"])
		// A string input is one user message: the serializer writes its
		// item form.
		assert.Equal(t, []any{map[string]any{"type": "message", "role": "user", "content": prompt}}, got.Body["input"])
		assert.Equal(t, false, got.Body["store"], "store: false, as a synchronous call sends it")
		var l struct {
			Body json.RawMessage `json:"body"`
		}
		require.NoError(t, json.Unmarshal(line, &l))
		body, err := openai.MarshalResponsesRequest(req, wire)
		require.NoError(t, err)
		assert.Equal(t, string(body), string(l.Body), "the serializer's bytes, unchanged")
		assert.Equal(t, "/v1/responses", s.(batch.Endpointer).Endpoint(req))
	}

	// Microsoft's structured-outputs line (batch how-to, "Responses API",
	// "Structured outputs"): text.format is flat.
	schema := `{"type": "object", "properties": {"name": {"type": "string"}, "date": {"type": "string"}, "participants": {"type": "array", "items": {"type": "string"}}}, "required": ["name", "date", "participants"], "additionalProperties": false}`
	wantText := `{"format": {"type": "json_schema", "name": "CalendarEventResponse", "schema": ` + schema + `, "strict": true}}`
	req := &llm.Request{Model: respBatchModel, Messages: conversation.New().System("Extract the event information.").User("Alice and Bob are going to a science fair on Friday.").Messages(),
		Sampling: llm.Sampling{ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "CalendarEventResponse", Schema: []byte(schema), Strict: true}}}
	line, err := s.Line("task-4", req)
	require.NoError(t, err)
	var got struct {
		Body struct {
			Text         json.RawMessage `json:"text"`
			Instructions string          `json:"instructions"`
		} `json:"body"`
	}
	require.NoError(t, json.Unmarshal(line, &got))
	assert.JSONEq(t, wantText, string(got.Body.Text))
	assert.Equal(t, "Extract the event information.", got.Body.Instructions)
}

// Microsoft's Responses API output line goes through the Responses
// parser: text, usage with its details, the response's id, status and
// tier, the request ID, the batch price.
func TestResultOfResponsesOutputLine(t *testing.T) {
	s, _ := batchMock(t, openai.BatchConfig{Model: respBatchModel})
	r, err := s.Result(bytes.TrimSpace(fixture.Azure(t, "aoai_batch_output_line_responses.doc.jsonl")))
	require.NoError(t, err)
	assert.Equal(t, "task-0", r.ID)
	require.NoError(t, r.Err)
	resp := r.Response
	assert.Equal(t, "Microsoft was founded on **April 4, 1975** by **Bill Gates** and **Paul Allen**.", resp.Completion)
	assert.Equal(t, conversation.RoleAssistant, resp.Message.Role)
	assert.Equal(t, "stop", resp.FinishReason)
	assert.Equal(t, llm.Usage{InputTokens: 16, OutputTokens: 25}, resp.Usage)
	assert.Equal(t, "resp_0e5c78eb05ee70cf00690cc6d988e4819587556df17436a206", resp.ResponseID)
	assert.Equal(t, "completed", resp.Status)
	assert.Equal(t, "default", resp.ServiceTier)
	assert.Equal(t, "809b30c2-fa0b-4613-b5cc-c30f6b780c9a", resp.RequestID)
	assert.Equal(t, "gpt-4.1-batch", resp.ServedModel, "Azure names the deployment")
	assert.Equal(t, respBatchModel.ID, resp.Model)
	assert.Nil(t, resp.ContentFilter, "content_filters: null")
	assert.InDelta(t, respBatchModel.Cost(16, 0, 25)/2, resp.Cost, 1e-12, "half the catalog price by default")
}

// The other shapes of a Responses reply: reasoning (a documented gpt-5
// body), tool calls with a reasoning summary and cached tokens, Azure's
// content_filters, and the statuses that are errors.
func TestResponsesResultShapes(t *testing.T) {
	s, _ := batchMock(t, openai.BatchConfig{Model: respBatchModel, Redact: []string{"sk-secret-key"}})
	result := func(line []byte) batch.LineResult {
		t.Helper()
		r, err := s.Result(line)
		require.NoError(t, err)
		return r
	}

	// aoai_responses_reasoning_gpt5_v1.doc.json in an output line.
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, fixture.Azure(t, "aoai_responses_reasoning_gpt5_v1.doc.json")))
	r := result(wrapLine("reason", 200, compact.String()))
	require.NoError(t, r.Err)
	assert.Equal(t, "“strawberry” has 3 r’s, so the radius is 3.\nArea = πr² = π × 3² = 9π ≈ 28.27 square units.", r.Response.Completion)
	assert.Positive(t, r.Response.Usage.ReasoningTokens)
	assert.Equal(t, "gpt-5", r.Response.ServedModel)

	// Tool call, reasoning summary, cached and reasoning tokens, and
	// Azure's content_filters (its v1 spec's shape).
	body := `{"id":"resp_1","object":"response","status":"completed","model":"o3-pro","output":[` +
		`{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Looked up the tool."}]},` +
		`{"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}","status":"completed"}],` +
		`"usage":{"input_tokens":100,"input_tokens_details":{"cached_tokens":60},"output_tokens":40,"output_tokens_details":{"reasoning_tokens":30},"total_tokens":140},` +
		`"content_filters":[{"blocked":false,"source_type":"prompt","content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false}}},` +
		`{"blocked":false,"source_type":"completion","content_filter_results":{"violence":{"filtered":false,"severity":"low"}}}]}`
	r = result(wrapLine("tool", 200, body))
	require.NoError(t, r.Err)
	resp := r.Response
	assert.Equal(t, "tool_calls", resp.FinishReason)
	calls := resp.Message.ToolCalls()
	require.Len(t, calls, 1)
	assert.Equal(t, conversation.ToolCall{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}, calls[0])
	assert.Equal(t, "Looked up the tool.", resp.ReasoningSummary)
	assert.Equal(t, llm.Usage{InputTokens: 100, CachedInputTokens: 60, OutputTokens: 40, ReasoningTokens: 30}, resp.Usage)
	assert.InDelta(t, respBatchModel.Cost(100, 60, 40)/2, resp.Cost, 1e-12, "cached tokens at their price, then halved")
	require.Len(t, resp.PromptFilter, 1)
	require.NotNil(t, resp.PromptFilter[0].Jailbreak)
	require.NotNil(t, resp.ContentFilter)
	require.NotNil(t, resp.ContentFilter.Violence)
	assert.Equal(t, "low", resp.ContentFilter.Violence.Severity)

	// A completion the filter blocked: incomplete, content_filter.
	body = `{"id":"resp_2","object":"response","status":"incomplete","incomplete_details":{"reason":"content_filter"},"output":[` +
		`{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Partial"}]}],"usage":{"input_tokens":5,"output_tokens":1},` +
		`"content_filters":[{"blocked":true,"source_type":"completion","content_filter_results":{"violence":{"filtered":true,"severity":"high"}}}]}`
	r = result(wrapLine("blocked", 200, body))
	require.NoError(t, r.Err)
	assert.Equal(t, llm.FinishContentFilter, r.Response.FinishReason)
	assert.True(t, r.Response.ContentFilter.Violence.Filtered)

	// Cut by max_output_tokens.
	r = result(wrapLine("cut", 200, `{"id":"resp_3","object":"response","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[],"usage":{"input_tokens":5,"output_tokens":16}}`))
	require.NoError(t, r.Err)
	assert.Equal(t, "length", r.Response.FinishReason)

	// A response that failed on the server: its typed error.
	r = result(wrapLine("failed", 200, `{"id":"resp_4","object":"response","status":"failed","error":{"code":"server_error","message":"boom sk-secret-key"},"output":[]}`))
	require.Error(t, r.Err)
	assert.Equal(t, llm.CodeUnavailable, llm.CodeOf(r.Err), "server_error can be retried")
	assert.Contains(t, r.Err.Error(), "server_error")
	assert.NotContains(t, r.Err.Error(), "sk-secret-key", "an echoed secret is redacted")
	assert.NotErrorIs(t, r.Err, batch.ErrNotRun)

	// A response left in the background has no answer to read.
	r = result(wrapLine("queued", 200, `{"id":"resp_5","object":"response","status":"queued","output":[]}`))
	require.Error(t, r.Err)
	assert.Contains(t, r.Err.Error(), "queued")

	// A filtered prompt: Azure's error body, as for chat.
	compact.Reset()
	require.NoError(t, json.Compact(&compact, fixture.Azure(t, "aoai_error_400_content_filter_prompt.body.json")))
	r = result(wrapLine("prompt", 400, compact.String()))
	require.ErrorIs(t, r.Err, llm.ErrContentFiltered)
	var le *llm.Error
	require.ErrorAs(t, r.Err, &le)
	require.NotNil(t, le.ContentFilter)
	assert.True(t, le.ContentFilter.Violence.Filtered)
	assert.Equal(t, "req-prompt", le.RequestID)

	// A body without "object" is told apart by its keys.
	r = result(wrapLine("noobject", 200, `{"id":"resp_6","status":"completed","output":[{"type":"message","content":[{"type":"output_text","text":"hi"}]}]}`))
	require.NoError(t, r.Err)
	assert.Equal(t, "hi", r.Response.Completion)
	assert.Equal(t, "resp_6", r.Response.ResponseID)
}

// Which API a line goes to, decided per request as a synchronous call
// decides it, and what cannot be sent.
func TestResponsesLinesPerRequest(t *testing.T) {
	s, mt := batchMock(t, openai.BatchConfig{Model: batchModel, Endpoint: "/chat/completions"})
	hi := conversation.New().User("hi").Messages()
	chat := &llm.Request{Model: batchModel, Messages: hi}
	resp := &llm.Request{Model: batchModel, Messages: hi, Sampling: llm.Sampling{API: llm.APIResponses}}
	line, err := s.Line("a", chat)
	require.NoError(t, err)
	assert.Contains(t, string(line), `"url":"/v1/chat/completions"`)
	assert.Contains(t, string(line), `"messages"`)
	assert.Empty(t, s.(batch.Endpointer).Endpoint(chat), "chat completions are the default endpoint")
	line, err = s.Line("b", resp)
	require.NoError(t, err)
	assert.Contains(t, string(line), `"url":"/v1/responses"`)
	assert.Contains(t, string(line), `"input"`)
	assert.Equal(t, "/v1/responses", s.(batch.Endpointer).Endpoint(resp))

	// A job is created with the endpoint of its file's lines.
	var bodies []map[string]any
	mt.RegisterResponder(http.MethodPost, "https://res.openai.azure.com/openai/v1/batches", func(r *http.Request) (*http.Response, error) {
		var b map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&b))
		bodies = append(bodies, b)
		return httpmock.NewStringResponse(200, `{"id":"batch_1","status":"validating"}`), nil
	})
	for _, ep := range []string{"", "/v1/responses"} {
		_, err := s.CreateJob(t.Context(), batch.JobParams{InputFileID: "file-1", Endpoint: ep})
		require.NoError(t, err)
	}
	require.Len(t, bodies, 2)
	assert.Equal(t, "/chat/completions", bodies[0]["endpoint"])
	assert.Equal(t, "/v1/responses", bodies[1]["endpoint"])

	// A Responses-only model cannot be sent as a chat completion.
	rs, _ := batchMock(t, openai.BatchConfig{Model: respBatchModel})
	_, err = rs.Line("c", &llm.Request{Model: respBatchModel, Messages: hi, Sampling: llm.Sampling{API: llm.APIChat}})
	require.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "only by the Responses API")
	// What the Responses API lacks is the request's fault.
	_, err = rs.Line("d", &llm.Request{Model: respBatchModel, Messages: hi, Sampling: llm.Sampling{Stop: []string{"x"}}})
	require.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "stop sequences")

	// A service that cannot send Responses lines says why, as a
	// configuration error.
	ns, _ := batchMock(t, openai.BatchConfig{Model: batchModel, NoResponses: "API version 2024-10-21 predates the Responses API"})
	_, err = ns.Line("e", resp)
	require.ErrorIs(t, err, llm.ErrConfiguration)
	assert.Contains(t, err.Error(), "2024-10-21")
	_, err = ns.Line("f", chat)
	require.NoError(t, err, "chat lines still go")

	// Embeddings: no batch service.
	_, err = openai.NewBatchService(openai.BatchConfig{Model: registry.Model{ID: "emb", Name: "text-embedding-3-small", APISpec: registry.APISpecEmbeddings},
		BaseURL: "https://res.openai.azure.com/openai/v1", Doer: http.DefaultClient})
	require.ErrorIs(t, err, llm.ErrConfiguration)
	assert.Contains(t, err.Error(), "Embed")
}

// The "openai" provider takes Responses-only models (o3-pro) to
// /v1/responses; embeddings models it refuses.
func TestOpenAIProviderResponsesBatch(t *testing.T) {
	p, err := openai.New(openai.Config{APIKey: "sk-openai-test-key", HTTPClient: &http.Client{Transport: httpmock.NewMockTransport()}})
	require.NoError(t, err)
	m, err := registry.Lookup("o3-pro")
	require.NoError(t, err)
	s, err := p.BatchService(m, "")
	require.NoError(t, err)
	line, err := s.Line("a", &llm.Request{Model: m, Messages: conversation.New().User("hi").Messages()})
	require.NoError(t, err)
	assert.Contains(t, string(line), `"url":"/v1/responses"`)
	assert.Contains(t, string(line), `"model":"o3-pro"`)

	e, err := registry.Lookup("text-embedding-3-small")
	require.NoError(t, err)
	_, err = p.BatchService(e, "")
	require.ErrorIs(t, err, llm.ErrConfiguration)
	assert.Contains(t, err.Error(), "embeddings")
}
