package azuretest

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// The steps every model route takes, in Azure's order: read the body and
// record it for LastRequest, find the deployment, check that it serves the
// operation, (the route's own validation), charge the quota, draw the
// injected fault and wait the model's latency, set the answer's headers and
// apply the prompt filter, (the route's reply), streamed with startSSE and
// sendEvent. Each step answers the request itself, in the route's dialect,
// and returns false (or nil) when the request ends there, so that a route
// reads as the list of its steps: see chat (with reachChatModel) for the
// full list.

// dialect is how a route family words the answers of the shared steps.
type dialect uint8

const (
	// dialectAzure: the Azure OpenAI routes (chat, responses, embeddings):
	// the OpenAI error envelope, x-ms-region on every error but a 401,
	// Azure's 429 with retry-after-ms, x-ratelimit-remaining-* headers.
	dialectAzure dialect = iota
	// dialectServerless: a serverless endpoint: Azure's bodies without
	// the resource's x-ms-region (the recordings have none).
	dialectServerless
	// dialectAnthropic: the Claude route: Anthropic's error envelope, its
	// 429 and 529, and anthropic-ratelimit-* headers.
	dialectAnthropic
)

// dailyQuotaWait is the retry-after of a daily-quota 429.
const dailyQuotaWait = 86400 * time.Second

// fail writes a JSON error body the Azure way of x's route.
func (h *Handler) fail(x *exchange, status int, body []byte) {
	if x.dialect == dialectServerless {
		h.writeJSON(x, status, body)
		return
	}
	h.writeError(x, status, body)
}

// readJSON reads the request body, bounded by maxBodyBytes, into a pooled
// buffer and unmarshals it into v. It returns nil when the body could not be
// read (the 400 or 413 written); otherwise the buffer and json.Unmarshal's
// error, which the route answers with rejectJSON after record: a request
// with a malformed body is still LastRequest.
func (h *Handler) readJSON(x *exchange, v any) (*bytes.Buffer, error) {
	buf := getBuf()
	if _, err := buf.ReadFrom(http.MaxBytesReader(x.w, x.r.Body, maxBodyBytes)); err != nil {
		putBuf(buf)
		h.unreadable(x, err)
		return nil, nil
	}
	// json.Unmarshal copies what it keeps (strings, RawMessage) out of buf.
	return buf, json.Unmarshal(buf.Bytes(), v)
}

// unreadable answers a body that could not be read: too large, or cut off.
func (h *Handler) unreadable(x *exchange, err error) {
	if x.dialect != dialectAnthropic {
		h.fail(x, http.StatusBadRequest, bodyMalformedJSON)
		return
	}
	if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
		h.writeAnthropicError(x, http.StatusRequestEntityTooLarge, "request_too_large", "Request exceeds the maximum allowed number of bytes.")
		return
	}
	h.writeAnthropicError(x, http.StatusBadRequest, "invalid_request_error", "There was an error parsing the body of your request.")
}

// rejectJSON answers a body that is not valid JSON for the route's request.
func (h *Handler) rejectJSON(x *exchange, err error) {
	if x.dialect == dialectAnthropic {
		h.writeAnthropicError(x, http.StatusBadRequest, "invalid_request_error", "There was an error parsing the body of your request: "+err.Error())
		return
	}
	h.fail(x, http.StatusBadRequest, decodeErrorBody(err))
}

// record makes buf, the body of an op request for deployment, the newest
// LastRequest; buf then belongs to the record. A batch line is not
// recorded: its buffer goes back to the pool.
func (h *Handler) record(x *exchange, buf *bytes.Buffer, op, deployment string, stream bool) {
	if x.batchLine {
		putBuf(buf)
		return
	}
	h.keepLast(x, buf, deployment, stream, op)
}

// bodyDeployment finds the deployment a body's model names (the v1 routes
// and the Responses API, whose paths name none): a 400 when model is
// missing, a 404 when no such deployment exists. The v1 routes echo the
// name in x-ms-deployment-name.
func (h *Handler) bodyDeployment(x *exchange, model string) *deployment {
	if model == "" {
		h.fail(x, http.StatusBadRequest, missingParam("model"))
		return nil
	}
	x.arrival.Deployment = model
	d, ok := h.deployments[model]
	if !ok {
		h.fail(x, http.StatusNotFound, bodyDeploymentNotFound)
		return nil
	}
	if x.v1 {
		x.w.Header()[hdrXMsDeploymentName] = []string{d.name}
	}
	return d
}

// serves answers the 400 Azure sends when d cannot serve op (see
// deployment.refuses) and reports whether it can.
func (h *Handler) serves(x *exchange, d *deployment, op string) bool {
	if body := d.refuses(op, x.batchLine); body != nil {
		h.fail(x, http.StatusBadRequest, body)
		return false
	}
	return true
}

// admit charges cost tokens to d's quota: the daily quota first, then the
// per-minute windows, whose state the answer's headers report. A batch
// line skips the windows: batch deployments are governed by their
// enqueued-token quota, checked when the batch is created. It answers the
// 429 and returns false when the request must wait.
func (h *Handler) admit(x *exchange, d *deployment, cost int) bool {
	if d.exhausted.Load() {
		h.rateLimited(x, "token", dailyQuotaWait)
		return false
	}
	if x.batchLine {
		return true
	}
	q := d.limiter.admit(h.now().UnixNano(), cost, *h.defaultLimit.Load())
	if x.dialect == dialectAnthropic {
		setAnthropicRateLimitHeaders(x.w.Header(), q)
	} else {
		h.setRateLimitHeaders(x.w.Header(), q)
	}
	if !q.ok {
		h.rateLimited(x, q.kind, q.wait)
		return false
	}
	return true
}

// rateLimited answers a 429 of kind ("token" or "call") asking the client
// to wait.
func (h *Handler) rateLimited(x *exchange, kind string, wait time.Duration) {
	if x.dialect == dialectAnthropic {
		h.writeAnthropicRateLimited(x, wait)
		return
	}
	h.writeRateLimited(x, kind, wait)
}

// serverError answers an injected 500, or the 503 of an overloaded model
// (Anthropic's 529).
func (h *Handler) serverError(x *exchange, overloaded bool) {
	switch {
	case x.dialect == dialectAnthropic && overloaded:
		h.writeAnthropicError(x, 529, "overloaded_error", "Overloaded")
	case x.dialect == dialectAnthropic:
		h.writeAnthropicError(x, http.StatusInternalServerError, "api_error", "Internal server error")
	case overloaded:
		h.fail(x, http.StatusServiceUnavailable, serverErrorBody(true, x.requestID))
	default:
		h.fail(x, http.StatusInternalServerError, serverErrorBody(false, x.requestID))
	}
}

// injected is what the fault draw left a request that goes on.
type injected struct {
	faults *Faults
	// serverError is fault500 or fault503 drawn for a stream whose route
	// reports it inside the stream (see reachModel); else faultNone.
	serverError faultKind
	slow, stall bool
}

// stallAfter is how many chunks a stream sends before it stalls (see
// Faults.StallAfter), -1 when it does not stall.
func (f injected) stallAfter() int {
	if !f.stall {
		return -1
	}
	return max(f.faults.StallAfter, 0)
}

// reachModel takes a request that passed validation and the quota to the
// "model": it draws the request's injected fault and answers it, then
// waits the latency (plus SlowDelay for a slow one). A batch line has no
// connection to reset and nothing to stall or slow, and pays no latency.
// With streamErrors, a drawn server error is left to the route (in
// injected.serverError) to report inside its stream. It returns false when
// the request ended: answered, reset, or its client gone during the wait.
func (h *Handler) reachModel(x *exchange, streamErrors bool) (injected, bool) {
	f := injected{faults: h.faults.Load()}
	var kind faultKind
	kind, f.slow, f.stall = h.drawFault(f.faults)
	if x.batchLine {
		f.slow, f.stall = false, false
		if kind == faultReset {
			kind = faultNone
		}
	}
	switch kind {
	case fault429:
		h.rateLimited(x, "token", cmpOr(f.faults.RetryAfter, time.Second))
		return f, false
	case faultDaily:
		h.rateLimited(x, "token", dailyQuotaWait)
		return f, false
	case fault500, fault503:
		if !streamErrors {
			h.serverError(x, kind == fault503)
			return f, false
		}
		f.serverError = kind
	case faultReset:
		x.arrival.Status = StatusReset
		resetConnection(x.w)
		return f, false
	}

	delay := h.delay()
	if x.batchLine {
		delay = 0
	}
	if f.slow {
		delay += cmpOr(f.faults.SlowDelay, 2*time.Second)
	}
	if !h.sleep(x.r.Context(), delay) {
		x.arrival.Status = StatusClientClosed
		return f, false
	}
	return f, true
}

// answerHeaders sets the headers of an answer the model gave: x-request-id,
// the region (not on a serverless endpoint) and x-ms-rai-invoked (not for
// embeddings, which no content filter reads). The Anthropic route sets its
// request-id on arrival.
func (h *Handler) answerHeaders(x *exchange, op string) {
	if x.dialect == dialectAnthropic {
		return
	}
	hdr := x.w.Header()
	hdr[hdrXRequestID] = []string{newUUID()}
	if x.dialect != dialectServerless {
		hdr[hdrXMsRegion] = []string{h.region}
	}
	if op != opEmbeddings {
		hdr[hdrXMsRaiInvoked] = []string{"true"}
	}
}

// filterPrompt answers the prompt filter's 400 (fixture
// aoai_error_400_content_filter_prompt_chat) when a message of req has the
// prompt filter word, and reports whether it did.
func (h *Handler) filterPrompt(x *exchange, req *chatRequest) bool {
	if h.promptWord == "" || !req.mentions(h.promptWord) {
		return false
	}
	if x.dialect == dialectAzure {
		hdr := x.w.Header()
		hdr[hdrMsAzuremlModelErrorReason] = []string{"model_error"}
		hdr[hdrMsAzuremlModelErrorStatuscode] = []string{"400"}
	}
	h.writeJSON(x, http.StatusBadRequest, bodyPromptFiltered)
	return true
}

// startSSE answers 200 with the headers of an event stream (no
// Cache-Control when cacheControl is ""); sendEvent writes the events.
func startSSE(x *exchange, contentType, cacheControl string) {
	hdr := x.w.Header()
	hdr[hdrContentType] = []string{contentType}
	if cacheControl != "" {
		hdr[hdrCacheControl] = []string{cacheControl}
	}
	x.arrival.Status = http.StatusOK
	x.w.WriteHeader(http.StatusOK)
}

// sendEvent writes one server-sent event and flushes it at once; it
// returns false, recording StatusClientClosed, once the client has gone.
func sendEvent(x *exchange, event []byte) bool {
	if x.r.Context().Err() != nil {
		x.arrival.Status = StatusClientClosed
		return false
	}
	if _, err := x.w.Write(event); err != nil {
		x.arrival.Status = StatusClientClosed
		return false
	}
	_ = http.NewResponseController(x.w).Flush()
	return true
}
