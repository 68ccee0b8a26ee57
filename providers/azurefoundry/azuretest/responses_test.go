package azuretest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// responseDoc is the part of a response object tests read.
type responseDoc struct {
	ID                 string  `json:"id"`
	Object             string  `json:"object"`
	Status             string  `json:"status"`
	Model              string  `json:"model"`
	PreviousResponseID *string `json:"previous_response_id"`
	Error              *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Output []struct {
		Type      string `json:"type"`
		ID        string `json:"id"`
		Status    string `json:"status"`
		Name      string `json:"name"`
		CallID    string `json:"call_id"`
		Arguments string `json:"arguments"`
		Content   []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		Summary []struct {
			Text string `json:"text"`
		} `json:"summary"`
	} `json:"output"`
	Usage *struct {
		InputTokens         int `json:"input_tokens"`
		OutputTokens        int `json:"output_tokens"`
		TotalTokens         int `json:"total_tokens"`
		OutputTokensDetails struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"output_tokens_details"`
	} `json:"usage"`
}

func decodeResponse(t *testing.T, b []byte) responseDoc {
	t.Helper()
	var r responseDoc
	require.NoError(t, json.Unmarshal(b, &r), "body: %s", b)
	return r
}

// text is the concatenated output_text of message items.
func (r responseDoc) text() string {
	var b strings.Builder
	for _, o := range r.Output {
		if o.Type == "message" {
			for _, c := range o.Content {
				b.WriteString(c.Text)
			}
		}
	}
	return b.String()
}

func postResponse(t *testing.T, s *Server, f apiFamily, body string) (*http.Response, []byte) {
	t.Helper()
	return do(t, s.Client(), http.MethodPost, f.url(s, "responses"), body, nil)
}

func TestResponsesCreate(t *testing.T) {
	for _, f := range apiFamilies {
		t.Run(f.name, func(t *testing.T) {
			s := batchServer(t)
			for _, tc := range []struct {
				name, body string
				check      func(t *testing.T, r responseDoc)
			}{
				{"string input", `{"model":"gpt-4o","input":"Hello"}`, func(t *testing.T, r responseDoc) {
					assert.Equal(t, "completed", r.Status)
					assert.Equal(t, ExpectedReply("Hello"), r.text())
					assert.Equal(t, "gpt-4o-2024-11-20", r.Model)
					assert.Equal(t, PromptTokens("Hello"), r.Usage.InputTokens)
					assert.Equal(t, CountTokens(ExpectedReply("Hello")), r.Usage.OutputTokens)
					assert.Regexp(t, `^resp_[0-9a-f]{48}$`, r.ID)
					assert.Regexp(t, `^msg_[0-9a-f]{48}$`, r.Output[0].ID)
				}},
				{"items, instructions, parts", `{"model":"gpt-4o","instructions":"Be brief.","input":[{"role":"developer","content":"d"},{"type":"message","role":"user","content":[{"type":"input_text","text":"look"},{"type":"input_image","image_url":"https://x/y.png"}]}]}`, func(t *testing.T, r responseDoc) {
					assert.Equal(t, ExpectedReply("look"), r.text())
					assert.Equal(t, 3+(3+CountTokens("Be brief."))+(3+CountTokens("d"))+(3+CountTokens("look")+ImagePartTokens), r.Usage.InputTokens)
				}},
				{"tool call", `{"model":"gpt-4o","input":"weather?","tool_choice":"required","tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]}`, func(t *testing.T, r responseDoc) {
					require.Len(t, r.Output, 1)
					o := r.Output[0]
					assert.Equal(t, "function_call", o.Type)
					assert.Equal(t, "get_weather", o.Name)
					assert.JSONEq(t, `{"city":"example"}`, o.Arguments)
					assert.Regexp(t, `^call_`, o.CallID)
					assert.Regexp(t, `^fc_`, o.ID)
				}},
				{"named tool choice", `{"model":"gpt-4o","input":"x","tool_choice":{"type":"function","name":"b"},"tools":[{"type":"function","name":"a"},{"type":"function","name":"b"},{"type":"web_search_preview"}]}`, func(t *testing.T, r responseDoc) {
					assert.Equal(t, "b", r.Output[0].Name)
				}},
				{"tool result", `{"model":"gpt-4o","input":[{"role":"user","content":"weather?"},{"type":"function_call","call_id":"call_1","name":"get_weather","arguments":"{}"},{"type":"function_call_output","call_id":"call_1","output":"sunny"}]}`, func(t *testing.T, r responseDoc) {
					assert.Equal(t, ExpectedToolResultReply("sunny"), r.text())
				}},
				{"json schema", `{"model":"gpt-4o","input":"x","text":{"format":{"type":"json_schema","name":"n","schema":{"type":"object","properties":{"n":{"type":"integer","minimum":3}}}}}}`, func(t *testing.T, r responseDoc) {
					assert.JSONEq(t, `{"n":3}`, r.text())
				}},
				{"max_output_tokens", `{"model":"gpt-4o","input":"` + strings.Repeat("word ", 40) + `","max_output_tokens":16}`, func(t *testing.T, r responseDoc) {
					assert.Equal(t, "incomplete", r.Status)
					assert.Equal(t, "max_output_tokens", r.IncompleteDetails.Reason)
					assert.Len(t, r.text(), 64)
					assert.Equal(t, "incomplete", r.Output[0].Status)
				}},
				{"completion filter", `{"model":"gpt-4o","input":"say FILTER_COMPLETION now"}`, func(t *testing.T, r responseDoc) {
					assert.Equal(t, "incomplete", r.Status)
					assert.Equal(t, "content_filter", r.IncompleteDetails.Reason)
					assert.Equal(t, "Echo: say ", r.text())
				}},
				{"reasoning with summary", `{"model":"o4-mini","input":"think","reasoning":{"effort":"high","summary":"auto"}}`, func(t *testing.T, r responseDoc) {
					require.Len(t, r.Output, 2)
					assert.Equal(t, "reasoning", r.Output[0].Type)
					assert.Regexp(t, `^rs_`, r.Output[0].ID)
					assert.Equal(t, ExpectedReasoningSummary("think"), r.Output[0].Summary[0].Text)
					assert.Equal(t, 256, r.Usage.OutputTokensDetails.ReasoningTokens)
					assert.Equal(t, 256+CountTokens(ExpectedReply("think")), r.Usage.OutputTokens)
				}},
				{"reasoning without summary", `{"model":"o4-mini","input":"think"}`, func(t *testing.T, r responseDoc) {
					assert.Empty(t, r.Output[0].Summary)
					assert.Equal(t, 128, r.Usage.OutputTokensDetails.ReasoningTokens)
				}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					resp, body := postResponse(t, s, f, tc.body)
					require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
					r := decodeResponse(t, body)
					assert.Equal(t, "response", r.Object)
					if r.Usage != nil {
						assert.Equal(t, r.Usage.InputTokens+r.Usage.OutputTokens, r.Usage.TotalTokens)
					}
					tc.check(t, r)
					last, ok := s.LastRequest()
					require.True(t, ok)
					assert.Equal(t, "responses", last.Operation)
					assert.NotEmpty(t, last.Messages)
				})
			}
		})
	}
}

func TestResponsesErrors(t *testing.T) {
	for _, f := range apiFamilies {
		t.Run(f.name, func(t *testing.T) {
			s := batchServer(t)
			for _, tc := range []struct {
				name, body string
				status     int
				code       string
			}{
				{"not JSON", `{`, 400, ""},
				{"no model", `{"input":"x"}`, 400, "missing_required_parameter"},
				{"unknown deployment", `{"model":"nope","input":"x"}`, 404, "DeploymentNotFound"},
				{"no input", `{"model":"gpt-4o"}`, 400, "missing_required_parameter"},
				{"input type", `{"model":"gpt-4o","input":42}`, 400, "invalid_type"},
				{"input role", `{"model":"gpt-4o","input":[{"role":"robot","content":"x"}]}`, 400, "invalid_value"},
				{"no message in input", `{"model":"gpt-4o","input":[{"type":"reasoning","summary":[]}]}`, 400, "invalid_value"},
				{"max_output_tokens below 16", `{"model":"gpt-4o","input":"x","max_output_tokens":15}`, 400, "integer_below_min_value"},
				{"background without store", `{"model":"gpt-4o","input":"x","background":true,"store":false}`, 400, "invalid_value"},
				{"reasoning effort on a chat model", `{"model":"gpt-4o","input":"x","reasoning":{"effort":"low"}}`, 400, "unsupported_parameter"},
				{"temperature on a reasoning model", `{"model":"o4-mini","input":"x","temperature":0.5}`, 400, "unsupported_parameter"},
				{"unknown previous response", `{"model":"gpt-4o","input":"x","previous_response_id":"resp_nope"}`, 400, "previous_response_not_found"},
				{"prompt filter", `{"model":"gpt-4o","input":"FILTER_PROMPT"}`, 400, "content_filter"},
				{"embeddings deployment", `{"model":"text-embedding-3-small","input":"x"}`, 400, "OperationNotSupported"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					resp, body := postResponse(t, s, f, tc.body)
					require.Equal(t, tc.status, resp.StatusCode, "body: %s", body)
					assert.Equal(t, tc.code, errorCode(t, body))
				})
			}
			for _, path := range []string{"responses/resp_nope", "responses/resp_nope/cancel"} {
				m := http.MethodGet
				if strings.HasSuffix(path, "cancel") {
					m = http.MethodPost
				}
				resp, body := do(t, s.Client(), m, f.url(s, path), "", nil)
				assert.Equal(t, http.StatusNotFound, resp.StatusCode)
				assert.Equal(t, "Response with id 'resp_nope' not found.", errorMessage(t, body))
			}
		})
	}
}

func TestResponsesClassicAPIVersion(t *testing.T) {
	s := batchServer(t)
	resp, _ := do(t, s.Client(), http.MethodPost, classicAPIURL(s, "responses", "2025-01-01-preview"), `{"model":"gpt-4o","input":"x"}`, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "before 2025-03-01-preview the route does not exist")
	resp, body := do(t, s.Client(), http.MethodPost, classicAPIURL(s, "responses", "2025-03-01-preview"), `{"model":"gpt-4o","input":"x"}`, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
	resp, _ = do(t, s.Client(), http.MethodPost, s.URL+"/openai/v1/responses?api-version=preview", `{"model":"gpt-4o","input":"x"}`, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestResponsesStoreChainDelete(t *testing.T) {
	for _, f := range apiFamilies {
		t.Run(f.name, func(t *testing.T) {
			s := batchServer(t)
			_, body := postResponse(t, s, f, `{"model":"gpt-4o","input":"first","instructions":"sys"}`)
			r1 := decodeResponse(t, body)
			_, body = postResponse(t, s, f, `{"model":"gpt-4o","input":"second","previous_response_id":"`+r1.ID+`"}`)
			r2 := decodeResponse(t, body)
			assert.Equal(t, r1.ID, *r2.PreviousResponseID)
			// Instructions are not carried over; the previous turn is.
			assert.Equal(t, PromptTokens("first", ExpectedReply("first"), "second"), r2.Usage.InputTokens)
			_, body = postResponse(t, s, f, `{"model":"gpt-4o","input":[{"type":"function_call_output","call_id":"c","output":"x"}],"previous_response_id":"`+r2.ID+`"}`)
			assert.Equal(t, ExpectedToolResultReply("x"), decodeResponse(t, body).text())

			resp, body := do(t, s.Client(), http.MethodGet, f.url(s, "responses/"+r1.ID), "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, r1.text(), decodeResponse(t, body).text())

			_, body = postResponse(t, s, f, `{"model":"gpt-4o","input":"secret","store":false}`)
			r3 := decodeResponse(t, body)
			resp, _ = do(t, s.Client(), http.MethodGet, f.url(s, "responses/"+r3.ID), "", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "store false")
			resp, _ = postResponse(t, s, f, `{"model":"gpt-4o","input":"x","previous_response_id":"`+r3.ID+`"}`)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)

			resp, body = do(t, s.Client(), http.MethodDelete, f.url(s, "responses/"+r1.ID), "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.JSONEq(t, `{"id":"`+r1.ID+`","object":"response.deleted","deleted":true}`, string(body))
			resp, _ = do(t, s.Client(), http.MethodGet, f.url(s, "responses/"+r1.ID), "", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)
			resp, _ = do(t, s.Client(), http.MethodDelete, f.url(s, "responses/"+r1.ID), "", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)
			assert.Equal(t, r2.ID, s.StoredResponses()[0], "r1 is gone, r3 was never stored")
			assert.NotContains(t, s.StoredResponses(), r3.ID)
		})
	}
}

func TestResponsesBackground(t *testing.T) {
	for _, f := range apiFamilies {
		t.Run(f.name, func(t *testing.T) {
			s := batchServer(t, WithBackgroundTiming(0, 0))
			s.HoldAsync(true)
			resp, body := postResponse(t, s, f, `{"model":"gpt-4o","input":"slow","background":true}`)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
			r := decodeResponse(t, body)
			assert.Equal(t, "queued", r.Status)
			assert.Empty(t, r.Output)
			assert.Nil(t, r.Usage)
			_, body = do(t, s.Client(), http.MethodGet, f.url(s, "responses/"+r.ID), "", nil)
			assert.Equal(t, "queued", decodeResponse(t, body).Status, "held")
			s.HoldAsync(false)
			deadline := time.Now().Add(10 * time.Second)
			for r.Status != "completed" && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
				_, body = do(t, s.Client(), http.MethodGet, f.url(s, "responses/"+r.ID), "", nil)
				r = decodeResponse(t, body)
			}
			require.Equal(t, "completed", r.Status)
			assert.Equal(t, ExpectedReply("slow"), r.text())
			resp, body = do(t, s.Client(), http.MethodPost, f.url(s, "responses/"+r.ID+"/cancel"), "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "completed", decodeResponse(t, body).Status, "cancel after the end returns the final object")

			s.HoldAsync(true)
			_, body = postResponse(t, s, f, `{"model":"gpt-4o","input":"never","background":true}`)
			r = decodeResponse(t, body)
			for range 2 { // idempotent
				resp, body = do(t, s.Client(), http.MethodPost, f.url(s, "responses/"+r.ID+"/cancel"), "", nil)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Equal(t, "cancelled", decodeResponse(t, body).Status)
			}
			s.HoldAsync(false)

			_, body = postResponse(t, s, f, `{"model":"gpt-4o","input":"sync"}`)
			resp, body = do(t, s.Client(), http.MethodPost, f.url(s, "responses/"+decodeResponse(t, body).ID+"/cancel"), "", nil)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "body: %s", body)
		})
	}
}

// responseEvents reads a Responses stream: event names, data payloads.
func responseEvents(t *testing.T, body []byte) (types []string, data []map[string]any) {
	t.Helper()
	blocks := strings.Split(strings.TrimSpace(string(body)), "\n\n")
	for _, blk := range blocks {
		lines := strings.Split(blk, "\n")
		require.Len(t, lines, 2, "event %q", blk)
		typ, ok := strings.CutPrefix(lines[0], "event: ")
		require.True(t, ok, blk)
		payload, ok := strings.CutPrefix(lines[1], "data: ")
		require.True(t, ok, blk)
		var d map[string]any
		require.NoError(t, json.Unmarshal([]byte(payload), &d))
		require.Equal(t, typ, d["type"])
		types = append(types, typ)
		data = append(data, d)
	}
	return types, data
}

func TestResponsesStream(t *testing.T) {
	for _, f := range apiFamilies {
		t.Run(f.name, func(t *testing.T) {
			s := batchServer(t)
			resp, body := postResponse(t, s, f, `{"model":"o4-mini","input":"a b c","stream":true,"reasoning":{"summary":"auto"}}`)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
			types, data := responseEvents(t, body)
			assert.Equal(t, []string{
				"response.created", "response.in_progress",
				"response.output_item.added", "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
				"response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
				"response.output_item.added", "response.content_part.added",
				"response.output_text.delta", "response.output_text.delta", "response.output_text.delta", "response.output_text.delta",
				"response.output_text.done", "response.content_part.done", "response.output_item.done",
				"response.completed",
			}, types)
			var text strings.Builder
			for i, d := range data {
				assert.Equal(t, float64(i), d["sequence_number"])
				if types[i] == "response.output_text.delta" {
					text.WriteString(d["delta"].(string))
				}
			}
			assert.Equal(t, ExpectedReply("a b c"), text.String())
			created := data[0]["response"].(map[string]any)
			assert.Equal(t, "in_progress", created["status"])
			assert.Nil(t, created["usage"])
			final := data[len(data)-1]["response"].(map[string]any)
			assert.Equal(t, "completed", final["status"])
			assert.NotNil(t, final["usage"])

			// Replay after a sequence number (resume).
			id := created["id"].(string)
			resp, body = do(t, s.Client(), http.MethodGet, f.url(s, "responses/"+id+"?stream=true&starting_after=15"), "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
			types, data = responseEvents(t, body)
			assert.Equal(t, []string{"response.output_item.done", "response.completed"}, types)
			assert.Equal(t, float64(16), data[0]["sequence_number"])

			// Tool call arguments stream in pieces.
			_, body = postResponse(t, s, f, `{"model":"gpt-4o","input":"x","stream":true,"tool_choice":"required","tools":[{"type":"function","name":"f","parameters":{"type":"object","properties":{"long_property_name":{"type":"string"}}}}]}`)
			types, data = responseEvents(t, body)
			var args strings.Builder
			for i, typ := range types {
				if typ == "response.function_call_arguments.delta" {
					args.WriteString(data[i]["delta"].(string))
				}
			}
			assert.JSONEq(t, `{"long_property_name":"example"}`, args.String())
			assert.Contains(t, types, "response.function_call_arguments.done")

			// A filtered completion ends incomplete.
			_, body = postResponse(t, s, f, `{"model":"gpt-4o","input":"x FILTER_COMPLETION","stream":true}`)
			types, _ = responseEvents(t, body)
			assert.Equal(t, "response.incomplete", types[len(types)-1])
		})
	}
}

func TestResponsesFaultsAndQuota(t *testing.T) {
	for _, f := range apiFamilies {
		t.Run(f.name, func(t *testing.T) {
			s := batchServer(t, WithRateLimit("gpt-4o", 6, 0))
			resp, _ := postResponse(t, s, f, `{"model":"gpt-4o","input":"x"}`)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			resp, body := postResponse(t, s, f, `{"model":"gpt-4o","input":"x"}`)
			require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
			assert.Contains(t, errorMessage(t, body), "Requests to the Responses_Create Operation under Azure OpenAI API version")
			assert.NotEmpty(t, resp.Header.Get("retry-after-ms"))

			s.SetFaults(Faults{Rate500: 1})
			resp, _ = postResponse(t, s, f, `{"model":"o4-mini","input":"x"}`)
			assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
			resp, body = postResponse(t, s, f, `{"model":"o4-mini","input":"x","stream":true}`)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			types, data := responseEvents(t, body)
			assert.Equal(t, []string{"response.created", "response.in_progress", "response.failed"}, types)
			failed := data[2]["response"].(map[string]any)
			assert.Equal(t, "failed", failed["status"])
			assert.Equal(t, "server_error", failed["error"].(map[string]any)["code"])

			s.SetFaults(Faults{Rate503: 1})
			_, body = postResponse(t, s, f, `{"model":"o4-mini","input":"x","stream":true}`)
			types, data = responseEvents(t, body)
			assert.Equal(t, []string{"response.created", "response.in_progress", "error"}, types)
			assert.Equal(t, "server_error", data[2]["code"])
			s.SetFaults(Faults{})
		})
	}
}

func TestResponsesFixtureShape(t *testing.T) {
	s := batchServer(t, WithDeployment("gpt-4.1-nano", ""))
	resp, body := do(t, s.Client(), http.MethodPost, s.URL+"/openai/v1/responses", `{"model":"gpt-4.1-nano","input":"This is a test."}`, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	// content_filters: newer than the fixture (aoai_responses_reasoning_gpt5_v1.doc.json
	// has the key; Azure's v1 spec types it).
	requireSameShape(t, readFixture(t, "aoai_responses_create_v1_gpt41nano.doc.json"), body, []string{"content_filters"},
		[]string{"background"})
	var generic map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &generic))
	assert.Contains(t, string(generic["created_at"]), ".0", "created_at is a float, as Azure sends it")
	assert.Equal(t, "gpt-4.1-nano", resp.Header.Get("x-ms-deployment-name"))
}

// TestResponsesContentFilters: a done response carries Azure's
// content_filters, the prompt's and the completion's; the completion
// filter word blocks the completion; a pending response has none yet.
func TestResponsesContentFilters(t *testing.T) {
	s := batchServer(t)
	type filter struct {
		Blocked    bool                       `json:"blocked"`
		SourceType string                     `json:"source_type"`
		Results    map[string]json.RawMessage `json:"content_filter_results"`
		Offsets    struct {
			Start int `json:"start_offset"`
			End   int `json:"end_offset"`
			Check int `json:"check_offset"`
		} `json:"content_filter_offsets"`
	}
	read := func(body []byte) []filter {
		var r struct {
			ContentFilters []filter `json:"content_filters"`
		}
		require.NoError(t, json.Unmarshal(body, &r))
		return r.ContentFilters
	}
	_, body := postResponse(t, s, apiFamilies[0], `{"model":"gpt-4o","input":"Hello there"}`)
	fs := read(body)
	require.Len(t, fs, 2)
	assert.Equal(t, "prompt", fs[0].SourceType)
	assert.False(t, fs[0].Blocked)
	assert.Contains(t, fs[0].Results, "jailbreak")
	assert.Equal(t, len("Hello there"), fs[0].Offsets.End)
	assert.Equal(t, "completion", fs[1].SourceType)
	assert.Contains(t, fs[1].Results, "protected_material_text")
	assert.Equal(t, len(ExpectedReply("Hello there")), fs[1].Offsets.End)

	_, body = postResponse(t, s, apiFamilies[0], `{"model":"gpt-4o","input":"say FILTER_COMPLETION"}`)
	fs = read(body)
	require.Len(t, fs, 2)
	assert.True(t, fs[1].Blocked)
	assert.Contains(t, string(fs[1].Results["custom_blocklists"]), BlocklistID)

	s.HoldAsync(true)
	_, body = postResponse(t, s, apiFamilies[0], `{"model":"gpt-4o","input":"later","background":true}`)
	assert.Contains(t, string(body), `"content_filters":null`)
}
