package azurefoundry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// The replay tests serve each fixture of fixtures/azure that is a chat
// response, stream or error through httpmock, from a provider configured
// like the recorded client, and check what the caller gets. Secrets used
// here must never show up in an error.
const fixtureKey = "fixture-secret-key-0123456789"

// fixtureModel is an unregistered model deployed as deployment.
func fixtureModel(deployment string, reasoning bool) registry.Model {
	return registry.Model{ID: "fixture-model", Provider: ProviderName, Name: deployment, Reasoning: reasoning,
		InputCost: 1, OutputCost: 2}
}

// replay builds a provider whose API version and deployment match the
// recorded URI, serving reply.
func replay(t *testing.T, recordedURI string, reply func(*http.Request) *http.Response) (*Provider, registry.Model, *mockAzure) {
	t.Helper()
	u, err := url.Parse(recordedURI)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Endpoint: testEndpoint, APIKey: fixtureKey, APIVersion: u.Query().Get("api-version")}
	deployment := "gpt-4o"
	if m := regexp.MustCompile(`/openai/deployments/([^/]+)/`).FindStringSubmatch(u.EscapedPath()); m != nil {
		deployment, _ = url.PathUnescape(m[1])
	} else {
		cfg.APIVersion = "" // v1 route (or the retired inference route): use v1
	}
	m := newMock(t, reply)
	return newTestProvider(t, cfg, m), fixtureModel(deployment, strings.Contains(deployment, "o1")), m
}

// checkRecordedRoute asserts the provider sent the request the recording
// shows: same path (escaping included) and api-version.
func checkRecordedRoute(t *testing.T, m *mockAzure, recordedURI string) {
	t.Helper()
	want, _ := url.Parse(recordedURI)
	got := m.Last(t)
	wantPath := regexp.MustCompile(`/+`).ReplaceAllString(want.EscapedPath(), "/")
	if got.Path != wantPath || got.Query != want.RawQuery {
		t.Errorf("sent %s?%s, recording has %s?%s", got.Path, got.Query, wantPath, want.RawQuery)
	}
}

func noSecret(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), fixtureKey) {
		t.Errorf("error reveals the key: %v", err)
	}
}

func TestFixtureChatCompletion(t *testing.T) {
	rec := readRecording(t, "aoai_chat_completion_gpt4_2025-01-01-preview.recording.json")
	p, model, m := replay(t, rec.RequestURI, recordedResponse(rec))
	resp, err := p.Generate(context.Background(), hello(model))
	if err != nil {
		t.Fatal(err)
	}
	checkRecordedRoute(t, m, rec.RequestURI)
	if resp.Completion != "1, 2, 3, 4, 5, 6, 7, 8, 9, 10." || resp.FinishReason != "stop" {
		t.Errorf("Completion %q, FinishReason %q", resp.Completion, resp.FinishReason)
	}
	if resp.RequestID != "61298fc7-a82b-4586-bf20-d4757584e833" || resp.Region != "East US" || resp.ServedModel != "gpt-4" {
		t.Errorf("RequestID %q Region %q ServedModel %q", resp.RequestID, resp.Region, resp.ServedModel)
	}
	if resp.Usage != (llm.Usage{InputTokens: 42, OutputTokens: 29}) {
		t.Errorf("Usage = %+v", resp.Usage)
	}
	if want := (42*1.0 + 29*2.0) / 1e6; !near(resp.Cost, want) {
		t.Errorf("Cost = %g, want %g", resp.Cost, want)
	}
	if len(resp.PromptFilter) != 1 || resp.PromptFilter[0].Violence.Severity != "safe" {
		t.Errorf("PromptFilter = %+v", resp.PromptFilter)
	}
	if f := resp.ContentFilter; f == nil || !f.Hate.Reported() || f.Filtered() {
		t.Errorf("ContentFilter = %v", f)
	}
	if resp.Header.Get("x-ratelimit-remaining-tokens") != "6688" {
		t.Errorf("rate-limit header not reachable: %v", resp.Header)
	}
}

func TestFixtureReasoningCompletion(t *testing.T) {
	rec := readRecording(t, "aoai_chat_completion_o1_reasoning_effort.recording.json")
	p, model, m := replay(t, rec.RequestURI, recordedResponse(rec))
	req := hello(model)
	req.ReasoningEffort = "low"
	resp, err := p.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	checkRecordedRoute(t, m, rec.RequestURI)
	if got := m.Last(t).Body["reasoning_effort"]; got != "low" {
		t.Errorf("reasoning_effort = %v", got)
	}
	if resp.Usage.ReasoningTokens != 320 || resp.Usage.OutputTokens != 2922 || resp.Usage.InputTokens != 39 {
		t.Errorf("Usage = %+v", resp.Usage)
	}
	// Recorded as {"filtered":false,"detected":false}: the zero value.
	if f := resp.ContentFilter; f == nil || f.ProtectedMaterialCode != (llm.DetectionResult{}) || f.ProtectedMaterialText != (llm.DetectionResult{}) || !f.Hate.Reported() {
		t.Errorf("ContentFilter = %+v", f)
	}
	if len(resp.PromptFilter) != 1 || resp.PromptFilter[0].Jailbreak != (llm.DetectionResult{}) || !resp.PromptFilter[0].Hate.Reported() {
		t.Errorf("PromptFilter = %+v", resp.PromptFilter)
	}
	if resp.Region != "East US 2" {
		t.Errorf("Region = %q", resp.Region)
	}
}

func TestFixtureStreams(t *testing.T) {
	for _, tc := range []struct {
		sse, headers   string
		v1Token        bool
		wantText       string
		wantServed     string
		wantRequestID  string
		wantPromptFilt bool
	}{
		{sse: "aoai_chat_stream_gpt4_2025-01-01-preview.sse", headers: "aoai_chat_stream_gpt4_2025-01-01-preview.request_and_headers.json",
			wantText: "1, 2, 3, 4, 5, 6, 7, 8, 9, 10.", wantRequestID: "70ae0424-f3df-41cc-b290-96c003a38fd3", wantPromptFilt: true},
		{sse: "aoai_chat_stream_v1_endpoint_gpt4turbo.sse", headers: "aoai_chat_stream_v1_endpoint_gpt4turbo.request_and_headers.json",
			v1Token: true, wantText: "1, 2, 3, 4, 5, 6, 7, 8, 9, 10.", wantServed: "gpt-4-turbo-2024-04-09", wantPromptFilt: true},
	} {
		t.Run(tc.sse, func(t *testing.T) {
			var rec recording
			if err := json.Unmarshal(readFixture(t, tc.headers), &rec); err != nil {
				t.Fatal(err)
			}
			reply := sseResponse(rec.StatusCode, readFixture(t, tc.sse), rec.ResponseHeaders)
			p, model, m := replay(t, rec.RequestURI, reply)
			if tc.v1Token {
				// The recording used Entra ID on the v1 route.
				p = newTestProvider(t, Config{Endpoint: testEndpoint, ADToken: "entra-token-abc"}, m)
			}
			chunks, text, err := collect(p.Stream(context.Background(), hello(model)))
			if err != nil {
				t.Fatal(err)
			}
			checkRecordedRoute(t, m, rec.RequestURI)
			if tc.v1Token {
				if h := m.Last(t).Header; h.Get("Authorization") != "Bearer entra-token-abc" || h.Get("api-key") != "" {
					t.Errorf("auth headers: %v", h)
				}
			}
			if text != tc.wantText {
				t.Errorf("text = %q, want %q", text, tc.wantText)
			}
			first, last := chunks[0], chunks[len(chunks)-1]
			if tc.wantPromptFilt && len(first.PromptFilter) == 0 {
				t.Error("first chunk lacks the prompt filter results")
			}
			if want := rec.ResponseHeaders["apim-request-id"]; first.RequestID != want || first.Region != rec.ResponseHeaders["x-ms-region"] {
				t.Errorf("first chunk RequestID %q Region %q, want %q %q", first.RequestID, first.Region, want, rec.ResponseHeaders["x-ms-region"])
			}
			if tc.wantServed != "" && first.ServedModel != tc.wantServed && chunks[1].ServedModel != tc.wantServed {
				t.Errorf("ServedModel not %q", tc.wantServed)
			}
			finish := ""
			for _, c := range chunks {
				if c.FinishReason != "" {
					finish = c.FinishReason
				}
			}
			if finish != "stop" {
				t.Errorf("finish reason %q (last chunk %+v)", finish, last)
			}
		})
	}
}

func TestFixtureStreamUsageChunk(t *testing.T) {
	body := readFixture(t, "aoai_stream_include_usage_final_chunk.copilot-test.sse")
	p, model, _ := replay(t, testEndpoint+"/openai/v1/chat/completions", sseResponse(200, body, nil))
	chunks, _, err := collect(p.Stream(context.Background(), hello(model)))
	if err != nil {
		t.Fatal(err)
	}
	var u *llm.Usage
	for _, c := range chunks {
		if c.Usage != nil {
			u = c.Usage
		}
	}
	if u == nil || u.InputTokens != 965 || u.OutputTokens != 93 {
		t.Errorf("usage = %+v", u)
	}
}

func TestFixtureFoundryModelResponses(t *testing.T) {
	rec := readRecording(t, "modelinference_serverless_mistral_chat_extra_params.recording.json")
	p, model, _ := replay(t, rec.RequestURI, recordedResponse(rec))
	resp, err := p.Generate(context.Background(), hello(model))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Completion, "There are 5,280 feet in a mile.") || resp.ContentFilter != nil || resp.PromptFilter != nil {
		t.Errorf("response = %+v", resp)
	}

	body := readFixture(t, "modelinference_serverless_mistral_stream.excerpt.sse")
	p, model, _ = replay(t, testEndpoint+"/openai/v1/chat/completions", sseResponse(200, body, map[string]string{"Content-Type": "text/event-stream; charset=utf-8"}))
	chunks, text, err := collect(p.Stream(context.Background(), hello(model)))
	if err != nil {
		t.Fatal(err)
	}
	last := chunks[len(chunks)-1]
	if !strings.HasPrefix(text, "Absolutely") || !strings.HasSuffix(text, "infections.") || last.FinishReason != "stop" ||
		last.Usage == nil || last.Usage.OutputTokens != 352 {
		t.Errorf("stream: text %q…, last chunk %+v", text[:min(len(text), 20)], last)
	}
}

// TestFixtureAnnotatedResponses covers the documented 200 bodies: filter
// annotations in every shape, including a filter that failed.
func TestFixtureAnnotatedResponses(t *testing.T) {
	for _, tc := range []struct {
		file  string
		check func(t *testing.T, r *llm.Response)
	}{
		{"aoai_chat_completion_finish_reason_content_filter_blocklist.doc.json", func(t *testing.T, r *llm.Response) {
			if r.FinishReason != "content_filter" || r.Completion != "" {
				t.Errorf("FinishReason %q Completion %q", r.FinishReason, r.Completion)
			}
			if f := r.ContentFilter; f == nil || len(f.CustomBlocklists) != 1 || f.CustomBlocklists[0].ID != "myBlocklistName" || !f.Filtered() {
				t.Errorf("ContentFilter = %+v", f)
			}
		}},
		{"aoai_chat_completion_protected_material_code_annotation.doc.json", func(t *testing.T, r *llm.Response) {
			f := r.ContentFilter
			if f == nil || !f.ProtectedMaterialCode.Detected || f.ProtectedMaterialCode.Citation == nil ||
				f.ProtectedMaterialCode.Citation.License != "EXAMPLE-LICENSE" {
				t.Errorf("ContentFilter = %+v", f)
			}
			if len(r.PromptFilter) != 1 || r.PromptFilter[0].Profanity != (llm.DetectionResult{}) || r.PromptFilter[0].Jailbreak != (llm.DetectionResult{}) || !r.PromptFilter[0].Hate.Reported() {
				t.Errorf("PromptFilter = %+v", r.PromptFilter)
			}
		}},
		{"aoai_completions_content_filter_system_unavailable.doc.json", func(t *testing.T, r *llm.Response) {
			if f := r.ContentFilter; f == nil || f.Error == nil || f.Error.Code != "content_filter_error" {
				t.Errorf("ContentFilter = %+v", f)
			}
		}},
		{"aoai_completions_n3_one_choice_content_filter.doc.json", func(t *testing.T, r *llm.Response) {
			if r.FinishReason != "length" {
				t.Errorf("FinishReason = %q, want the first choice's", r.FinishReason)
			}
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body := readFixture(t, tc.file)
			p, model, _ := replay(t, testEndpoint+"/openai/v1/chat/completions", func(*http.Request) *http.Response {
				return jsonResponse(200, string(body), map[string]string{"apim-request-id": "r"})
			})
			resp, err := p.Generate(context.Background(), hello(model))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, resp)
		})
	}
}

// TestFixtureErrors: every recorded or documented error body becomes the
// *llm.Error with the right sentinel and an actionable message.
func TestFixtureErrors(t *testing.T) {
	type errCase struct {
		name       string
		status     int
		body       []byte
		header     map[string]string
		uri        string
		model      func(registry.Model) registry.Model
		stream     bool
		sentinel   error
		wantPrefix string
		wantAll    []string
		check      func(t *testing.T, e *llm.Error)
	}
	var cases []errCase
	fromRecording := func(c errCase, file string) errCase {
		rec := readRecording(t, file)
		c.name, c.status, c.body, c.header, c.uri = file, rec.StatusCode, rec.ResponseBody, rec.ResponseHeaders, rec.RequestURI
		return c
	}
	fromBody := func(c errCase, file string, status int) errCase {
		c.name, c.status, c.body, c.uri = file, status, readFixture(t, file), testEndpoint+"/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
		return c
	}
	cases = append(cases,
		fromRecording(errCase{sentinel: llm.ErrContentFiltered, wantPrefix: "Content filtered by Azure: violence (medium)",
			check: func(t *testing.T, e *llm.Error) {
				if e.ContentFilter == nil || e.ContentFilter.Violence.Severity != "medium" || e.RequestID != "40efa3f2-7875-4bdd-bce1-5698c2eca897" || e.Retryable() {
					t.Errorf("ContentFilter %+v RequestID %q retryable %v", e.ContentFilter, e.RequestID, e.Retryable())
				}
			}}, "aoai_error_400_content_filter_prompt_chat.recording.json"),
		fromBody(errCase{sentinel: llm.ErrContentFiltered, wantPrefix: "Content filtered by Azure: violence (medium)"},
			"aoai_error_400_content_filter_prompt.body.json", 400),
		fromBody(errCase{sentinel: llm.ErrContentFiltered, wantPrefix: `Content filtered by Azure: custom blocklist "raiBlocklistName"`},
			"aoai_error_400_content_filter_custom_blocklist.doc.json", 400),
		fromRecording(errCase{sentinel: llm.ErrNotFound,
			wantPrefix: "Azure deployment 'invalid model name' not found in resource 'my-resource'. Verify the deployment name",
			wantAll:    []string{"AZURE_DEPLOYMENT_FIXTURE_MODEL", "within the last 5 minutes"}}, "aoai_error_404_deployment_not_found.recording.json"),
		fromRecording(errCase{stream: true, sentinel: llm.ErrAuthentication, wantPrefix: "Azure OpenAI API key invalid. Check ",
			wantAll: []string{"AZURE_OPENAI_API_KEY", "my-resource", "invalid subscription key"}}, "aoai_error_401_invalid_key_stream.recording.json"),
		fromBody(errCase{sentinel: llm.ErrQuotaExceeded,
			wantPrefix: "Azure quota exceeded. Consider increasing quota or using a different region",
			check: func(t *testing.T, e *llm.Error) {
				if e.RetryAfter != 24*time.Hour {
					t.Errorf("RetryAfter = %v, want 24h", e.RetryAfter)
				}
			}}, "aoai_error_429_token_rate_limit.issue.json", 429),
		fromBody(errCase{sentinel: llm.ErrInvalidRequest, wantPrefix: "Unsupported parameter: 'max_tokens'", wantAll: []string{"Reasoning: true"}},
			"aoai_error_400_unsupported_parameter_max_tokens.issue.json", 400),
		fromRecording(errCase{sentinel: llm.ErrAuthentication, wantPrefix: "Azure OpenAI API key invalid.", wantAll: []string{"Auth token validation failed"}},
			"modelinference_serverless_error_401.recording.json"),
		fromBody(errCase{sentinel: llm.ErrContentFiltered, wantPrefix: "Content filtered by Azure (no category reported)."},
			"modelinference_error_400_content_filter.doc.json", 400),
		fromBody(errCase{sentinel: llm.ErrInvalidRequest, wantPrefix: "One of the parameters contain invalid values."},
			"modelinference_error_422_parameter_not_supported.doc.json", 422),
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			var s string
			if json.Unmarshal(body, &s) == nil {
				body = []byte(s)
			}
			p, model, m := replay(t, tc.uri, func(*http.Request) *http.Response {
				return jsonResponse(tc.status, string(body), tc.header)
			})
			var err error
			if tc.stream {
				_, _, err = collect(p.Stream(context.Background(), hello(model)))
			} else {
				_, err = p.Generate(context.Background(), hello(model))
			}
			e := asLLMError(t, err)
			if testing.Verbose() {
				t.Log(err)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v) false; code %s", tc.sentinel, e.Code)
			}
			if !strings.HasPrefix(e.Message, tc.wantPrefix) {
				t.Errorf("Message = %q\nwant prefix %q", e.Message, tc.wantPrefix)
			}
			for _, w := range tc.wantAll {
				if !strings.Contains(e.Message, w) {
					t.Errorf("Message lacks %q: %s", w, e.Message)
				}
			}
			if e.StatusCode != tc.status || e.Provider != ProviderName || e.Model != model.ID {
				t.Errorf("StatusCode %d Provider %q Model %q", e.StatusCode, e.Provider, e.Model)
			}
			if strings.Contains(tc.uri, "/openai/deployments/") && !strings.Contains(tc.uri, "fake-recorded-host.microsoft.com//") {
				checkRecordedRoute(t, m, tc.uri)
			}
			noSecret(t, err)
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}

// TestFixtureAsyncFilterStreams replays the documented asynchronous-filter
// streams. As published they contain "..." elisions and a broken line, so
// they are replayed twice: as published (the provider must fail cleanly,
// not panic or hang) and repaired (elisions dropped, the broken line
// joined), which must parse into text plus annotations.
func TestFixtureAsyncFilterStreams(t *testing.T) {
	for _, tc := range []struct {
		file  string
		check func(t *testing.T, chunks []*llm.Chunk, text string)
	}{
		{"aoai_stream_async_filter_passes.doc.sse", func(t *testing.T, chunks []*llm.Chunk, text string) {
			if !strings.HasPrefix(text, "Color is a") {
				t.Errorf("text = %q", text)
			}
			if len(chunks[0].PromptFilter) == 0 {
				t.Error("prompt_annotations (the old name) not reported as PromptFilter")
			}
			annotated := 0
			for _, c := range chunks {
				if c.ContentFilter != nil {
					annotated++
				}
			}
			if annotated == 0 {
				t.Error("no annotation-only event reported")
			}
		}},
		{"aoai_stream_async_filter_blocked_protected_material.doc.sse", func(t *testing.T, chunks []*llm.Chunk, text string) {
			last := chunks[len(chunks)-1]
			for _, c := range chunks {
				if c.FinishReason != "" {
					last = c
				}
			}
			if last.FinishReason != "content_filter" || last.ContentFilter == nil || !last.ContentFilter.ProtectedMaterialText.Filtered {
				t.Errorf("final chunk = %+v", last)
			}
			if !strings.HasPrefix(text, "Hey Jude,") {
				t.Errorf("text = %q", text)
			}
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw := readFixture(t, tc.file)
			p, model, _ := replay(t, testEndpoint+"/openai/v1/chat/completions", sseResponse(200, raw, nil))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, _, err := collect(p.Stream(ctx, hello(model)))
			if err != nil {
				asLLMError(t, err)
			}

			p, model, _ = replay(t, testEndpoint+"/openai/v1/chat/completions", sseResponse(200, repairSSE(raw), nil))
			chunks, text, err := collect(p.Stream(ctx, hello(model)))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, chunks, text)
		})
	}
}

// repairSSE drops the "..." elision lines of a documentation example and
// joins data lines a line break split.
func repairSSE(raw []byte) []byte {
	var events []string
	for _, block := range strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n\n") {
		line := strings.TrimSpace(block)
		switch {
		case line == "" || line == "...":
			continue
		case strings.HasPrefix(line, "data:"):
			events = append(events, line)
		case len(events) > 0:
			events[len(events)-1] += line // the rest of a broken line
		}
	}
	var b bytes.Buffer
	for _, e := range events {
		b.WriteString(e)
		b.WriteString("\n\n")
	}
	return b.Bytes()
}

// TestFixtureCoverage fails when a fixture is added without a decision:
// replayed above, or listed here as not a chat response, stream or error.
func TestFixtureCoverage(t *testing.T) {
	replayed := []string{
		"aoai_chat_completion_gpt4_2025-01-01-preview.recording.json",
		"aoai_chat_completion_o1_reasoning_effort.recording.json",
		"aoai_chat_stream_gpt4_2025-01-01-preview.sse", "aoai_chat_stream_gpt4_2025-01-01-preview.request_and_headers.json",
		"aoai_chat_stream_v1_endpoint_gpt4turbo.sse", "aoai_chat_stream_v1_endpoint_gpt4turbo.request_and_headers.json",
		"aoai_error_400_content_filter_prompt_chat.recording.json",
		"aoai_error_400_content_filter_prompt.body.json",
		"aoai_error_404_deployment_not_found.recording.json",
		"aoai_error_401_invalid_key_stream.recording.json",
		"aoai_error_429_token_rate_limit.issue.json",
		"aoai_error_400_unsupported_parameter_max_tokens.issue.json",
		"aoai_chat_completion_finish_reason_content_filter_blocklist.doc.json",
		"aoai_error_400_content_filter_custom_blocklist.doc.json",
		"aoai_completions_n3_one_choice_content_filter.doc.json",
		"aoai_completions_content_filter_system_unavailable.doc.json",
		"aoai_chat_completion_protected_material_code_annotation.doc.json",
		"aoai_stream_async_filter_passes.doc.sse",
		"aoai_stream_async_filter_blocked_protected_material.doc.sse",
		"aoai_stream_include_usage_final_chunk.copilot-test.sse",
		"modelinference_serverless_mistral_chat_extra_params.recording.json",
		"modelinference_serverless_error_401.recording.json",
		"modelinference_serverless_mistral_stream.excerpt.sse",
		"modelinference_error_422_parameter_not_supported.doc.json",
		"modelinference_error_400_content_filter.doc.json",
		"aoai_responses_create_v1_gpt41nano.doc.json", "aoai_responses_reasoning_gpt5_v1.doc.json", // responses_test.go
		"aoai_chat_completion_model_router.doc.json", // router_test.go
	}
	notChat := []string{ // batch, files and Responses API objects
		"SOURCES.md",
		"aoai_file_upload_purpose_batch.doc.json",
		"aoai_batch_input_chat_completions.doc.jsonl", "aoai_batch_input_responses.doc.jsonl",
		"aoai_batch_create_validating.doc.json", "aoai_batch_create_validating_iso_timestamps.doc.json",
		"aoai_batch_create_failfast_empty_file_ids.doc.json", "aoai_batch_output_line.doc.jsonl", "aoai_batch_output_line_responses.doc.jsonl",
		"aoai_batch_list_preview_filter.doc.json",
	}
	entries, err := os.ReadDir(fixturesDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(replayed, e.Name()) && !slices.Contains(notChat, e.Name()) {
			t.Errorf("fixture %s is neither replayed nor listed as not applicable", e.Name())
		}
	}
}
