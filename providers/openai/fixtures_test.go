package openai_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/fixture"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

// The Azure recordings and documentation examples in the repository's
// fixtures/azure, replayed through the provider: every OpenAI-shaped chat
// body, stream and error must become the right Response or *llm.Error.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	return fixture.Azure(t, name)
}

// replayed is one recorded exchange: what the server answered.
type replayed struct {
	status int
	header http.Header
	body   []byte
	// sent receives the request body the provider sent.
	sent []byte
}

func loadRecording(t *testing.T, name string) *replayed {
	t.Helper()
	e := fixture.AzureRecording(t, name)
	h := http.Header{}
	for k, v := range e.ResponseHeaders {
		if strings.EqualFold(k, "Content-Length") {
			continue // the body is re-serialized
		}
		h.Set(k, v)
	}
	return &replayed{status: e.StatusCode, header: h, body: e.ResponseBody}
}

// loadStream pairs an .sse body with the headers of its recording.
func loadStream(t *testing.T, sseName, headersName string) *replayed {
	t.Helper()
	r := &replayed{status: 200, header: http.Header{"Content-Type": {"text/event-stream"}}, body: readFixture(t, sseName)}
	if headersName != "" {
		var rh struct {
			ResponseHeaders map[string]string `json:"ResponseHeaders"`
		}
		require.NoError(t, json.Unmarshal(readFixture(t, headersName), &rh))
		for k, v := range rh.ResponseHeaders {
			r.header.Set(k, v)
		}
	}
	return r
}

func bodyOnly(t *testing.T, name string, status int) *replayed {
	t.Helper()
	return &replayed{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: readFixture(t, name)}
}

func (r *replayed) provider(t *testing.T) *openai.Provider {
	t.Helper()
	rt := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Body != nil {
			r.sent, _ = io.ReadAll(req.Body)
		}
		return &http.Response{StatusCode: r.status, Header: r.header.Clone(), Body: io.NopCloser(bytes.NewReader(r.body)), Request: req}, nil
	})
	p, err := openai.New(openai.Config{APIKey: testKey, BaseURL: "https://example.openai.azure.com/openai/v1", HTTPClient: &http.Client{Transport: rt}})
	require.NoError(t, err)
	return p
}

func (r *replayed) generate(t *testing.T, req *llm.Request) (*llm.Response, error) {
	t.Helper()
	return r.provider(t).Generate(t.Context(), req)
}

func (r *replayed) stream(t *testing.T, req *llm.Request) streamResult {
	t.Helper()
	return drain(r.provider(t), t.Context(), req)
}

func azureModel(wire string, reasoning bool) registry.Model {
	return registry.Model{ID: "azure-test", Provider: "openai", Name: wire, Reasoning: reasoning}
}

const countPrompt = "Count to 10, with a comma between each number, no newlines and a period at the end. E.g., 1, 2, 3, ..."

func safe() llm.SeverityResult { return llm.SeverityResult{Severity: "safe"} }

func notDetected() llm.DetectionResult { return llm.DetectionResult{} }

var fixtureCases = map[string]func(t *testing.T){
	"aoai_chat_completion_gpt4_2025-01-01-preview.recording.json": func(t *testing.T) {
		r := loadRecording(t, "aoai_chat_completion_gpt4_2025-01-01-preview.recording.json")
		req := &llm.Request{Model: azureModel("gpt-4-0613", false), Messages: conversation.New().User(countPrompt).Messages(),
			Sampling: llm.Sampling{MaxNewTokens: 1024, Temperature: ptr(0.0)}}
		resp, err := r.generate(t, req)
		require.NoError(t, err)
		// The provider sends what the official SDK sent, temperature 0 included.
		rec := fixture.AzureRecording(t, "aoai_chat_completion_gpt4_2025-01-01-preview.recording.json")
		assert.JSONEq(t, string(rec.RequestBody), string(r.sent))

		assert.Equal(t, "1, 2, 3, 4, 5, 6, 7, 8, 9, 10.", resp.Completion)
		assert.Equal(t, "stop", resp.FinishReason)
		assert.Equal(t, "gpt-4", resp.ServedModel)
		assert.Equal(t, llm.Usage{InputTokens: 42, OutputTokens: 29}, resp.Usage)
		assert.Equal(t, "61298fc7-a82b-4586-bf20-d4757584e833", resp.RequestID, "apim-request-id wins over X-Request-ID")
		assert.Equal(t, "East US", resp.Region)
		assert.Equal(t, "6688", resp.Header.Get("x-ratelimit-remaining-tokens"))
		assert.Equal(t, &llm.ContentFilterResults{Hate: safe(), SelfHarm: safe(), Sexual: safe(), Violence: safe()}, resp.ContentFilter)
		assert.Equal(t, []llm.ContentFilterResults{{Hate: safe(), SelfHarm: safe(), Sexual: safe(), Violence: safe()}}, resp.PromptFilter)
		assert.False(t, resp.ContentFilter.Filtered())
	},
	"aoai_chat_completion_o1_reasoning_effort.recording.json": func(t *testing.T) {
		r := loadRecording(t, "aoai_chat_completion_o1_reasoning_effort.recording.json")
		req := &llm.Request{Model: azureModel("o1", true),
			Messages: conversation.New().User("I need to plan a trip to Europe for 10 days, visiting Paris, Rome, and London. Create a possible itinerary, including travel times and estimated costs.").Messages(),
			Sampling: llm.Sampling{ReasoningEffort: "low", Temperature: ptr(0.2)}}
		resp, err := r.generate(t, req)
		require.NoError(t, err)
		rec := fixture.AzureRecording(t, "aoai_chat_completion_o1_reasoning_effort.recording.json")
		assert.JSONEq(t, string(rec.RequestBody), string(r.sent), "temperature is dropped for a reasoning model")

		assert.True(t, strings.HasPrefix(resp.Completion, "Below is a sample 10-day itinerary"))
		assert.Equal(t, "o1-2024-12-17", resp.ServedModel)
		assert.Equal(t, llm.Usage{InputTokens: 39, OutputTokens: 2922, ReasoningTokens: 320}, resp.Usage)
		assert.Equal(t, "East US 2", resp.Region)
		require.NotNil(t, resp.ContentFilter)
		assert.Equal(t, notDetected(), resp.ContentFilter.ProtectedMaterialCode)
		assert.Equal(t, notDetected(), resp.ContentFilter.ProtectedMaterialText)
		require.Len(t, resp.PromptFilter, 1)
		assert.Equal(t, notDetected(), resp.PromptFilter[0].Jailbreak)
	},
	"aoai_chat_completion_finish_reason_content_filter_blocklist.doc.json": func(t *testing.T) {
		resp, err := bodyOnly(t, "aoai_chat_completion_finish_reason_content_filter_blocklist.doc.json", 200).generate(t, userRequest("x"))
		require.NoError(t, err, "a filtered completion is a 200, not an error")
		assert.Equal(t, "content_filter", resp.FinishReason)
		assert.Empty(t, resp.Completion)
		assert.Equal(t, llm.Usage{InputTokens: 27, OutputTokens: 75}, resp.Usage)
		require.NotNil(t, resp.ContentFilter)
		assert.Equal(t, llm.BlocklistResults{{ID: "myBlocklistName", Filtered: true}}, resp.ContentFilter.CustomBlocklists)
		assert.Equal(t, []string{`custom blocklist "myBlocklistName"`}, resp.ContentFilter.Fired())
		require.Len(t, resp.PromptFilter, 1)
	},
	"aoai_chat_completion_model_router.doc.json": func(t *testing.T) {
		// Learn publishes the reply inside the playground's {"success", "data"}
		// envelope: the completion is data.
		var doc struct{ Data json.RawMessage }
		require.NoError(t, json.Unmarshal(readFixture(t, "aoai_chat_completion_model_router.doc.json"), &doc))
		r := &replayed{status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: doc.Data}
		resp, err := r.generate(t, userRequest("x"))
		require.NoError(t, err)
		assert.Equal(t, "gpt-5-mini-2025-08-07", resp.ServedModel, "the model the router chose")
		assert.Equal(t, llm.Usage{InputTokens: 3254, CachedInputTokens: 3200, OutputTokens: 163, ReasoningTokens: 128}, resp.Usage)
		assert.Equal(t, "stop", resp.FinishReason)
		assert.True(t, strings.HasPrefix(resp.Completion, "Charismatic and bold"))
		require.NotNil(t, resp.ContentFilter)
		assert.Empty(t, resp.ContentFilter.Fired())
	},
	"aoai_chat_completion_protected_material_code_annotation.doc.json": func(t *testing.T) {
		resp, err := bodyOnly(t, "aoai_chat_completion_protected_material_code_annotation.doc.json", 200).generate(t, userRequest("x"))
		require.NoError(t, err)
		assert.Equal(t, "Example model response will be returned ", resp.Completion)
		require.NotNil(t, resp.ContentFilter)
		pmc := resp.ContentFilter.ProtectedMaterialCode
		require.NotNil(t, pmc)
		assert.True(t, pmc.Detected)
		assert.False(t, pmc.Filtered)
		require.NotNil(t, pmc.Citation)
		assert.Equal(t, " https://github.com/username/repository-name/path/to/file-example.txt", pmc.Citation.URL)
		assert.Equal(t, "EXAMPLE-LICENSE", pmc.Citation.License)
		require.Len(t, resp.PromptFilter, 1)
		assert.Equal(t, notDetected(), resp.PromptFilter[0].Profanity)
		assert.Equal(t, notDetected(), resp.PromptFilter[0].Jailbreak)
	},
	"aoai_completions_content_filter_system_unavailable.doc.json": func(t *testing.T) {
		// A legacy completions body ("text", not "message"), with the
		// filter's own failure reported.
		resp, err := bodyOnly(t, "aoai_completions_content_filter_system_unavailable.doc.json", 200).generate(t, userRequest("x"))
		require.NoError(t, err)
		assert.Equal(t, "generated text", resp.Completion)
		assert.Equal(t, "length", resp.FinishReason)
		require.NotNil(t, resp.ContentFilter)
		assert.Equal(t, &llm.FilterError{Code: "content_filter_error", Message: "The contents are not filtered"}, resp.ContentFilter.Error)
		assert.False(t, resp.ContentFilter.Filtered())
	},
	"aoai_completions_n3_one_choice_content_filter.doc.json": func(t *testing.T) {
		// Several choices, one filtered: the Response describes choice 0.
		resp, err := bodyOnly(t, "aoai_completions_n3_one_choice_content_filter.doc.json", 200).generate(t, userRequest("x"))
		require.NoError(t, err)
		assert.Equal(t, "returned text 1", resp.Completion)
		assert.Equal(t, "length", resp.FinishReason, "choice 1's content_filter finish does not leak into choice 0")
		assert.Nil(t, resp.ContentFilter)
	},
	"aoai_error_400_content_filter_prompt.body.json": func(t *testing.T) {
		_, err := bodyOnly(t, "aoai_error_400_content_filter_prompt.body.json", 400).generate(t, userRequest("x"))
		checkPromptFiltered(t, err, []string{"violence (medium)"})
	},
	"aoai_error_400_content_filter_prompt_chat.recording.json": func(t *testing.T) {
		r := loadRecording(t, "aoai_error_400_content_filter_prompt_chat.recording.json")
		_, err := r.generate(t, userRequest("How do I rob a bank with violence?"))
		le := checkPromptFiltered(t, err, []string{"violence (medium)"})
		assert.Equal(t, "40efa3f2-7875-4bdd-bce1-5698c2eca897", le.RequestID)
		assert.Equal(t, "model_error", le.Header.Get("ms-azureml-model-error-reason"))
		assert.Contains(t, le.Message, "content management policy")
	},
	"aoai_error_400_content_filter_custom_blocklist.doc.json": func(t *testing.T) {
		_, err := bodyOnly(t, "aoai_error_400_content_filter_custom_blocklist.doc.json", 400).generate(t, userRequest("x"))
		checkPromptFiltered(t, err, []string{`custom blocklist "raiBlocklistName"`})
	},
	"aoai_error_400_unsupported_parameter_max_tokens.issue.json": func(t *testing.T) {
		_, err := bodyOnly(t, "aoai_error_400_unsupported_parameter_max_tokens.issue.json", 400).generate(t, userRequest("x"))
		le := checkError(t, err, llm.CodeInvalidRequest, 400)
		assert.Contains(t, le.Message, "max_completion_tokens")
		var apiErr *goopenai.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, "unsupported_parameter", apiErr.Code)
	},
	"aoai_error_401_invalid_key_stream.recording.json": func(t *testing.T) {
		r := loadRecording(t, "aoai_error_401_invalid_key_stream.recording.json")
		res := r.stream(t, userRequest(countPrompt))
		assert.Empty(t, res.chunks)
		le := checkError(t, res.err, llm.CodeAuthentication, 401)
		assert.Equal(t, "b984db57-b044-4348-b9d1-749a02e4b095", le.RequestID)
		assert.Contains(t, le.Message, "invalid subscription key")
		var apiErr *goopenai.APIError
		require.ErrorAs(t, res.err, &apiErr)
		assert.Equal(t, "401", apiErr.Code, "Azure's error.code is a string")

		_, err := r.generate(t, userRequest(countPrompt))
		checkError(t, err, llm.CodeAuthentication, 401)
	},
	"aoai_error_404_deployment_not_found.recording.json": func(t *testing.T) {
		r := loadRecording(t, "aoai_error_404_deployment_not_found.recording.json")
		_, err := r.generate(t, userRequest("x"))
		le := checkError(t, err, llm.CodeNotFound, 404)
		assert.Equal(t, "231c8b76-2c78-4a2f-8813-afb0e896682f", le.RequestID)
		assert.Contains(t, le.Message, "deployment for this resource does not exist")
	},
	"aoai_error_429_token_rate_limit.issue.json": func(t *testing.T) {
		_, err := bodyOnly(t, "aoai_error_429_token_rate_limit.issue.json", 429).generate(t, userRequest("x"))
		le := checkError(t, err, llm.CodeQuotaExceeded, 429)
		assert.Equal(t, 86400*time.Second, le.RetryAfter, "read from the message when no header says")
		assert.False(t, le.Retryable(), "a day-long wait must fail over or fail fast, not sleep")
	},
	"modelinference_error_400_content_filter.doc.json": func(t *testing.T) {
		_, err := bodyOnly(t, "modelinference_error_400_content_filter.doc.json", 400).generate(t, userRequest("x"))
		le := checkError(t, err, llm.CodeContentFiltered, 400)
		assert.Equal(t, "The response was filtered", le.Message)
	},
	"modelinference_error_422_parameter_not_supported.doc.json": func(t *testing.T) {
		_, err := bodyOnly(t, "modelinference_error_422_parameter_not_supported.doc.json", 422).generate(t, userRequest("x"))
		le := checkError(t, err, llm.CodeInvalidRequest, 422)
		assert.Contains(t, le.Message, "One of the parameters contain invalid values")
	},
	"modelinference_serverless_error_401.recording.json": func(t *testing.T) {
		r := loadRecording(t, "modelinference_serverless_error_401.recording.json")
		_, err := r.generate(t, userRequest("How many feet are in a mile?"))
		le := checkError(t, err, llm.CodeAuthentication, 401)
		assert.Contains(t, le.Message, "Auth token validation failed")
		assert.Equal(t, "Invalid JWT.", le.Header.Get("x-ms-error-reason"))
		var reqErr *goopenai.RequestError
		assert.ErrorAs(t, err, &reqErr, "not the OpenAI error envelope")
	},
	"modelinference_serverless_mistral_chat_extra_params.recording.json": func(t *testing.T) {
		r := loadRecording(t, "modelinference_serverless_mistral_chat_extra_params.recording.json")
		resp, err := r.generate(t, userRequest("How many feet are in a mile?"))
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(resp.Completion, "There are 5,280 feet in a mile."))
		assert.Empty(t, resp.Message.ToolCalls(), `"tool_calls": null`)
		assert.Equal(t, "mistral-large-2411", resp.ServedModel)
		assert.Equal(t, llm.Usage{InputTokens: 11, OutputTokens: 32}, resp.Usage)
		assert.Equal(t, "352661be-cd4b-4d44-8fad-38b72a143ab3", resp.RequestID)
		assert.Nil(t, resp.ContentFilter)
	},
	"aoai_chat_stream_gpt4_2025-01-01-preview.sse": func(t *testing.T) {
		r := loadStream(t, "aoai_chat_stream_gpt4_2025-01-01-preview.sse", "aoai_chat_stream_gpt4_2025-01-01-preview.request_and_headers.json")
		res := r.stream(t, userRequest(countPrompt))
		require.NoError(t, res.err)
		assert.Equal(t, "1, 2, 3, 4, 5, 6, 7, 8, 9, 10.", res.text)
		first := res.chunks[0]
		assert.Equal(t, "70ae0424-f3df-41cc-b290-96c003a38fd3", first.RequestID)
		assert.Equal(t, "East US", first.Region)
		assert.Equal(t, "gpt-4", first.ServedModel, "the prompt-filter event (model \"\") is merged into the first chunk")
		assert.Equal(t, []llm.ContentFilterResults{{Hate: safe(), SelfHarm: safe(), Sexual: safe(), Violence: safe()}}, first.PromptFilter)
		assert.Equal(t, "1", first.Text)
		assert.Equal(t, &llm.ContentFilterResults{Hate: safe(), SelfHarm: safe(), Sexual: safe(), Violence: safe()}, first.ContentFilter)
		last := res.chunks[len(res.chunks)-1]
		assert.Equal(t, "stop", last.FinishReason)
		assert.Nil(t, last.ContentFilter, "an empty {} annotation is no annotation")
		for _, c := range res.chunks[1:] {
			assert.Nil(t, c.PromptFilter)
			assert.Empty(t, c.RequestID)
		}
	},
	"aoai_chat_stream_v1_endpoint_gpt4turbo.sse": func(t *testing.T) {
		r := loadStream(t, "aoai_chat_stream_v1_endpoint_gpt4turbo.sse", "aoai_chat_stream_v1_endpoint_gpt4turbo.request_and_headers.json")
		res := r.stream(t, userRequest(countPrompt))
		require.NoError(t, res.err)
		assert.Equal(t, "1, 2, 3, 4, 5, 6, 7, 8, 9, 10.", res.text)
		first := res.chunks[0]
		assert.Equal(t, "gpt-4-turbo-2024-04-09", first.ServedModel)
		assert.Equal(t, "9a1b78e7-23a1-445f-9274-c15d10ebb78a", first.RequestID)
		assert.Equal(t, "gpt-4", first.Header.Get("x-ms-deployment-name"))
		require.Len(t, first.PromptFilter, 1)
		assert.Equal(t, notDetected(), first.PromptFilter[0].Jailbreak)
	},
	"aoai_stream_include_usage_final_chunk.copilot-test.sse": func(t *testing.T) {
		res := loadStream(t, "aoai_stream_include_usage_final_chunk.copilot-test.sse", "").stream(t, userRequest("x"))
		require.NoError(t, res.err)
		require.Len(t, res.chunks, 2)
		assert.Equal(t, "stop", res.chunks[0].FinishReason)
		assert.Nil(t, res.chunks[0].Usage, `"usage": null on the finish chunk`)
		assert.Equal(t, "gpt-4o-mini-2024-07-18", res.chunks[0].ServedModel)
		assert.Equal(t, &llm.Usage{InputTokens: 965, OutputTokens: 93}, res.chunks[1].Usage)
	},
	"modelinference_serverless_mistral_stream.excerpt.sse": func(t *testing.T) {
		res := loadStream(t, "modelinference_serverless_mistral_stream.excerpt.sse", "").stream(t, userRequest("x"))
		require.NoError(t, res.err, "the SSE comment line is skipped")
		assert.True(t, strings.HasPrefix(res.text, "Absolutely, here are three compelling reasons"))
		assert.True(t, strings.HasSuffix(res.text, " illnesses and infections."))
		last := res.chunks[len(res.chunks)-1]
		assert.Equal(t, "stop", last.FinishReason)
		assert.Equal(t, &llm.Usage{InputTokens: 24, OutputTokens: 352}, last.Usage, "usage on the finish chunk")
		assert.Nil(t, res.chunks[0].PromptFilter)
	},
	"aoai_stream_async_filter_passes.doc.sse": func(t *testing.T) {
		// Published with "..." elision lines: they are not data lines, so
		// the stream still parses; what remains is checked.
		res := loadStream(t, "aoai_stream_async_filter_passes.doc.sse", "").stream(t, userRequest("x"))
		require.NoError(t, res.err)
		assert.Equal(t, "Color is a", res.text)
		require.Len(t, res.chunks[0].PromptFilter, 1, "the legacy prompt_annotations name")
		assert.Equal(t, "gpt-35-turbo", res.chunks[0].ServedModel)
		var annotations, finishes int
		for _, c := range res.chunks {
			if c.ContentFilter != nil {
				annotations++
				assert.Empty(t, c.Text, "asynchronous annotations come on their own events")
			}
			if c.FinishReason != "" {
				finishes++
			}
		}
		assert.Equal(t, 2, annotations)
		assert.Equal(t, 1, finishes)
	},
	"aoai_stream_async_filter_blocked_protected_material.doc.sse": func(t *testing.T) {
		// Published with a line break inside a JSON string: the stream
		// must fail cleanly on that event, after the text before it.
		res := loadStream(t, "aoai_stream_async_filter_blocked_protected_material.doc.sse", "").stream(t, userRequest("x"))
		assert.Equal(t, "Hey Jude,", res.text)
		var le *llm.Error
		require.ErrorAs(t, res.err, &le)
		assert.Contains(t, le.Message, "malformed stream event")

		// With the broken line repaired, the block is reported.
		raw := readFixture(t, "aoai_stream_async_filter_blocked_protected_material.doc.sse")
		fixed := bytes.Replace(raw, []byte("\"gpt-35- \n\nturbo\""), []byte("\"gpt-35-turbo\""), 1)
		require.NotEqual(t, raw, fixed, "the fixture's broken line moved")
		res = (&replayed{status: 200, header: http.Header{"Content-Type": {"text/event-stream"}}, body: fixed}).stream(t, userRequest("x"))
		require.NoError(t, res.err)
		assert.Equal(t, "Hey Jude, better", res.text)
		last := res.chunks[len(res.chunks)-1]
		assert.Equal(t, "content_filter", last.FinishReason)
		require.NotNil(t, last.ContentFilter)
		assert.Equal(t, []string{"protected_material_text"}, last.ContentFilter.Fired())
	},
}

func checkError(t *testing.T, err error, code llm.Code, status int) *llm.Error {
	t.Helper()
	require.Error(t, err)
	var le *llm.Error
	require.ErrorAs(t, err, &le)
	assert.Equal(t, code, le.Code, "error: %v", err)
	assert.ErrorIs(t, err, code.Sentinel())
	assert.Equal(t, status, le.StatusCode)
	assert.Equal(t, "gpt-4o", le.Model)
	return le
}

func checkPromptFiltered(t *testing.T, err error, fired []string) *llm.Error {
	t.Helper()
	le := checkError(t, err, llm.CodeContentFiltered, 400)
	require.NotNil(t, le.ContentFilter, "innererror.content_filter_result is kept")
	assert.Equal(t, fired, le.ContentFilter.Fired())
	assert.False(t, le.Retryable())
	return le
}

func TestAzureFixtures(t *testing.T) {
	for name, check := range fixtureCases {
		t.Run(name, check)
	}
}

// TestAzureFixturesCovered fails when a chat, stream or error fixture is
// added to the shared directory without an expectation here.
func TestAzureFixturesCovered(t *testing.T) {
	dir, err := fixture.AzureDir()
	require.NoError(t, err)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	outOfScope := []string{
		"aoai_batch_",               // batch API objects: not chat completions
		"aoai_file_",                // file upload objects
		".request_and_headers.json", // companions of the .sse files
		"SOURCES.md",
	}
	for _, e := range entries {
		name := e.Name()
		skip := false
		for _, s := range outOfScope {
			if strings.Contains(name, s) {
				skip = true
			}
		}
		if skip {
			continue
		}
		assert.Contains(t, fixtureCases, name, "fixture %s has no replay expectation", name)
	}
}
