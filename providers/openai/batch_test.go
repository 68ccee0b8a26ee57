package openai_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

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

var batchModel = registry.Model{ID: "bt-gpt-4o", Provider: "bt", Name: "gpt-4o", InputCost: 2.5, OutputCost: 10}

// batchMock returns a batch.Service whose requests reach an httpmock
// transport, which records them.
func batchMock(t *testing.T, cfg openai.BatchConfig) (batch.Service, *httpmock.MockTransport) {
	t.Helper()
	mt := httpmock.NewMockTransport()
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://res.openai.azure.com/openai/v1"
	}
	if cfg.Model.ID == "" {
		cfg.Model = batchModel
	}
	cfg.Doer = openai.RefuseRedirects(&http.Client{Transport: mt})
	s, err := openai.NewBatchService(cfg)
	require.NoError(t, err)
	return s, mt
}

// Every batch document in fixtures/azure decodes, with the tolerance its
// SOURCES.md entry calls for.
func TestDecodeBatchFixtures(t *testing.T) {
	j, err := openai.DecodeBatchJob(fixture.Azure(t, "aoai_batch_create_validating.doc.json"))
	require.NoError(t, err)
	assert.Equal(t, "batch_6caaf24d-54a5-46be-b1b7-518884fcbdde", j.ID)
	assert.Equal(t, batch.StatusValidating, j.Status)
	assert.Empty(t, j.Endpoint, "endpoint: null")
	assert.Empty(t, j.OutputFileID, "output_file_id: null")
	assert.Equal(t, "file-655111ec9cfc44489d9af078f08116ef", j.InputFileID)
	assert.Equal(t, time.Unix(1722476583, 0).UTC(), j.CreatedAt)
	assert.Equal(t, time.Unix(1722562983, 0).UTC(), j.ExpiresAt)
	assert.True(t, j.CompletedAt.IsZero())
	assert.Equal(t, batch.CompletionWindow, j.CompletionWindow)

	j, err = openai.DecodeBatchJob(fixture.Azure(t, "aoai_batch_create_validating_iso_timestamps.doc.json"))
	require.NoError(t, err)
	assert.Equal(t, batch.StatusValidating, j.Status, `"Validating" capitalised`)
	assert.Equal(t, time.Date(2024, 7, 19, 17, 13, 57, 249138200, time.UTC), j.CreatedAt, "ISO-8601 with 7 fractional digits")
	assert.Equal(t, time.Date(2024, 7, 20, 17, 13, 57, 191849800, time.UTC), j.ExpiresAt)
	assert.Equal(t, batch.Counts{}, j.Counts, "null counts")

	j, err = openai.DecodeBatchJob(fixture.Azure(t, "aoai_batch_create_failfast_empty_file_ids.doc.json"))
	require.NoError(t, err)
	assert.Empty(t, j.OutputFileID)
	assert.Empty(t, j.ErrorFileID)
	assert.Equal(t, "/chat/completions", j.Endpoint)

	page, err := openai.DecodeBatchJobs(fixture.Azure(t, "aoai_batch_list_preview_filter.doc.json"))
	require.NoError(t, err)
	require.Len(t, page.Data, 2)
	assert.False(t, page.HasMore)
	assert.Equal(t, "batch_6287485f-50fc-4efa-bcc5-b86690037f43", page.LastID)
	first := page.Data[0]
	assert.Equal(t, batch.StatusCompleted, first.Status)
	assert.Equal(t, batch.Counts{Total: 3, Completed: 2, Failed: 1}, first.Counts)
	assert.Equal(t, "file-62bebde8-e767-4cd3-a0a1-28b214dc8974", first.OutputFileID)
	assert.Equal(t, "file-472c0626-4561-4327-9e4e-f41afbfb30e6", first.ErrorFileID)
	assert.Equal(t, time.Unix(1729011896, 0).UTC(), first.CompletedAt)

	f, err := openai.DecodeFile(fixture.Azure(t, "aoai_file_upload_purpose_batch.doc.json"))
	require.NoError(t, err)
	assert.Equal(t, batch.File{ID: "file-7733bc35e32841e297a62a9ee50b3461", Filename: "test.jsonl", Purpose: "batch", Status: "processed",
		Bytes: 817, CreatedAt: time.Unix(1743398147, 0).UTC(), ExpiresAt: time.Unix(1744607747, 0).UTC()}, f)
}

func TestDecodeBatchErrorShapes(t *testing.T) {
	// Microsoft's failed batch: errors as a list object, null counts.
	doc := `{"id":"batch_1","status":"failed","errors":{"object":"list","data":[{"code":"empty_file","message":"The input file is empty."},` +
		`{"code":"invalid_json_line","message":"bad","line":"4","param":null}]},"request_counts":{"total":10,"completed":null,"failed":null},` +
		`"metadata":{"k":"v","n":3},"created_at":1725419394.0}`
	j, err := openai.DecodeBatchJob([]byte(doc))
	require.NoError(t, err)
	assert.Equal(t, []batch.JobError{{Code: "empty_file", Message: "The input file is empty."}, {Code: "invalid_json_line", Message: "bad", Line: 4}}, j.Errors)
	assert.Equal(t, batch.Counts{Total: 10}, j.Counts)
	assert.Equal(t, map[string]string{"k": "v", "n": "3"}, j.Metadata)
	assert.Equal(t, time.Unix(1725419394, 0).UTC(), j.CreatedAt, "a float timestamp")

	// A bare array, garbage timestamps and unknown fields do not fail.
	j, err = openai.DecodeBatchJob([]byte(`{"id":"b","status":"Completed","errors":[{"code":"x","message":"y","line":2}],"created_at":"yesterday","future":{"a":1}}`))
	require.NoError(t, err)
	assert.Equal(t, batch.StatusCompleted, j.Status)
	assert.Equal(t, []batch.JobError{{Code: "x", Message: "y", Line: 2}}, j.Errors)
	assert.True(t, j.CreatedAt.IsZero())

	_, err = openai.DecodeBatchJob([]byte(`{"status":"completed"}`))
	require.Error(t, err, "no id")
	_, err = openai.DecodeBatchJob([]byte(`[1]`))
	require.Error(t, err)
}

// The output line of Microsoft's example goes through the chat parser:
// text, usage, annotations, the request ID, the batch price.
func TestResultOfFixtureOutputLine(t *testing.T) {
	s, _ := batchMock(t, openai.BatchConfig{})
	line := bytes.TrimSpace(fixture.Azure(t, "aoai_batch_output_line.doc.jsonl"))
	r, err := s.Result(line)
	require.NoError(t, err)
	assert.Equal(t, "task-0", r.ID)
	require.NoError(t, r.Err)
	resp := r.Response
	assert.Equal(t, "Microsoft was founded on April 4, 1975, by Bill Gates and Paul Allen in Albuquerque, New Mexico.", resp.Completion)
	assert.Equal(t, "stop", resp.FinishReason)
	assert.Equal(t, llm.Usage{InputTokens: 27, OutputTokens: 24}, resp.Usage)
	assert.Equal(t, "660b7424-b648-4b67-addc-862ba067d442", resp.RequestID)
	assert.Equal(t, "gpt-4o-2024-05-13", resp.ServedModel)
	assert.Equal(t, batchModel.ID, resp.Model)
	require.NotNil(t, resp.ContentFilter)
	require.Len(t, resp.PromptFilter, 1)
	require.NotNil(t, resp.PromptFilter[0].Jailbreak)
	assert.InDelta(t, batchModel.Cost(27, 0, 24)/2, resp.Cost, 1e-12, "half the catalog price by default")
}

func TestResultErrorLines(t *testing.T) {
	s, _ := batchMock(t, openai.BatchConfig{Redact: []string{"sk-secret-key"}})
	// Azure: the error in response.body with its status.
	r, err := s.Result([]byte(`{"custom_id":"c1","response":{"status_code":400,"request_id":"rq","body":{"error":{"code":"content_filter","message":"filtered sk-secret-key",` +
		`"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"violence":{"filtered":true,"severity":"medium"}}}}}},"error":null}`))
	require.NoError(t, err)
	require.ErrorIs(t, r.Err, llm.ErrContentFiltered)
	var le *llm.Error
	require.ErrorAs(t, r.Err, &le)
	assert.Equal(t, 400, le.StatusCode)
	assert.Equal(t, "rq", le.RequestID)
	require.NotNil(t, le.ContentFilter)
	assert.True(t, le.ContentFilter.Violence.Filtered)
	assert.NotContains(t, r.Err.Error(), "sk-secret-key", "an echoed secret is redacted")
	assert.NotErrorIs(t, r.Err, batch.ErrNotRun)

	// OpenAI: response null, error batch_expired / batch_cancelled.
	for code, want := range map[string]llm.Code{"batch_expired": llm.CodeTimeout, "batch_cancelled": llm.CodeCanceled} {
		r, err := s.Result([]byte(`{"id":"batch_req_1","custom_id":"c2","response":null,"error":{"code":"` + code + `","message":"m"}}`))
		require.NoError(t, err)
		require.ErrorIs(t, r.Err, batch.ErrNotRun, code)
		assert.Equal(t, want, llm.CodeOf(r.Err), code)
	}

	// A 429 of a line is rate_limited, as for chat.
	r, err = s.Result([]byte(`{"custom_id":"c3","response":{"status_code":429,"body":{"error":{"code":"429","message":"Rate limit"}}}}`))
	require.NoError(t, err)
	assert.Equal(t, llm.CodeRateLimited, llm.CodeOf(r.Err))

	for _, bad := range []string{`{"response":{"status_code":200,"body":{}}}`, `not json`, `{"custom_id":"x"}`} {
		_, err := s.Result([]byte(bad))
		assert.Error(t, err, bad)
	}
}

// A line is Microsoft's input example: the same keys and values, plus the
// "stream": false the chat path sends too (go-openai writes it always).
func TestLineMatchesMicrosoftsInputExample(t *testing.T) {
	s, _ := batchMock(t, openai.BatchConfig{WireName: "REPLACE-WITH-MODEL-DEPLOYMENT-NAME"})
	want := strings.Split(strings.TrimSpace(string(fixture.Azure(t, "aoai_batch_input_chat_completions.doc.jsonl"))), "\n")[0]
	conv := conversation.New().System("You are an AI assistant that helps people find information.").User("When was Microsoft founded?")
	line, err := s.Line("task-0", &llm.Request{Model: batchModel, Messages: conv.Messages()})
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(line, &got))
	assert.Equal(t, false, got["body"].(map[string]any)["stream"])
	delete(got["body"].(map[string]any), "stream")
	gotJSON, _ := json.Marshal(got)
	assert.JSONEq(t, want, string(gotJSON))
	assert.NotContains(t, string(line), "\n")

	// Options go into the body as the chat path serializes them.
	temp := 0.0
	req := &llm.Request{Model: batchModel, Messages: conv.Messages(), Sampling: llm.Sampling{Temperature: &temp, MaxNewTokens: 5,
		ResponseFormat: &llm.ResponseFormat{Type: llm.FormatJSONSchema, Name: "x", Schema: []byte(`{"type":"object"}`), Strict: true}}}
	line, err = s.Line(`id "quoted"`, req)
	require.NoError(t, err)
	body, err := openai.MarshalChatRequest(req, "REPLACE-WITH-MODEL-DEPLOYMENT-NAME")
	require.NoError(t, err)
	var l struct {
		CustomID string          `json:"custom_id"`
		Body     json.RawMessage `json:"body"`
	}
	require.NoError(t, json.Unmarshal(line, &l))
	assert.Equal(t, `id "quoted"`, l.CustomID)
	assert.Equal(t, string(body), string(l.Body), "the serializer's bytes, unchanged")
	assert.Contains(t, string(l.Body), `"temperature":0`)
}

func TestUploadStreamsMultipart(t *testing.T) {
	for _, dotted := range []bool{true, false} {
		s, mt := batchMock(t, openai.BatchConfig{DottedExpiry: dotted, APIVersion: "2025-04-01-preview", BaseURL: "https://res.openai.azure.com/openai"})
		var got struct {
			fields      map[string]string
			filename    string
			content     string
			length      int64
			contentType string
			query       string
		}
		mt.RegisterResponder(http.MethodPost, "https://res.openai.azure.com/openai/files", func(r *http.Request) (*http.Response, error) {
			got.length = r.ContentLength
			got.query = r.URL.RawQuery
			_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			require.NoError(t, err)
			mr := multipart.NewReader(r.Body, params["boundary"])
			got.fields = map[string]string{}
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				b, _ := io.ReadAll(p)
				if p.FormName() == "file" {
					got.filename, got.content, got.contentType = p.FileName(), string(b), p.Header.Get("Content-Type")
				} else {
					got.fields[p.FormName()] = string(b)
				}
			}
			return httpmock.NewStringResponse(200, string(fixture.Azure(t, "aoai_file_upload_purpose_batch.doc.json"))), nil
		})
		content := "{\"custom_id\":\"a\"}\n{\"custom_id\":\"b\"}\n"
		f, err := s.UploadFile(t.Context(), batch.Upload{Name: "deluge-x-1.jsonl", Content: strings.NewReader(content + "ignored beyond Size"),
			Size: int64(len(content)), ExpiresAfter: 14 * 24 * time.Hour})
		require.NoError(t, err)
		assert.Equal(t, "file-7733bc35e32841e297a62a9ee50b3461", f.ID)
		assert.Equal(t, "api-version=2025-04-01-preview", got.query)
		assert.Equal(t, content, got.content)
		assert.Equal(t, "deluge-x-1.jsonl", got.filename)
		assert.Equal(t, "application/json", got.contentType, "as Microsoft's curl example")
		assert.Positive(t, got.length, "a known length: no chunked upload")
		want := map[string]string{"purpose": "batch", "expires_after[anchor]": "created_at", "expires_after[seconds]": "1209600"}
		if dotted {
			want = map[string]string{"purpose": "batch", "expires_after.anchor": "created_at", "expires_after.seconds": "1209600"}
		}
		assert.Equal(t, want, got.fields)
	}
}

func TestCreateJobBodyAndLists(t *testing.T) {
	s, mt := batchMock(t, openai.BatchConfig{Endpoint: "/chat/completions"})
	var body map[string]any
	mt.RegisterResponder(http.MethodPost, "https://res.openai.azure.com/openai/v1/batches", func(r *http.Request) (*http.Response, error) {
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		return httpmock.NewStringResponse(200, string(fixture.Azure(t, "aoai_batch_create_failfast_empty_file_ids.doc.json"))), nil
	})
	j, err := s.CreateJob(t.Context(), batch.JobParams{InputFileID: "file-1", OutputExpiresAfter: 15 * 24 * time.Hour, Metadata: map[string]string{"a": "b"}})
	require.NoError(t, err)
	assert.Equal(t, "batch_1e1e7b9f-d4b4-41fa-bd2e-8d2ec50fb8cc", j.ID)
	assert.Equal(t, map[string]any{"input_file_id": "file-1", "endpoint": "/chat/completions", "completion_window": "24h",
		"metadata": map[string]any{"a": "b"}, "output_expires_after": map[string]any{"anchor": "created_at", "seconds": float64(1296000)}}, body)

	mt.RegisterResponder(http.MethodGet, "https://res.openai.azure.com/openai/v1/batches", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, "after=batch_x&limit=100", r.URL.RawQuery)
		return httpmock.NewStringResponse(200, string(fixture.Azure(t, "aoai_batch_list_preview_filter.doc.json"))), nil
	})
	page, err := s.Jobs(t.Context(), batch.ListOptions{After: "batch_x", Limit: 500})
	require.NoError(t, err)
	assert.Len(t, page.Data, 2)

	mt.RegisterResponder(http.MethodGet, "https://res.openai.azure.com/openai/v1/files", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, "order=desc&purpose=batch", r.URL.RawQuery)
		return httpmock.NewStringResponse(200, `{"object":"list","data":[`+string(fixture.Azure(t, "aoai_file_upload_purpose_batch.doc.json"))+`],"has_more":true}`), nil
	})
	files, err := s.Files(t.Context(), batch.ListOptions{Purpose: "batch"})
	require.NoError(t, err)
	require.Len(t, files.Data, 1)
	assert.True(t, files.HasMore)
	assert.Equal(t, "file-7733bc35e32841e297a62a9ee50b3461", files.LastID, "the last item when last_id is absent")
}

func TestBatchErrors(t *testing.T) {
	const key = "sk-batch-secret-0123"
	s, mt := batchMock(t, openai.BatchConfig{Redact: []string{key}, MaxResponseBytes: 4096})
	respond := func(status int, body string, header ...string) {
		mt.Reset()
		mt.RegisterNoResponder(func(*http.Request) (*http.Response, error) {
			r := httpmock.NewStringResponse(status, body)
			for i := 0; i+1 < len(header); i += 2 {
				r.Header.Set(header[i], header[i+1])
			}
			return r, nil
		})
	}
	respond(401, `{"error":{"code":"401","message":"Access denied: key `+key+` is invalid"}}`)
	_, err := s.Job(t.Context(), "batch_1")
	require.ErrorIs(t, err, llm.ErrAuthentication)
	assert.NotContains(t, err.Error(), key)

	respond(400, `{"error":{"code":"token_limit_exceeded","message":"The number of enqueued tokens has surpassed the configured limit of 30K for the deployment 'gpt-4o'."}}`)
	_, err = s.CreateJob(t.Context(), batch.JobParams{InputFileID: "f"})
	require.ErrorIs(t, err, llm.ErrQuotaExceeded)
	assert.Contains(t, err.Error(), "enqueued-token quota")

	respond(400, `{"error":{"code":"quotaExceeded","message":"The quota for files without expiry is reached. The maximum is 500."}}`)
	_, err = s.UploadFile(t.Context(), batch.Upload{Name: "x", Content: strings.NewReader("{}\n"), Size: 3})
	require.ErrorIs(t, err, llm.ErrQuotaExceeded)
	assert.Contains(t, err.Error(), "expiry")

	respond(400, `{"error":{"message":"File is too large.","type":"invalid_request_error"}}`)
	_, err = s.UploadFile(t.Context(), batch.Upload{Name: "x", Content: strings.NewReader("{}\n"), Size: 3})
	require.ErrorIs(t, err, llm.ErrInvalidRequest)
	assert.Contains(t, err.Error(), "WithFileLimits")

	respond(302, ``, "Location", "https://elsewhere.example/steal")
	_, err = s.Job(t.Context(), "batch_1")
	require.ErrorIs(t, err, llm.ErrConfiguration)
	require.ErrorIs(t, err, openai.ErrRedirect)

	respond(200, `{"id":"batch_1","status":"`+strings.Repeat("x", 5000)+`"}`)
	_, err = s.Job(t.Context(), "batch_1")
	require.ErrorIs(t, err, openai.ErrResponseTooLarge)

	respond(200, `<html>proxy</html>`)
	_, err = s.Job(t.Context(), "batch_1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot decode")

	// A job's error list becomes typed errors with advice.
	je := s.JobError(batch.JobError{Code: "too_many_tasks", Message: "too many"})
	assert.Equal(t, llm.CodeInvalidRequest, je.Code)
	assert.ErrorIs(t, je, batch.ErrNotRun)
	assert.Contains(t, je.Message, "WithFileLimits")
	je = s.JobError(batch.JobError{Code: "duplicate_custom_id", Message: "dup", Line: 3})
	assert.Contains(t, je.Message, "line 3")
	assert.Equal(t, llm.CodeNotFound, s.JobError(batch.JobError{Code: "model_not_found"}).Code)
}

// The "openai" provider takes batch jobs on api.openai.com with its key.
func TestOpenAIProviderBatchService(t *testing.T) {
	mt := httpmock.NewMockTransport()
	p, err := openai.New(openai.Config{APIKey: "sk-openai-test-key", HTTPClient: &http.Client{Transport: mt}})
	require.NoError(t, err)
	m, err := registry.Lookup("gpt-4o-mini")
	require.NoError(t, err)
	s, err := p.BatchService(m, "")
	require.NoError(t, err)
	assert.Equal(t, "gpt-4o-mini", s.Name())
	assert.Equal(t, openai.OpenAIBatchMaxLines, s.Limits().MaxLines)
	mt.RegisterResponder(http.MethodGet, "https://api.openai.com/v1/batches/batch_9", func(r *http.Request) (*http.Response, error) {
		assert.Equal(t, "Bearer sk-openai-test-key", r.Header.Get("Authorization"))
		return httpmock.NewStringResponse(200, `{"id":"batch_9","object":"batch","status":"in_progress","endpoint":"/v1/chat/completions"}`), nil
	})
	j, err := s.Job(t.Context(), "batch_9")
	require.NoError(t, err)
	assert.Equal(t, batch.StatusInProgress, j.Status)
	line, err := s.Line("a", &llm.Request{Model: m, Messages: conversation.New().User("hi").Messages()})
	require.NoError(t, err)
	assert.Contains(t, string(line), `"url":"/v1/chat/completions"`)
}
