package azuretest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBatchValidation(t *testing.T) {
	line := func(id, method, url, model string) string {
		return fmt.Sprintf(`{"custom_id":%q,"method":%q,"url":%q,"body":{"model":%q,"messages":[{"role":"user","content":"hi"}]}}`, id, method, url, model)
	}
	ok := line("a", "POST", "/v1/chat/completions", "batch")
	var tooMany strings.Builder
	for i := range MaxBatchLines + 1 {
		fmt.Fprintf(&tooMany, `{"custom_id":"%d","method":"POST","url":"/chat/completions","body":{"model":"batch","messages":[]}}`+"\n", i)
	}
	for _, tc := range []struct {
		name     string
		content  string
		extra    string // batch create fields
		code     string
		line     int // 0: null
		endpoint string
	}{
		{name: "empty file", content: "\n\n", code: codeEmptyFile},
		{name: "UTF-8 BOM", content: "\xEF\xBB\xBF" + ok + "\n", code: codeInvalidRequest},
		{name: "invalid JSON line", content: ok + "\n{not json\n", code: codeInvalidJSONLine, line: 2},
		{name: "JSON that is not an object", content: ok + "\n[1,2]\n", code: codeInvalidJSONLine, line: 2},
		{name: "missing custom_id", content: `{"method":"POST","url":"/chat/completions","body":{"model":"batch"}}`, code: codeInvalidRequest, line: 1},
		{name: "method GET", content: line("a", "GET", "/chat/completions", "batch"), code: codeInvalidRequest, line: 1},
		{name: "no model", content: `{"custom_id":"a","method":"POST","url":"/chat/completions","body":{}}`, code: codeInvalidRequest, line: 1},
		{name: "duplicate custom_id", content: ok + "\n" + line("b", "POST", "/chat/completions", "batch") + "\n" + line("a", "POST", "/chat/completions", "batch"), code: codeDuplicateCustomID, line: 3},
		{name: "model mismatch", content: ok + "\n" + line("b", "POST", "/chat/completions", "gpt-4o"), code: codeModelMismatch, line: 2},
		{name: "url mismatch between lines", content: ok + "\n" + line("b", "POST", "/v1/responses", "batch"), code: codeURLMismatch, line: 2},
		{name: "url mismatch with endpoint", content: line("a", "POST", "/v1/responses", "batch"), code: codeURLMismatch},
		{name: "unknown deployment", content: line("a", "POST", "/chat/completions", "nope"), code: codeModelNotFound},
		{name: "standard deployment", content: line("a", "POST", "/chat/completions", "gpt-4o"), code: codeInvalidRequest},
		{name: "too many lines", content: tooMany.String(), code: codeTooManyTasks},
		{name: "completion window", content: ok, extra: `"completion_window":"48h"`, code: codeInvalidRequest},
	} {
		for _, f := range apiFamilies {
			t.Run(tc.name+"/"+f.name, func(t *testing.T) {
				if tc.name == "too many lines" && testing.Short() {
					t.Skip("large file")
				}
				s := batchServer(t)
				id := uploadID(t, s, f, tc.content)
				body := `{"input_file_id":"` + id + `","endpoint":"/chat/completions"`
				if tc.extra != "" {
					body += "," + tc.extra
				} else {
					body += `,"completion_window":"24h"`
				}
				resp, raw := do(t, s.Client(), http.MethodPost, f.url(s, "batches"), body+"}", nil)
				require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", raw)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				info, err := s.WaitBatch(ctx, decodeBatch(t, raw).ID)
				require.NoError(t, err)
				_, raw = do(t, s.Client(), http.MethodGet, f.url(s, "batches/"+info.ID), "", nil)
				b := decodeBatch(t, raw)
				require.Equal(t, BatchFailed, b.Status, "body: %s", raw)
				require.NotNil(t, b.FailedAt)
				require.NotNil(t, b.Errors)
				assert.Equal(t, "list", b.Errors.Object)
				require.NotEmpty(t, b.Errors.Data)
				e := b.Errors.Data[0]
				assert.Equal(t, tc.code, e.Code)
				assert.NotEmpty(t, e.Message)
				if tc.line > 0 {
					require.NotNil(t, e.Line, "line")
					assert.Equal(t, tc.line, *e.Line)
				} else {
					assert.Nil(t, e.Line)
				}
				assert.Nil(t, e.Param)
				assert.Equal(t, int64(0), s.EnqueuedTokens("batch"), "a failed batch holds no quota")
			})
		}
	}
}

func TestBatchValidationMessages(t *testing.T) {
	s := batchServer(t)
	f := apiFamilies[0]
	b := runBatchOf(t, s, f, "", "")
	// The documented failed batch, verbatim.
	assert.Equal(t, "The input file is empty. Please ensure that the batch contains at least one   request.", b.Errors.Data[0].Message)
	b = runBatchOf(t, s, f, "\xEF\xBB\xBF"+chatLines("batch", "x"), "")
	assert.Contains(t, b.Errors.Data[0].Message, "A valid model deployment name couldn't be extracted")
}

func TestBatchCreateErrors(t *testing.T) {
	for _, f := range apiFamilies {
		t.Run(f.name, func(t *testing.T) {
			s := batchServer(t)
			input := uploadID(t, s, f, chatLines("batch", "a"))
			resp, raw := upload(t, s, f.url(s, "files"), "{}", "purpose", "fine-tune")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			other := decodeFile(t, raw).ID
			for _, tc := range []struct {
				name, body, code, param string
			}{
				{"no input file", `{"endpoint":"/chat/completions","completion_window":"24h"}`, "missing_required_parameter", "input_file_id"},
				{"no endpoint", `{"input_file_id":"` + input + `","completion_window":"24h"}`, "missing_required_parameter", "endpoint"},
				{"no window", `{"input_file_id":"` + input + `","endpoint":"/chat/completions"}`, "missing_required_parameter", "completion_window"},
				{"embeddings", `{"input_file_id":"` + input + `","endpoint":"/v1/embeddings","completion_window":"24h"}`, "invalid_value", "endpoint"},
				{"unknown file", `{"input_file_id":"file-nope","endpoint":"/chat/completions","completion_window":"24h"}`, "invalid_value", "input_file_id"},
				{"not a batch file", `{"input_file_id":"` + other + `","endpoint":"/chat/completions","completion_window":"24h"}`, "invalid_value", "input_file_id"},
				{"output expiry", `{"input_file_id":"` + input + `","endpoint":"/chat/completions","completion_window":"24h","output_expires_after":{"seconds":60,"anchor":"created_at"}}`, "invalid_value", "output_expires_after"},
				{"metadata", `{"input_file_id":"` + input + `","endpoint":"/chat/completions","completion_window":"24h","metadata":[1]}`, "invalid_type", "metadata"},
				{"not JSON", `{`, "", ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					resp, raw := do(t, s.Client(), http.MethodPost, f.url(s, "batches"), tc.body, nil)
					require.Equal(t, http.StatusBadRequest, resp.StatusCode, "body: %s", raw)
					assert.Equal(t, tc.code, errorCode(t, raw))
					var e struct{ Error struct{ Param *string } }
					require.NoError(t, json.Unmarshal(raw, &e))
					if tc.param != "" {
						require.NotNil(t, e.Error.Param)
						assert.Equal(t, tc.param, *e.Error.Param)
					}
				})
			}
			assert.Empty(t, s.Batches())
		})
	}
}

func TestBatchRoutesNeedBatchAPIVersion(t *testing.T) {
	s := batchServer(t)
	for _, path := range []string{"batches", "batches/batch_x"} {
		resp, body := do(t, s.Client(), http.MethodGet, classicAPIURL(s, path, "2024-06-01"), "", nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s: %s", path, body)
	}
	resp, _ := do(t, s.Client(), http.MethodGet, classicAPIURL(s, "batches", "2024-10-21"), "", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the GA version has batch")
	resp, _ = do(t, s.Client(), http.MethodGet, s.URL+"/openai/batches", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "classic without api-version")
}

func TestBatchLifecycle(t *testing.T) {
	for _, failFast := range []bool{true, false} {
		for _, f := range apiFamilies {
			t.Run(fmt.Sprintf("%s/failfast=%v", f.name, failFast), func(t *testing.T) {
				s := batchServer(t, WithBatchFailFast(failFast))
				id := uploadID(t, s, f, chatLines("batch", "one", "two"))
				s.HoldAsync(true)
				resp, raw := createBatch(t, s, f, id, `"metadata":{"k":"v"},"output_expires_after":{"seconds":1209600,"anchor":"created_at"}`)
				require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", raw)
				b := decodeBatch(t, raw)
				assert.Regexp(t, `^batch_[0-9a-f-]{36}$`, b.ID)
				assert.Equal(t, BatchValidating, b.Status)
				if failFast {
					// aoai_batch_create_failfast_empty_file_ids.doc.json
					require.NotNil(t, b.Endpoint)
					assert.Equal(t, "/chat/completions", *b.Endpoint)
					assert.Equal(t, "", *b.OutputFileID)
					assert.Equal(t, "", *b.ErrorFileID)
				} else {
					// aoai_batch_create_validating.doc.json
					assert.Nil(t, b.Endpoint)
					assert.Nil(t, b.OutputFileID)
					assert.Nil(t, b.ErrorFileID)
				}
				_, raw = do(t, s.Client(), http.MethodGet, f.url(s, "batches/"+b.ID), "", nil)
				assert.Equal(t, BatchValidating, decodeBatch(t, raw).Status, "held")
				s.HoldAsync(false)

				_, err := s.WaitBatch(t.Context(), b.ID)
				require.NoError(t, err)
				_, raw = do(t, s.Client(), http.MethodGet, f.url(s, "batches/"+b.ID), "", nil)
				b = decodeBatch(t, raw)
				require.Equal(t, BatchCompleted, b.Status, "body: %s", raw)
				assert.JSONEq(t, `{"k":"v"}`, string(b.Metadata))
				assert.Equal(t, 2, b.RequestCounts.Total)
				assert.Equal(t, 2, b.RequestCounts.Completed)
				assert.NotNil(t, b.InProgressAt)
				assert.NotNil(t, b.CompletedAt)
				out := fileLines(t, s, f, *b.OutputFileID)
				require.Len(t, out, 2)
				for i, p := range []string{"one", "two"} {
					assert.Equal(t, fmt.Sprintf("task-%d", i), out[i].CustomID)
					assert.Equal(t, 200, out[i].Response.StatusCode)
					assert.Regexp(t, `^[0-9a-f-]{36}$`, out[i].Response.RequestID)
					c := decodeCompletion(t, out[i].Response.Body)
					assert.Equal(t, ExpectedReply(p), *c.Choices[0].Message.Content)
					assert.Equal(t, "gpt-4o-2024-11-20", c.Model)
				}
				// "Successful jobs will still generate an error_file_id, but it
				// will be associated with an empty file with zero bytes."
				assert.Empty(t, fileLines(t, s, f, *b.ErrorFileID))
				_, raw = do(t, s.Client(), http.MethodGet, f.url(s, "files/"+*b.OutputFileID), "", nil)
				fd := decodeFile(t, raw)
				assert.Equal(t, "batch_output", fd.Purpose)
				assert.Regexp(t, `^file-[0-9a-f-]{36}$`, fd.ID)
				require.NotNil(t, fd.ExpiresAt)
				assert.Equal(t, fd.CreatedAt+1209600, *fd.ExpiresAt)

				resp, raw = do(t, s.Client(), http.MethodPost, f.url(s, "batches/"+b.ID+"/cancel"), "", nil)
				assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "a completed batch cannot be cancelled: %s", raw)
			})
		}
	}
}

func TestBatchResponsesEndpoint(t *testing.T) {
	for _, f := range apiFamilies {
		t.Run(f.name, func(t *testing.T) {
			s := batchServer(t)
			// fixtures/azure/aoai_batch_input_responses.doc.jsonl, deployment filled in.
			input := strings.ReplaceAll(string(readFixture(t, "aoai_batch_input_responses.doc.jsonl")), "REPLACE-WITH-MODEL-DEPLOYMENT-NAME", "batch")
			id := uploadID(t, s, f, input)
			resp, raw := do(t, s.Client(), http.MethodPost, f.url(s, "batches"), `{"input_file_id":"`+id+`","endpoint":"/v1/responses","completion_window":"24h"}`, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", raw)
			info, err := s.WaitBatch(t.Context(), decodeBatch(t, raw).ID)
			require.NoError(t, err)
			require.Equal(t, BatchCompleted, info.Status, "%+v", info.Errors)
			out := fileLines(t, s, f, info.OutputFileID)
			require.Len(t, out, 3)
			var r struct {
				Object string
				Output []struct {
					Content []struct{ Text string }
				}
			}
			require.NoError(t, json.Unmarshal(out[0].Response.Body, &r))
			assert.Equal(t, "response", r.Object)
			assert.Equal(t, ExpectedReply("When was Microsoft founded, and by whom?"), r.Output[0].Content[0].Text)
			assert.Empty(t, s.StoredResponses(), "batch lines are not stored")
		})
	}
}

func TestBatchChatInputFixture(t *testing.T) {
	s := batchServer(t)
	f := apiFamilies[1]
	input := strings.ReplaceAll(string(readFixture(t, "aoai_batch_input_chat_completions.doc.jsonl")), "REPLACE-WITH-MODEL-DEPLOYMENT-NAME", "batch")
	b := runBatchOf(t, s, f, input, "")
	require.Equal(t, BatchCompleted, b.Status)
	assert.Equal(t, 3, b.RequestCounts.Completed)
	info, _ := s.Batch(b.ID)
	assert.Equal(t, int64(3*PromptTokens("You are an AI assistant that helps people find information.", "x")-3*CountTokens("x"))+
		int64(CountTokens("When was Microsoft founded?")+CountTokens("When was the first XBOX released?")+CountTokens("What is Altair Basic?")), info.Tokens)
}

// TestBatchLinesThroughChatPath shows each line meets what a synchronous
// request meets: validation, the content filters, the reply generator,
// injected faults and the daily quota.
func TestBatchLinesThroughChatPath(t *testing.T) {
	lines := `{"custom_id":"ok","method":"POST","url":"/chat/completions","body":{"model":"batch","messages":[{"role":"user","content":"fine"}]}}
{"custom_id":"prompt-filter","method":"POST","url":"/chat/completions","body":{"model":"batch","messages":[{"role":"user","content":"FILTER_PROMPT"}]}}
{"custom_id":"completion-filter","method":"POST","url":"/chat/completions","body":{"model":"batch","messages":[{"role":"user","content":"say FILTER_COMPLETION"}]}}
{"custom_id":"invalid","method":"POST","url":"/chat/completions","body":{"model":"batch","messages":[]}}
{"custom_id":"json","method":"POST","url":"/chat/completions","body":{"model":"batch","messages":[{"role":"user","content":"j"}],"response_format":{"type":"json_object"}}}
{"custom_id":"stream","method":"POST","url":"/chat/completions","body":{"model":"batch","stream":true,"messages":[{"role":"user","content":"s"}]}}
`
	s := batchServer(t)
	f := apiFamilies[0]
	b := runBatchOf(t, s, f, lines, "")
	require.Equal(t, BatchCompleted, b.Status)
	assert.Equal(t, 6, b.RequestCounts.Total)
	assert.Equal(t, 3, b.RequestCounts.Completed)
	assert.Equal(t, 3, b.RequestCounts.Failed)
	byID := map[string]outputLine{}
	for _, l := range append(fileLines(t, s, f, *b.OutputFileID), fileLines(t, s, f, *b.ErrorFileID)...) {
		byID[l.CustomID] = l
	}
	assert.Equal(t, 200, byID["ok"].Response.StatusCode)
	assert.Equal(t, 400, byID["prompt-filter"].Response.StatusCode)
	assert.Equal(t, "content_filter", errorCode(t, byID["prompt-filter"].Response.Body))
	assert.Equal(t, "content_filter", decodeCompletion(t, byID["completion-filter"].Response.Body).Choices[0].FinishReason)
	assert.Equal(t, 400, byID["invalid"].Response.StatusCode)
	assert.Equal(t, "empty_array", errorCode(t, byID["invalid"].Response.Body))
	assert.Equal(t, ExpectedJSONReply("j"), *decodeCompletion(t, byID["json"].Response.Body).Choices[0].Message.Content)
	assert.Equal(t, 400, byID["stream"].Response.StatusCode)

	// Injected faults and the daily quota apply per line.
	s.SetFaults(Faults{Rate500: 1})
	b = runBatchOf(t, s, f, chatLines("batch", "a", "b"), "")
	assert.Equal(t, 2, b.RequestCounts.Failed)
	for _, l := range fileLines(t, s, f, *b.ErrorFileID) {
		assert.Equal(t, 500, l.Response.StatusCode)
		assert.Contains(t, errorMessage(t, l.Response.Body), "The server had an error")
	}
	s.SetFaults(Faults{})
	require.NoError(t, s.SetDailyQuotaExhausted("batch", true))
	b = runBatchOf(t, s, f, chatLines("batch", "a"), "")
	assert.Equal(t, 429, fileLines(t, s, f, *b.ErrorFileID)[0].Response.StatusCode)
	require.NoError(t, s.SetDailyQuotaExhausted("batch", false))

	// The per-minute quota does not apply: batch deployments have an
	// enqueued-token quota instead.
	require.NoError(t, s.SetRateLimit("batch", 1, 1))
	b = runBatchOf(t, s, f, chatLines("batch", "a", "b", "c"), "")
	assert.Equal(t, 3, b.RequestCounts.Completed)
	_, recorded := s.LastRequest()
	assert.False(t, recorded, "batch lines are not recorded as requests")
}

func TestBatchDeploymentRejectsSynchronousCalls(t *testing.T) {
	s := batchServer(t)
	want := `{"error":{"code":"OperationNotSupported","message":"The chatCompletion operation does not work with the specified model, gpt-4o. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993."}}`
	resp, body := do(t, s.Client(), http.MethodPost, classicURL(s, "batch", "2024-10-21"), userBody("hi", ""), nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.JSONEq(t, want, string(body))
	resp, body = do(t, s.Client(), http.MethodPost, s.URL+"/openai/v1/chat/completions", `{"model":"batch","messages":[{"role":"user","content":"hi"}]}`, nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.JSONEq(t, want, string(body))
	resp, body = do(t, s.Client(), http.MethodPost, s.URL+"/openai/v1/responses", `{"model":"batch","input":"hi"}`, nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "OperationNotSupported", errorCode(t, body))
	resp, body = do(t, s.Client(), http.MethodPost, s.URL+"/openai/v1/embeddings", `{"model":"batch","input":"hi"}`, nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "OperationNotSupported", errorCode(t, body))
}

func TestBatchEnqueuedTokenLimit(t *testing.T) {
	f := apiFamilies[0]
	content := chatLines("batch", strings.Repeat("x", 400)) // 3+3+100 = 106 tokens
	tokens := int64(PromptTokens(strings.Repeat("x", 400)))
	t.Run("fail fast", func(t *testing.T) {
		s := batchServer(t, WithEnqueuedTokenLimit("batch", 2*tokens+1), WithBatchFailFast(true))
		s.HoldAsync(true) // keep the first batches running
		for range 2 {
			resp, body := createBatch(t, s, f, uploadID(t, s, f, content), "")
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
		}
		assert.Equal(t, 2*tokens, s.EnqueuedTokens("batch"))
		resp, body := createBatch(t, s, f, uploadID(t, s, f, content), "")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.JSONEq(t, `{"error":{"code":"token_limit_exceeded","message":"The number of enqueued tokens has surpassed the configured limit of 213 for the deployment 'batch'. Please either increase the limit or try again once the current jobs have finished."}}`, string(body))
		assert.Len(t, s.Batches(), 2)
		s.HoldAsync(false)
		for _, b := range s.Batches() {
			_, err := s.WaitBatch(t.Context(), b.ID)
			require.NoError(t, err)
		}
		assert.Equal(t, int64(0), s.EnqueuedTokens("batch"), "terminal batches release their tokens")
		resp, _ = createBatch(t, s, f, uploadID(t, s, f, content), "")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
	t.Run("at validation", func(t *testing.T) {
		s := batchServer(t, WithDefaultEnqueuedTokenLimit(30000), WithBatchFailFast(false))
		require.NoError(t, s.SetEnqueuedTokenLimit("batch", tokens-1))
		b := runBatchOf(t, s, f, content, "")
		require.Equal(t, BatchFailed, b.Status)
		assert.Equal(t, codeTokenLimitExceeded, b.Errors.Data[0].Code)
		assert.Equal(t, tokenLimitMessage(tokens-1, "batch"), b.Errors.Data[0].Message)
	})
	t.Run("region decides", func(t *testing.T) {
		assert.True(t, NewHandler(WithRegion("East US 2")).api.failFast)
		assert.True(t, NewHandler().api.failFast, "East US")
		assert.False(t, NewHandler(WithRegion("France Central")).api.failFast)
	})
	assert.Equal(t, "30K", shortCount(30000))
	assert.Equal(t, "200M", shortCount(200_000_000))
	assert.Equal(t, "5B", shortCount(5_000_000_000))
	assert.Equal(t, "12345", shortCount(12345))
}

func TestBatchCancelExpireFail(t *testing.T) {
	for _, f := range apiFamilies {
		for _, tc := range []struct {
			name       string
			act        func(s *Server, id string) // at the third line
			status     string
			unrun      string // error code of unrun lines
			done, errs int    // output and error lines
		}{
			{"cancel", func(s *Server, id string) {
				resp, body := do(t, s.Client(), http.MethodPost, f.url(s, "batches/"+id+"/cancel"), "", nil)
				require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
				assert.Equal(t, BatchCancelling, decodeBatch(t, body).Status)
			}, BatchCancelled, "batch_cancelled", 2, 2},
			{"expire", func(s *Server, id string) { require.NoError(t, s.ExpireBatch(id)) }, BatchExpired, "batch_expired", 2, 2},
			{"fail", func(s *Server, id string) { require.NoError(t, s.FailBatch(id, "invalid_request", "Broken.")) }, BatchFailed, "", 2, 0},
		} {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				var s *Server
				s = batchServer(t, WithBeforeBatchLine(func(id string, n int) {
					if n == 3 {
						tc.act(s, id)
					}
				}))
				b := runBatchOf(t, s, f, chatLines("batch", "1", "2", "3", "4"), "")
				require.Equal(t, tc.status, b.Status)
				assert.Equal(t, 4, b.RequestCounts.Total)
				assert.Equal(t, 2, b.RequestCounts.Completed)
				assert.Equal(t, 0, b.RequestCounts.Failed, "unrun lines are not failures")
				out := fileLines(t, s, f, *b.OutputFileID)
				assert.Len(t, out, tc.done)
				errs := fileLines(t, s, f, *b.ErrorFileID)
				require.Len(t, errs, tc.errs)
				for i, l := range errs {
					assert.Equal(t, fmt.Sprintf("task-%d", i+2), l.CustomID)
					assert.Nil(t, l.Response)
					assert.Equal(t, tc.unrun, l.Error.Code)
				}
				switch tc.status {
				case BatchCancelled:
					assert.NotNil(t, b.CancellingAt)
					assert.NotNil(t, b.CancelledAt)
				case BatchExpired:
					assert.NotNil(t, b.ExpiredAt)
				case BatchFailed:
					assert.Equal(t, "invalid_request", b.Errors.Data[0].Code)
				}
				assert.Error(t, s.ExpireBatch(b.ID), "already finished")
			})
		}
	}
}

func TestBatchCancelWhileValidating(t *testing.T) {
	s := batchServer(t)
	f := apiFamilies[1]
	id := uploadID(t, s, f, chatLines("batch", "a", "b"))
	s.HoldAsync(true)
	_, raw := createBatch(t, s, f, id, "")
	b := decodeBatch(t, raw)
	resp, raw := do(t, s.Client(), http.MethodPost, f.url(s, "batches/"+b.ID+"/cancel"), "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, BatchCancelling, decodeBatch(t, raw).Status)
	resp, raw = do(t, s.Client(), http.MethodPost, f.url(s, "batches/"+b.ID+"/cancel"), "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "cancelling again returns it")
	assert.Equal(t, BatchCancelling, decodeBatch(t, raw).Status)
	s.HoldAsync(false)
	info, err := s.WaitBatch(t.Context(), b.ID)
	require.NoError(t, err)
	assert.Equal(t, BatchCancelled, info.Status)
	assert.Equal(t, 0, info.Completed)
	errs := fileLines(t, s, f, info.ErrorFileID)
	require.Len(t, errs, 2)
	assert.Equal(t, "batch_cancelled", errs[0].Error.Code)
	resp, _ = do(t, s.Client(), http.MethodPost, f.url(s, "batches/batch_nope/cancel"), "", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestBatchList(t *testing.T) {
	clock := newFakeClock()
	s := batchServer(t, WithClock(clock.Now))
	var ids []string
	for range 3 {
		f := apiFamilies[0]
		b := runBatchOf(t, s, f, chatLines("batch", "a"), "")
		ids = append(ids, b.ID)
		clock.Advance(10 * time.Second)
	}
	failed := runBatchOf(t, s, apiFamilies[0], "", "")
	ids = append(ids, failed.ID)
	start := newFakeClock().Now().Unix()

	type page struct {
		Object  *string           `json:"object"`
		Data    []json.RawMessage `json:"data"`
		FirstID *string           `json:"first_id"`
		LastID  *string           `json:"last_id"`
		HasMore bool              `json:"has_more"`
	}
	list := func(url string) (page, []string) {
		t.Helper()
		resp, body := do(t, s.Client(), http.MethodGet, url, "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
		var p page
		require.NoError(t, json.Unmarshal(body, &p))
		var got []string
		for _, d := range p.Data {
			got = append(got, decodeBatch(t, d).ID)
		}
		return p, got
	}
	p, got := list(s.URL + "/openai/v1/batches?limit=2")
	require.NotNil(t, p.Object)
	assert.Equal(t, "list", *p.Object)
	assert.Equal(t, []string{ids[3], ids[2]}, got, "newest first")
	assert.True(t, p.HasMore)
	_, got = list(s.URL + "/openai/v1/batches?after=" + ids[2])
	assert.Equal(t, []string{ids[1], ids[0]}, got)

	// Classic preview: $filter and $orderby, the fixture's page shape.
	p, got = list(classicAPIURL(s, fmt.Sprintf("batches?$filter=created_at%%20gt%%20%d%%20and%%20status%%20eq%%20'Completed'&$orderby=created_at%%20asc", start), "2025-03-01-preview"))
	assert.Nil(t, p.Object)
	assert.Equal(t, []string{ids[1], ids[2]}, got)
	_, got = list(classicAPIURL(s, "batches?$filter=status%20eq%20'failed'", classicAPIVersion))
	assert.Equal(t, []string{ids[3]}, got)
	for _, bad := range []string{"$filter=model%20eq%20'x'", "$filter=created_at%20gt%20soon", "$orderby=status"} {
		resp, body := do(t, s.Client(), http.MethodGet, classicAPIURL(s, "batches?"+bad, classicAPIVersion), "", nil)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s: %s", bad, body)
	}
	resp, _ := do(t, s.Client(), http.MethodGet, s.URL+"/openai/v1/batches?limit=101", "", nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, _ = do(t, s.Client(), http.MethodGet, s.URL+"/openai/v1/batches/batch_nope", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	all := s.Batches()
	require.Len(t, all, 4)
	assert.Equal(t, ids[0], all[0].ID, "Batches: oldest first")
	info, ok := s.Batch(ids[0])
	require.True(t, ok)
	assert.Equal(t, "batch", info.Deployment)
	assert.Equal(t, 1, info.Completed)
}

func TestBatchISOTimestamps(t *testing.T) {
	s := batchServer(t, WithBatchISOTimestamps(), WithBatchFailFast(false))
	f := apiFamilies[0]
	s.HoldAsync(true)
	_, raw := createBatch(t, s, f, uploadID(t, s, f, chatLines("batch", "a")), "")
	// aoai_batch_create_validating_iso_timestamps.doc.json
	var doc struct {
		CreatedAt     string `json:"created_at"`
		Status        string `json:"status"`
		RequestCounts struct {
			Total *int `json:"total"`
		} `json:"request_counts"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.Equal(t, "Validating", doc.Status)
	_, err := time.Parse("2006-01-02T15:04:05.0000000-07:00", doc.CreatedAt)
	assert.NoError(t, err, doc.CreatedAt)
	assert.Nil(t, doc.RequestCounts.Total)
	requireSameShape(t, readFixture(t, "aoai_batch_create_validating_iso_timestamps.doc.json"), raw, nil, nil)
	s.HoldAsync(false)
}

func TestBatchConcurrent(t *testing.T) {
	s := batchServer(t)
	f := apiFamilies[0]
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			b := runBatchOf(t, s, f, chatLines("batch", fmt.Sprint(i), "x"), "")
			assert.Equal(t, BatchCompleted, b.Status)
		})
	}
	wg.Wait()
	assert.Len(t, s.Batches(), 4)
}

// A Responses API batch line is answered as in Microsoft's documented
// output line (aoai_batch_output_line_responses.doc.jsonl): the envelope
// of a chat line around a response object, with the keys deluge reads.
// (The response object as a whole is checked against the older
// aoai_responses_create_v1_gpt41nano.doc.json in responses_test.go: the
// batch line's newer one adds max_tool_calls, prompt_cache_key,
// safety_identifier, top_logprobs and text.verbosity.)
func TestFixtureBatchOutputLineResponses(t *testing.T) {
	s := batchServer(t, WithBatchDeployment("gpt-4.1-batch", "gpt-4.1"))
	f := apiFamilies[0]
	input := strings.ReplaceAll(string(readFixture(t, "aoai_batch_input_responses.doc.jsonl")), "REPLACE-WITH-MODEL-DEPLOYMENT-NAME", "gpt-4.1-batch")
	id := uploadID(t, s, f, input)
	resp, raw := do(t, s.Client(), http.MethodPost, f.url(s, "batches"), `{"input_file_id":"`+id+`","endpoint":"/v1/responses","completion_window":"24h"}`, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", raw)
	info, err := s.WaitBatch(t.Context(), decodeBatch(t, raw).ID)
	require.NoError(t, err)
	require.Equal(t, BatchCompleted, info.Status, "%+v", info.Errors)
	content, err := s.FileContent(info.OutputFileID)
	require.NoError(t, err)
	lines := bytes.Split(bytes.TrimSpace(content), []byte("\n"))
	require.Len(t, lines, 3)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(readFixture(t, "aoai_batch_output_line_responses.doc.jsonl")), &doc))
	docBody := doc["response"].(map[string]any)["body"].(map[string]any)
	// What deluge's parser reads of the body.
	read := map[string]any{}
	for _, k := range []string{"id", "object", "model", "status", "service_tier", "incomplete_details", "error", "usage", "store"} {
		read[k] = docBody[k]
	}
	read["output"] = []any{map[string]any{"type": "message", "content": []any{map[string]any{"type": "output_text", "text": ""}}}}
	for _, line := range lines {
		var got map[string]any
		require.NoError(t, json.Unmarshal(line, &got))
		body := got["response"].(map[string]any)["body"].(map[string]any)
		assert.Equal(t, "response", body["object"])
		// The envelope, the body aside.
		doc["response"].(map[string]any)["body"] = map[string]any{}
		got["response"].(map[string]any)["body"] = map[string]any{}
		want, _ := json.Marshal(doc)
		envelope, _ := json.Marshal(got)
		requireSameShape(t, want, envelope, nil, nil)
		// The body: the keys deluge reads, with the documented types;
		// content_filters a list (null in the documented line, a list
		// once Azure reports them: its v1 spec's type).
		sub := map[string]any{"output": body["output"]}
		for k := range read {
			if k != "output" {
				sub[k] = body[k]
			}
		}
		subJSON, _ := json.Marshal(sub)
		wantJSON, _ := json.Marshal(read)
		requireSameShape(t, wantJSON, subJSON, []string{"output[].id", "output[].role", "output[].status", "output[].content[].annotations"}, nil)
		assert.IsType(t, []any{}, body["content_filters"])
	}
}
