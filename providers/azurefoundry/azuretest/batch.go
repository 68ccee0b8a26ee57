package azuretest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Batch statuses (Microsoft Learn, batch how-to, "Batch object").
const (
	BatchValidating = "validating"
	BatchFailed     = "failed"
	BatchInProgress = "in_progress"
	BatchFinalizing = "finalizing"
	BatchCompleted  = "completed"
	BatchExpired    = "expired"
	BatchCancelling = "cancelling"
	BatchCancelled  = "cancelled"
)

// BatchInfo is a snapshot of a batch job; see Handler.Batch.
type BatchInfo struct {
	ID           string
	Status       string // BatchValidating, …
	Endpoint     string // as created, e.g. "/chat/completions"
	InputFileID  string
	OutputFileID string // "" until the batch has an output file
	ErrorFileID  string
	Deployment   string // the input lines' model ("" if the file has none)
	// Total, Completed and Failed are the request counts: lines, lines
	// answered 200, lines answered otherwise. Lines a cancelled or expired
	// batch did not run are in neither Completed nor Failed.
	Total, Completed, Failed int
	// Tokens are the prompt tokens of the input lines: what the batch holds
	// of its deployment's enqueued-token quota until it ends.
	Tokens    int64
	Errors    []BatchError
	CreatedAt time.Time
}

func terminal(status string) bool {
	switch status {
	case BatchFailed, BatchCompleted, BatchExpired, BatchCancelled:
		return true
	}
	return false
}

type batchJob struct {
	mu sync.Mutex

	id, inputFileID, endpoint, window string
	metadata                          json.RawMessage // nil: null
	legacy                            bool            // not fail-fast: null endpoint and ids while validating
	status                            string
	created, expires, inProgress      int64
	finalizing, completed, failed     int64
	expired, cancelling, cancelled    int64
	outputFileID, errorFileID         string
	errs                              []BatchError
	total, nDone, nFailed             int
	counted                           bool // request_counts known
	deployment                        string
	tokens                            int64
	reserved                          bool // holds tokens of deployment's quota
	outputExpiry                      int64
	input                             *os.File
	scan                              *inputScan
	stop                              string // "cancel", "expire" or "fail" once requested
	stopErr                           []BatchError
	stopCh                            chan struct{}
	done                              chan struct{}
}

type batchStore struct {
	mu       sync.Mutex
	byID     map[string]*batchJob
	order    []*batchJob
	enqueued map[string]int64 // deployment → tokens held by running batches
	limits   map[string]int64
	defLimit int64
}

func (s *batchStore) init(c *apiConfig) {
	s.byID = make(map[string]*batchJob)
	s.enqueued = make(map[string]int64)
	s.limits = make(map[string]int64, len(c.enqueued))
	for name, l := range c.enqueued {
		s.limits[name] = l
	}
	s.defLimit = c.defaultEnqueued
}

func (s *batchStore) get(id string) *batchJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

func (s *batchStore) all() []*batchJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.order)
}

func (s *batchStore) limit(deployment string) int64 {
	if l, ok := s.limits[deployment]; ok {
		return l
	}
	return s.defLimit
}

// reserve charges tokens to deployment's enqueued quota unless that would
// pass its limit; it returns the limit when it refuses.
func (s *batchStore) reserve(deployment string, tokens int64) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.limit(deployment); l > 0 && s.enqueued[deployment]+tokens > l {
		return l, false
	}
	s.enqueued[deployment] += tokens
	return 0, true
}

func (s *batchStore) release(deployment string, tokens int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueued[deployment] -= tokens
	if s.enqueued[deployment] <= 0 {
		delete(s.enqueued, deployment)
	}
}

// SetEnqueuedTokenLimit changes a batch deployment's enqueued-token quota
// (0 is unlimited) for batches created from now on.
func (h *Handler) SetEnqueuedTokenLimit(deployment string, tokens int64) error {
	d, ok := h.deployments[deployment]
	if !ok || d.sku == "" {
		return fmt.Errorf("azuretest: no batch deployment %q", deployment)
	}
	s := &h.api.batches
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[deployment] = max(tokens, 0)
	return nil
}

// EnqueuedTokens returns the prompt tokens the unfinished batches of a
// deployment hold against its enqueued-token quota.
func (h *Handler) EnqueuedTokens(deployment string) int64 {
	s := &h.api.batches
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enqueued[deployment]
}

// Batch returns a snapshot of a batch job.
func (h *Handler) Batch(id string) (BatchInfo, bool) {
	j := h.api.batches.get(id)
	if j == nil {
		return BatchInfo{}, false
	}
	return j.info(), true
}

// Batches returns snapshots of all batch jobs, oldest first.
func (h *Handler) Batches() []BatchInfo {
	jobs := h.api.batches.all()
	out := make([]BatchInfo, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, j.info())
	}
	return out
}

func (j *batchJob) info() BatchInfo {
	j.mu.Lock()
	defer j.mu.Unlock()
	return BatchInfo{
		ID: j.id, Status: j.status, Endpoint: j.endpoint, InputFileID: j.inputFileID,
		OutputFileID: j.outputFileID, ErrorFileID: j.errorFileID, Deployment: j.deployment,
		Total: j.total, Completed: j.nDone, Failed: j.nFailed, Tokens: j.tokens,
		Errors: slices.Clone(j.errs), CreatedAt: time.Unix(j.created, 0),
	}
}

// WaitBatch waits until a batch reaches a terminal status (failed,
// completed, expired, cancelled) and returns it.
func (h *Handler) WaitBatch(ctx context.Context, id string) (BatchInfo, error) {
	j := h.api.batches.get(id)
	if j == nil {
		return BatchInfo{}, fmt.Errorf("azuretest: no batch %q", id)
	}
	select {
	case <-j.done:
		return j.info(), nil
	case <-ctx.Done():
		return j.info(), ctx.Err()
	}
}

// ExpireBatch makes a batch that has not finished expire, as if its
// completion window had passed: the lines that ran keep their results, the
// others are written to the error file with code batch_expired.
func (h *Handler) ExpireBatch(id string) error {
	return h.stopBatch(id, "expire", nil)
}

// FailBatch makes a batch that has not finished fail with the given error
// (code and message as Azure would list them, e.g. "invalid_request").
func (h *Handler) FailBatch(id, code, message string) error {
	return h.stopBatch(id, "fail", []BatchError{{Code: code, Message: message}})
}

func (h *Handler) stopBatch(id, reason string, errs []BatchError) error {
	j := h.api.batches.get(id)
	if j == nil {
		return fmt.Errorf("azuretest: no batch %q", id)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if terminal(j.status) || j.stop != "" {
		return fmt.Errorf("azuretest: batch %q is already %s", id, j.status)
	}
	j.stop, j.stopErr = reason, errs
	close(j.stopCh)
	return nil
}

// batchEndpoints are the endpoints Azure batch accepts, normalised. Azure
// does not support embeddings in batch (batch how-to, FAQ).
var batchEndpoints = []string{"/chat/completions", "/responses"}

type createBatchRequest struct {
	InputFileID        *string         `json:"input_file_id"`
	Endpoint           *string         `json:"endpoint"`
	CompletionWindow   *string         `json:"completion_window"`
	Metadata           json.RawMessage `json:"metadata"`
	OutputExpiresAfter *struct {
		Seconds int64  `json:"seconds"`
		Anchor  string `json:"anchor"`
	} `json:"output_expires_after"`
}

func missingParam(name string) []byte {
	return openAIError("Missing required parameter: '"+name+"'.", "invalid_request_error", name, "missing_required_parameter")
}

// createBatch serves POST batches.
func (h *Handler) createBatch(x *exchange) {
	a := h.api
	buf := getBuf()
	defer putBuf(buf)
	if _, err := buf.ReadFrom(http.MaxBytesReader(x.w, x.r.Body, 1<<20)); err != nil {
		h.writeError(x, http.StatusBadRequest, bodyMalformedJSON)
		return
	}
	var req createBatchRequest
	if err := json.Unmarshal(buf.Bytes(), &req); err != nil {
		h.writeError(x, http.StatusBadRequest, decodeErrorBody(err))
		return
	}
	switch {
	case req.InputFileID == nil || *req.InputFileID == "":
		h.writeError(x, http.StatusBadRequest, missingParam("input_file_id"))
		return
	case req.Endpoint == nil || *req.Endpoint == "":
		h.writeError(x, http.StatusBadRequest, missingParam("endpoint"))
		return
	case req.CompletionWindow == nil || *req.CompletionWindow == "":
		h.writeError(x, http.StatusBadRequest, missingParam("completion_window"))
		return
	case !slices.Contains(batchEndpoints, normalizeBatchURL(*req.Endpoint)):
		h.writeError(x, http.StatusBadRequest, openAIError("Invalid value: '"+*req.Endpoint+"'. Supported values are: '/chat/completions' and '/responses' (Azure OpenAI batch does not support embeddings).", "invalid_request_error", "endpoint", "invalid_value"))
		return
	}
	if m := bytes.TrimSpace(req.Metadata); len(m) > 0 && m[0] != '{' && !bytes.Equal(m, []byte("null")) {
		h.writeError(x, http.StatusBadRequest, openAIError("Invalid type for 'metadata': expected an object.", "invalid_request_error", "metadata", "invalid_type"))
		return
	}
	var outputExpiry int64
	if oe := req.OutputExpiresAfter; oe != nil {
		if oe.Anchor != "" && oe.Anchor != "created_at" || oe.Seconds < minFileExpirySeconds || oe.Seconds > maxFileExpirySeconds {
			h.writeError(x, http.StatusBadRequest, openAIError("Invalid 'output_expires_after': seconds must be from 1209600 to 2592000 (14 to 30 days) and anchor 'created_at'.", "invalid_request_error", "output_expires_after", "invalid_value"))
			return
		}
		outputExpiry = oe.Seconds
	}
	now := h.now().Unix()
	f := a.files.get(*req.InputFileID, now)
	switch {
	case f == nil:
		h.writeError(x, http.StatusBadRequest, openAIError("The input file '"+*req.InputFileID+"' was not found.", "invalid_request_error", "input_file_id", "invalid_value"))
		return
	case f.purpose != "batch" || f.scan == nil:
		h.writeError(x, http.StatusBadRequest, openAIError("The input file '"+f.id+"' must be uploaded with purpose 'batch'.", "invalid_request_error", "input_file_id", "invalid_value"))
		return
	case f.status() != "processed":
		h.writeError(x, http.StatusBadRequest, openAIError("The input file '"+f.id+"' is still being processed; wait until its status is 'processed'.", "invalid_request_error", "input_file_id", "invalid_value"))
		return
	}
	input, err := os.Open(f.path)
	if err != nil {
		h.writeError(x, http.StatusInternalServerError, serverErrorBody(false, x.requestID))
		return
	}
	j := &batchJob{
		id:           "batch_" + newUUID(),
		inputFileID:  f.id,
		endpoint:     *req.Endpoint,
		window:       *req.CompletionWindow,
		legacy:       !a.failFast,
		status:       BatchValidating,
		created:      now,
		expires:      now + 86400,
		outputExpiry: outputExpiry,
		input:        input,
		scan:         f.scan,
		deployment:   f.scan.model,
		tokens:       f.scan.tokens,
		stopCh:       make(chan struct{}),
		done:         make(chan struct{}),
	}
	if m := bytes.TrimSpace(req.Metadata); len(m) > 0 && !bytes.Equal(m, []byte("null")) {
		j.metadata = json.RawMessage(slices.Clone(m))
	}
	// Fail fast: the enqueued-token check happens now, against the
	// deployment the file names (if it is a batch deployment).
	if a.failFast {
		if d, ok := h.deployments[j.deployment]; ok && d.sku != "" {
			if limit, ok := a.batches.reserve(j.deployment, j.tokens); !ok {
				input.Close()
				h.writeError(x, http.StatusBadRequest, azureError(codeTokenLimitExceeded, tokenLimitMessage(limit, j.deployment)))
				return
			}
			j.reserved = true
		}
	}
	a.batches.mu.Lock()
	a.batches.byID[j.id] = j
	a.batches.order = append(a.batches.order, j)
	a.batches.mu.Unlock()
	body := j.appendJSON(nil, a.cfg.isoTimestamps)
	a.goRun(func() { h.runBatch(j) })
	h.writeJSON(x, http.StatusOK, body)
}

func (h *Handler) getBatch(x *exchange, id string) {
	j := h.api.batches.get(id)
	if j == nil {
		h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		return
	}
	h.writeJSON(x, http.StatusOK, j.appendJSON(nil, h.api.cfg.isoTimestamps))
}

// cancelBatch serves POST batches/{id}/cancel: a validating or running
// batch turns "cancelling", then "cancelled" once its running line ends;
// cancelling a cancelling or cancelled batch returns it unchanged.
func (h *Handler) cancelBatch(x *exchange, id string) {
	j := h.api.batches.get(id)
	if j == nil {
		h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		return
	}
	j.mu.Lock()
	switch j.status {
	case BatchValidating, BatchInProgress:
		if j.stop == "" {
			j.stop = "cancel"
			close(j.stopCh)
		}
		j.status, j.cancelling = BatchCancelling, h.now().Unix()
	case BatchCancelling, BatchCancelled:
	default:
		status := j.status
		j.mu.Unlock()
		h.writeError(x, http.StatusBadRequest, openAIError("Cannot cancel a batch with status '"+status+"'.", "invalid_request_error", "", ""))
		return
	}
	j.mu.Unlock()
	h.writeJSON(x, http.StatusOK, j.appendJSON(nil, h.api.cfg.isoTimestamps))
}

// listBatches serves GET batches: after and limit (1-100, default 20),
// newest first; on the classic route also the preview's $filter
// ("created_at gt N and status eq 'Completed'") and $orderby
// ("created_at asc"), with the page shape of
// aoai_batch_list_preview_filter.doc.json (no "object"); the v1 page adds
// "object":"list", as OpenAI's does.
func (h *Handler) listBatches(x *exchange) {
	q := x.r.URL.Query()
	jobs := h.api.batches.all()
	slices.Reverse(jobs)
	if !x.v1 {
		if f := q.Get("$filter"); f != "" {
			keep, err := parseBatchFilter(f)
			if err != nil {
				h.writeError(x, http.StatusBadRequest, azureError("BadRequest", err.Error()))
				return
			}
			jobs = slices.DeleteFunc(jobs, func(j *batchJob) bool { return !keep(j) })
		}
		switch o := strings.ToLower(strings.Join(strings.Fields(q.Get("$orderby")), " ")); o {
		case "", "created_at desc":
		case "created_at asc", "created_at":
			slices.Reverse(jobs)
		default:
			h.writeError(x, http.StatusBadRequest, azureError("BadRequest", "Unsupported $orderby '"+q.Get("$orderby")+"': use 'created_at asc' or 'created_at desc'."))
			return
		}
	}
	limit, ok := parseLimit(q.Get("limit"), 20, 100)
	if !ok {
		h.writeError(x, http.StatusBadRequest, openAIError("Invalid 'limit': expected an integer from 1 to 100.", "invalid_request_error", "limit", "invalid_value"))
		return
	}
	page, more := pageAfter(jobs, q.Get("after"), limit, func(j *batchJob) string { return j.id })
	b := []byte(`{`)
	if x.v1 {
		b = append(b, `"object":"list",`...)
	}
	b = append(b, `"data":[`...)
	for i, j := range page {
		if i > 0 {
			b = append(b, ',')
		}
		b = j.appendJSON(b, h.api.cfg.isoTimestamps)
	}
	b = append(b, ']')
	b = appendPageIDs(b, page, more, func(j *batchJob) string { return j.id })
	h.writeJSON(x, http.StatusOK, append(b, '}'))
}

// parseBatchFilter understands the OData subset Microsoft documents:
// clauses joined by "and", each "created_at gt|ge|lt|le|eq N" or
// "status eq 'Value'" (case-insensitive).
func parseBatchFilter(f string) (func(*batchJob) bool, error) {
	var preds []func(*batchJob) bool
	for clause := range strings.SplitSeq(strings.ReplaceAll(f, " AND ", " and "), " and ") {
		fields := strings.Fields(clause)
		if len(fields) != 3 {
			return nil, fmt.Errorf("unsupported $filter clause %q", clause)
		}
		field, op, val := fields[0], strings.ToLower(fields[1]), fields[2]
		switch field {
		case "created_at":
			n, err := strconv.ParseInt(val, 10, 64)
			cmpOK := map[string]func(a, b int64) bool{
				"gt": func(a, b int64) bool { return a > b }, "ge": func(a, b int64) bool { return a >= b },
				"lt": func(a, b int64) bool { return a < b }, "le": func(a, b int64) bool { return a <= b },
				"eq": func(a, b int64) bool { return a == b },
			}[op]
			if err != nil || cmpOK == nil {
				return nil, fmt.Errorf("unsupported $filter clause %q", clause)
			}
			preds = append(preds, func(j *batchJob) bool { j.mu.Lock(); defer j.mu.Unlock(); return cmpOK(j.created, n) })
		case "status":
			s, ok := strings.CutPrefix(val, "'")
			if s, ok2 := strings.CutSuffix(s, "'"); ok && ok2 && op == "eq" {
				preds = append(preds, func(j *batchJob) bool {
					j.mu.Lock()
					defer j.mu.Unlock()
					return strings.EqualFold(j.status, s)
				})
				continue
			}
			return nil, fmt.Errorf("unsupported $filter clause %q", clause)
		default:
			return nil, fmt.Errorf("unsupported $filter field %q", field)
		}
	}
	return func(j *batchJob) bool {
		for _, p := range preds {
			if !p(j) {
				return false
			}
		}
		return true
	}, nil
}

// appendJSON renders the batch with the keys in the order of
// aoai_batch_create_validating.doc.json.
func (j *batchJob) appendJSON(b []byte, iso bool) []byte {
	j.mu.Lock()
	defer j.mu.Unlock()
	ts := func(b []byte, t int64) []byte {
		switch {
		case t == 0:
			return append(b, "null"...)
		case iso:
			return appendJSONString(b, time.Unix(t, 0).UTC().Format("2006-01-02T15:04:05.0000000+00:00"))
		}
		return strconv.AppendInt(b, t, 10)
	}
	fileID := func(b []byte, id string) []byte {
		switch {
		case id != "":
			return appendJSONString(b, id)
		case j.legacy:
			return append(b, "null"...)
		}
		return append(b, `""`...) // aoai_batch_create_failfast_empty_file_ids.doc.json
	}
	b = append(b, `{"id":`...)
	b = appendJSONString(b, j.id)
	b = append(b, `,"completion_window":`...)
	b = appendJSONString(b, j.window)
	b = append(b, `,"created_at":`...)
	b = ts(b, j.created)
	switch {
	case j.legacy && j.status == BatchValidating && iso:
		// absent, as in aoai_batch_create_validating_iso_timestamps.doc.json
	case j.legacy && j.status == BatchValidating:
		b = append(b, `,"endpoint":null`...) // aoai_batch_create_validating.doc.json
	default:
		b = append(b, `,"endpoint":`...)
		b = appendJSONString(b, j.endpoint)
	}
	b = append(b, `,"input_file_id":`...)
	b = appendJSONString(b, j.inputFileID)
	b = append(b, `,"object":"batch","status":`...)
	status := j.status
	if iso {
		status = strings.ToUpper(status[:1]) + status[1:]
	}
	b = appendJSONString(b, status)
	b = append(b, `,"cancelled_at":`...)
	b = ts(b, j.cancelled)
	b = append(b, `,"cancelling_at":`...)
	b = ts(b, j.cancelling)
	b = append(b, `,"completed_at":`...)
	b = ts(b, j.completed)
	b = append(b, `,"error_file_id":`...)
	b = fileID(b, j.errorFileID)
	b = append(b, `,"errors":`...)
	if len(j.errs) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"object":"list","data":[`...)
		for i, e := range j.errs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendBatchError(b, e)
		}
		b = append(b, "]}"...)
	}
	b = append(b, `,"expired_at":`...)
	b = ts(b, j.expired)
	b = append(b, `,"expires_at":`...)
	b = ts(b, j.expires)
	b = append(b, `,"failed_at":`...)
	b = ts(b, j.failed)
	b = append(b, `,"finalizing_at":`...)
	b = ts(b, j.finalizing)
	b = append(b, `,"in_progress_at":`...)
	b = ts(b, j.inProgress)
	b = append(b, `,"metadata":`...)
	if j.metadata == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, j.metadata...)
	}
	b = append(b, `,"output_file_id":`...)
	b = fileID(b, j.outputFileID)
	b = append(b, `,"request_counts":`...)
	if iso && !j.counted {
		b = append(b, `{"total":null,"completed":null,"failed":null}`...)
	} else {
		b = append(b, `{"completed":`...)
		b = strconv.AppendInt(b, int64(j.nDone), 10)
		b = append(b, `,"failed":`...)
		b = strconv.AppendInt(b, int64(j.nFailed), 10)
		b = append(b, `,"total":`...)
		b = strconv.AppendInt(b, int64(j.total), 10)
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendBatchError renders one errors entry as a user's report shows it:
// {"code","message","line","param"}.
func appendBatchError(b []byte, e BatchError) []byte {
	b = append(b, `{"code":`...)
	b = appendJSONString(b, e.Code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, e.Message)
	b = append(b, `,"line":`...)
	if e.Line > 0 {
		b = strconv.AppendInt(b, int64(e.Line), 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"param":`...)
	return append(appendNullableString(b, e.Param), '}')
}

var errBatchStopped = errors.New("batch stopped")
