package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/llm"
)

// wireOutputLine is one line of a job's output or error file: Microsoft's
// {"custom_id","response":{"body","request_id","status_code"},"error"}
// (aoai_batch_output_line.doc.jsonl), or OpenAI's, which adds an "id" and,
// for a request the job never ran, "response": null with
// "error": {"code": "batch_expired" | "batch_cancelled", "message"}.
type wireOutputLine struct {
	CustomID *string `json:"custom_id"`
	Response *struct {
		StatusCode flexInt         `json:"status_code"`
		RequestID  flexString      `json:"request_id"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    flexString `json:"code"`
		Message flexString `json:"message"`
	} `json:"error"`
}

// Result decodes one output line: a reply through the parser of its API
// (chat completions' or the Responses API's: text, tool calls, reasoning
// summary, usage, content-filter annotations, log-probabilities), priced
// at the batch rate; an error body through the error classifier both
// APIs share; a request never run as an error wrapping batch.ErrNotRun.
func (s *batchService) Result(line []byte) (batch.LineResult, error) {
	var w wireOutputLine
	if err := json.Unmarshal(line, &w); err != nil {
		return batch.LineResult{}, fmt.Errorf("decoding an output line: %w", err)
	}
	if w.CustomID == nil {
		return batch.LineResult{}, errors.New("decoding an output line: it has no custom_id")
	}
	k := &call{s: s}
	r := batch.LineResult{ID: *w.CustomID}
	status := 0
	if w.Response != nil {
		status = int(w.Response.StatusCode)
	}
	switch {
	case w.Response != nil && status >= 200 && status < 300:
		resp, err := s.response(k, w.Response.Body)
		if err != nil {
			r.Err = err
			break
		}
		resp.RequestID = k.secrets().id(string(w.Response.RequestID))
		r.Response = resp
	case w.Response != nil && len(w.Response.Body) > 0 && string(w.Response.Body) != "null":
		if status == 0 {
			status = http.StatusBadRequest
		}
		r.Err = s.lineError(k, status, string(w.Response.RequestID), w.Response.Body)
	case w.Error != nil:
		r.Err = s.notRunError(k, string(w.Error.Code), string(w.Error.Message))
	default:
		return batch.LineResult{}, fmt.Errorf("decoding the output line of %q: it has neither a response nor an error", r.ID)
	}
	return r, nil
}

// response parses a reply body as the synchronous path parses one: a
// Responses API response object by the Responses parser, a chat
// completion by the chat parser. Either is priced at the batch rate.
func (s *batchService) response(k *call, body json.RawMessage) (*llm.Response, error) {
	var (
		resp *llm.Response
		le   *llm.Error
	)
	if isResponseObject(body) {
		resp, le = s.responsesReply(body)
	} else {
		resp, le = s.chatReply(body)
	}
	if le != nil {
		return nil, k.finish(le)
	}
	if s.cfg.Cost != nil {
		resp.Cost = s.cfg.Cost(s.cfg.Model, resp.Usage)
	} else {
		resp.Cost = resp.Usage.Cost(s.cfg.Model) / 2
	}
	k.secrets().response(resp)
	return resp, nil
}

// isResponseObject tells a Responses API response object from a chat
// completion by its "object" ("response" or "chat.completion"), or,
// without one, by its "output" and "choices". A file holds the lines of
// one endpoint, but a line does not say which.
func isResponseObject(body []byte) bool {
	var probe struct {
		Object  string          `json:"object"`
		Output  json.RawMessage `json:"output"`
		Choices json.RawMessage `json:"choices"`
	}
	if json.Unmarshal(body, &probe) != nil {
		return false // the chat parser reports it
	}
	switch probe.Object {
	case "response":
		return true
	case "chat.completion":
		return false
	}
	return probe.Output != nil && probe.Choices == nil
}

// decodeFailure is the error of a reply body that cannot be decoded.
func (s *batchService) decodeFailure(err error) *llm.Error {
	return &llm.Error{Code: llm.CodeUnknown, Provider: s.name, Model: s.cfg.Model.ID, StatusCode: http.StatusOK, Err: err,
		Message: "cannot decode the reply in the output file: " + err.Error()}
}

// chatReply parses a chat completion.
func (s *batchService) chatReply(body json.RawMessage) (*llm.Response, *llm.Error) {
	var w wireResponse
	err := json.Unmarshal(body, &w)
	if err == nil {
		err = w.decodeContent()
	}
	if err != nil {
		return nil, s.decodeFailure(err)
	}
	st := &callState{status: http.StatusOK}
	return s.parser.toResponse(&llm.Request{Model: s.cfg.Model}, &w, st)
}

// responsesReply parses a response object: its text, tool calls,
// reasoning summary, usage (reasoning and cached tokens) and Azure's
// content_filters, or the error of a response that failed or was
// cancelled on the server. A response still queued or in progress (a
// line run in the background, which deluge never sends) is an error: the
// output file is all there is.
func (s *batchService) responsesReply(body json.RawMessage) (*llm.Response, *llm.Error) {
	var w wireRespBody
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, s.decodeFailure(err)
	}
	if le := s.parser.responseFailure(s.cfg.Model, &w, http.StatusOK, nil); le != nil {
		return nil, le
	}
	if w.Status == statusQueued || w.Status == statusInProgress {
		return nil, &llm.Error{Code: llm.CodeUnknown, Provider: s.name, Model: s.cfg.Model.ID, StatusCode: http.StatusOK,
			Message: fmt.Sprintf("the output file holds response %s still %s (a line sent with background: true): it has no answer to read", w.ID, w.Status)}
	}
	return s.parser.toResponsesResponse(&llm.Request{Model: s.cfg.Model}, &w, nil), nil
}

// lineError classifies the error body of a failed request, as the chat
// path classifies a synchronous one (content filter, context length, …).
func (s *batchService) lineError(k *call, status int, requestID string, body []byte) error {
	err := k.httpError(status, nil, body)
	var le *llm.Error
	if errors.As(err, &le) && le.RequestID == "" {
		le.RequestID = k.secrets().id(requestID)
	}
	return err
}

// notRunError is the error of a request the job did not run.
func (s *batchService) notRunError(k *call, code, message string) error {
	e := &llm.Error{Provider: s.name, Model: s.cfg.Model.ID, Err: fmt.Errorf("%w (%s)", batch.ErrNotRun, code)}
	switch strings.ToLower(code) {
	case "batch_expired":
		e.Code = llm.CodeTimeout
		e.Message = "the job expired (24-hour completion window) before this request ran: submit it again"
	case "batch_cancelled", "batch_canceled":
		e.Code = llm.CodeCanceled
		e.Message = "the job was cancelled before this request ran: submit it again"
	default:
		e.Code = llm.CodeUnknown
		e.Message = fmt.Sprintf("the request did not run (%s: %s)", code, message)
	}
	return k.finish(e)
}

// JobError is the error of the inputs of a job that failed validation:
// the error's code as an llm.Code, the server's message, and what to fix.
func (s *batchService) JobError(je batch.JobError) *llm.Error {
	code := strings.ToLower(je.Code)
	c := llm.CodeInvalidRequest
	switch code {
	case "token_limit_exceeded":
		c = llm.CodeQuotaExceeded
	case "model_not_found":
		c = llm.CodeNotFound
	case "input_no_permissions":
		c = llm.CodePermissionDenied
	}
	msg := "the batch job failed validation"
	if je.Line > 0 {
		msg += fmt.Sprintf(" at line %d of its input file", je.Line)
	}
	msg += fmt.Sprintf(" (%s): %s", je.Code, strings.TrimSpace(je.Message))
	if h := s.jobHint(code); h != "" {
		msg = strings.TrimRight(msg, ". ") + "; " + h
	}
	e := &llm.Error{Code: c, Provider: s.name, Model: s.cfg.Model.ID, Message: msg, Err: batch.ErrNotRun}
	(&call{s: s}).secrets().cleanError(e)
	return e
}

// genericJobHint says what to do about a failed job's error code (the
// codes of Microsoft's table, which OpenAI shares).
func genericJobHint(code string) string {
	switch code {
	case "token_limit_exceeded":
		return "the tokens of the jobs that have not ended fill the quota: wait for them to finish, raise the quota, or submit fewer lines at a time, then submit again"
	case "too_many_tasks":
		return "an input file holds more requests than the provider accepts: lower the lines per file (batch.WithFileLimits) and submit again"
	case "duplicate_custom_id":
		return "every input needs an ID of its own"
	case "model_mismatch", "url_mismatch":
		return "every line of a file must name the same model and url, as deluge writes them: was the file changed after it was built?"
	case "model_not_found":
		return "check the model (deployment) name the lines carry"
	case "empty_file", "empty_batch":
		return "the input file holds no request"
	case "invalid_json_line":
		return "a line of the input file is not valid JSON"
	case "input_modified":
		return "the input changed after the job was created: submit again"
	case "input_no_permissions":
		return "the service cannot read the input: check its access to the storage holding it"
	case "invalid_request":
		return "a line does not have the schema of a batch request, or the model is not served by a batch deployment"
	}
	return ""
}
