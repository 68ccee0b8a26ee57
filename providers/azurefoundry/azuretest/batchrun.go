package azuretest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
)

// runBatch takes a batch from validating to a terminal status. Each input
// line runs through the same handler as a synchronous request (v1 route),
// so validation, the content filter, injected faults and the reply
// generator apply per line; its answer is written, as it comes, to the
// output file (status 200) or the error file (any other status).
func (h *Handler) runBatch(j *batchJob) {
	a := h.api
	ctx := a.ctx
	t := a.cfg.batchTiming
	defer close(j.done)
	defer j.input.Close()

	if a.pause(ctx, t.Validating) != nil {
		return
	}
	if errs := h.validateBatch(j); len(errs) > 0 {
		if !h.stopped(j, nil) {
			h.finishBatch(j, BatchFailed, errs, nil)
		}
		return
	}
	// A batch stopped while validating runs no line: all go to its error
	// file as unrun.
	j.mu.Lock()
	j.total, j.counted = j.scan.lines, true
	if j.stop == "" {
		j.status, j.inProgress = BatchInProgress, h.now().Unix()
	}
	j.mu.Unlock()

	out, err := newBatchOutput(a, j.id)
	if err != nil {
		h.finishBatch(j, BatchFailed, []BatchError{{Code: "server_error", Message: "The emulator could not create the output files: " + err.Error()}}, nil)
		return
	}
	defer out.discard()
	if _, err := j.input.Seek(0, io.SeekStart); err != nil {
		h.finishBatch(j, BatchFailed, []BatchError{{Code: "server_error", Message: err.Error()}}, nil)
		return
	}
	lw := &lineWriter{hdr: make(http.Header)}
	url := "/openai/v1" + normalizeBatchURL(j.endpoint)
	unrunCode, unrunMsg := "", ""
	n := 0
	err = forEachLine(j.input, func(line []byte, _ int) bool {
		if unrunCode == "" {
			if a.pause(ctx, t.PerLine) != nil {
				return false
			}
			if !j.stopRequested() && a.cfg.beforeLine != nil {
				n++
				a.cfg.beforeLine(j.id, n)
			}
			if j.stopRequested() {
				j.mu.Lock()
				reason := j.stop
				j.mu.Unlock()
				switch reason {
				case "fail":
					return false
				case "expire":
					unrunCode, unrunMsg = "batch_expired", msgBatchExpired
				default:
					unrunCode, unrunMsg = "batch_cancelled", msgBatchCancelled
				}
			}
		}
		var l batchInputLine
		var id string
		_ = json.Unmarshal(line, &l)
		_ = json.Unmarshal(l.CustomID, &id)
		if unrunCode != "" {
			// Lines the batch will not run go to the error file.
			out.unrun(id, unrunCode, unrunMsg)
			return true
		}
		status, reqID := h.runLine(ctx, lw, url, l.Body)
		out.line(id, status, reqID, lw.buf.Bytes())
		j.mu.Lock()
		if status == http.StatusOK {
			j.nDone++
		} else {
			j.nFailed++
		}
		j.mu.Unlock()
		return true
	})
	if ctx.Err() != nil {
		return // Close: the handler is going away
	}
	if err == nil {
		err = out.err
	}
	if err != nil {
		h.finishBatch(j, BatchFailed, []BatchError{{Code: "server_error", Message: err.Error()}}, nil)
		return
	}
	j.mu.Lock()
	if j.stop != "" {
		j.mu.Unlock()
		h.stopped(j, out)
		return
	}
	j.status, j.finalizing = BatchFinalizing, h.now().Unix()
	j.mu.Unlock()
	if a.pause(ctx, t.Finalizing) != nil {
		return
	}
	if h.stopped(j, out) { // ExpireBatch or FailBatch while finalizing
		return
	}
	h.finishBatch(j, BatchCompleted, nil, out)
}

// stopped ends the batch if a cancel, ExpireBatch or FailBatch asked for it,
// registering out's files when lines ran.
func (h *Handler) stopped(j *batchJob, out *batchOutput) bool {
	j.mu.Lock()
	stop, errs := j.stop, j.stopErr
	j.mu.Unlock()
	switch stop {
	case "cancel":
		if h.api.pause(h.api.ctx, h.api.cfg.batchTiming.Finalizing) != nil {
			return true
		}
		h.finishBatch(j, BatchCancelled, nil, out)
	case "expire":
		h.finishBatch(j, BatchExpired, nil, out)
	case "fail":
		h.finishBatch(j, BatchFailed, errs, out)
	default:
		return false
	}
	return true
}

func (j *batchJob) stopRequested() bool {
	select {
	case <-j.stopCh:
		return true
	default:
		return false
	}
}

// validateBatch applies Azure's batch validation to the upload's scan and
// reserves the enqueued tokens when the region does not fail fast.
func (h *Handler) validateBatch(j *batchJob) []BatchError {
	s := j.scan
	one := func(code, msg string) []BatchError { return []BatchError{{Code: code, Message: msg}} }
	switch {
	case s.bom:
		return one(codeInvalidRequest, msgBOM)
	case s.lines == 0:
		return one(codeEmptyFile, msgEmptyFile)
	case s.tooMany:
		return one(codeTooManyTasks, msgTooManyTasks)
	case j.window != "24h":
		return one(codeInvalidRequest, msgCompletionWindow)
	case len(s.errs) > 0:
		return s.errs
	case s.url != normalizeBatchURL(j.endpoint):
		return one(codeURLMismatch, msgURLMismatch)
	}
	d, ok := h.deployments[s.model]
	if !ok {
		return one(codeModelNotFound, msgModelNotFound)
	}
	if d.sku == "" {
		return one(codeInvalidRequest, msgInvalidRequest)
	}
	if !j.reserved {
		if limit, ok := h.api.batches.reserve(j.deployment, j.tokens); !ok {
			return one(codeTokenLimitExceeded, tokenLimitMessage(limit, j.deployment))
		}
		j.mu.Lock()
		j.reserved = true
		j.mu.Unlock()
	}
	return nil
}

// finishBatch puts the batch in a terminal status, registers its output
// files (when lines ran) and releases its enqueued tokens.
func (h *Handler) finishBatch(j *batchJob, status string, errs []BatchError, out *batchOutput) {
	var outID, errID string
	if out != nil {
		outID, errID = out.register(h, j)
	}
	now := h.now().Unix()
	j.mu.Lock()
	j.status = status
	j.errs = errs
	if outID != "" {
		j.outputFileID, j.errorFileID = outID, errID
	}
	switch status {
	case BatchCompleted:
		j.completed = now
	case BatchFailed:
		j.failed = now
	case BatchExpired:
		j.expired = now
	case BatchCancelled:
		if j.cancelling == 0 {
			j.cancelling = now
		}
		j.cancelled = now
	}
	reserved := j.reserved
	j.reserved = false
	j.mu.Unlock()
	if reserved {
		h.api.batches.release(j.deployment, j.tokens)
	}
}

// runLine runs one input line's body through the synchronous handler of
// url and leaves the answer in lw; it returns the status and request id.
func (h *Handler) runLine(ctx context.Context, lw *lineWriter, url string, body []byte) (status int, requestID string) {
	lw.reset()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		lw.status = http.StatusBadRequest
		lw.buf.Write(bodyMalformedJSON)
		return lw.status, newUUID()
	}
	x := &exchange{w: lw, r: req, requestID: newUUID(), apiVersion: "v1", v1: true, batchLine: true}
	x.arrival = Arrival{Time: h.now(), Path: url}
	switch url {
	case "/openai/v1/responses":
		h.createResponse(x)
	default:
		h.chat(x, nil)
	}
	if lw.status == 0 {
		lw.status = http.StatusOK
	}
	if lw.buf.Len() == 0 {
		lw.buf.WriteString("null")
	}
	return lw.status, x.requestID
}

// bodyBatchStream answers a batch line that asks for a stream (the
// emulator's wording; Azure documents none).
var bodyBatchStream = openAIError("Streaming is not supported in batch requests.", "invalid_request_error", "stream", "invalid_value")

// lineWriter is the http.ResponseWriter a batch line is answered into.
type lineWriter struct {
	hdr    http.Header
	status int
	buf    bytes.Buffer
}

func (w *lineWriter) Header() http.Header { return w.hdr }

func (w *lineWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *lineWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.buf.Write(b)
}

func (w *lineWriter) reset() {
	clear(w.hdr)
	w.status = 0
	w.buf.Reset()
}

// batchOutput writes the output and error files of a batch as its lines
// run, so that neither is held in memory.
type batchOutput struct {
	outF, errF *os.File
	out, errW  *bufio.Writer
	line0      []byte // reused line buffer
	err        error
	kept       bool
}

func newBatchOutput(a *apiState, id string) (*batchOutput, error) {
	outF, err := a.files.create("output-")
	if err != nil {
		return nil, err
	}
	errF, err := a.files.create("errors-")
	if err != nil {
		outF.Close()
		os.Remove(outF.Name())
		return nil, err
	}
	return &batchOutput{outF: outF, errF: errF, out: bufio.NewWriterSize(outF, 64<<10), errW: bufio.NewWriterSize(errF, 64<<10)}, nil
}

// line writes an answered line as in aoai_batch_output_line.doc.jsonl:
// {"custom_id","response":{"body","request_id","status_code"},"error":null}.
func (o *batchOutput) line(customID string, status int, requestID string, body []byte) {
	b := append(o.line0[:0], `{"custom_id":`...)
	b = appendJSONString(b, customID)
	b = append(b, `,"response":{"body":`...)
	b = append(b, body...)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, requestID)
	b = append(b, `,"status_code":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, "},\"error\":null}\n"...)
	o.line0 = b
	w := o.out
	if status != http.StatusOK {
		w = o.errW
	}
	if _, err := w.Write(b); err != nil && o.err == nil {
		o.err = err
	}
}

// unrun writes a line the batch did not run to the error file:
// {"custom_id","response":null,"error":{"code","message"}}.
func (o *batchOutput) unrun(customID, code, message string) {
	b := append(o.line0[:0], `{"custom_id":`...)
	b = appendJSONString(b, customID)
	b = append(b, `,"response":null,"error":{"code":`...)
	b = appendJSONString(b, code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, message)
	b = append(b, "}}\n"...)
	o.line0 = b
	if _, err := o.errW.Write(b); err != nil && o.err == nil {
		o.err = err
	}
}

// register closes both files and adds them to the file store (purpose
// batch_output); a successful batch still gets its error file, empty, as
// Microsoft documents.
func (o *batchOutput) register(h *Handler, j *batchJob) (outID, errID string) {
	if o.kept {
		return "", ""
	}
	now := h.now().Unix()
	var expires int64
	if j.outputExpiry > 0 {
		expires = now + j.outputExpiry
	}
	add := func(f *os.File, w *bufio.Writer, suffix string) string {
		if err := w.Flush(); err != nil && o.err == nil {
			o.err = err
		}
		size, _ := f.Seek(0, io.SeekCurrent)
		f.Close()
		sf := &storedFile{id: newOutputFileID(), filename: j.id + suffix, purpose: "batch_output", bytes: size, createdAt: now, expiresAt: expires, path: f.Name()}
		h.api.files.add(sf)
		return sf.id
	}
	outID = add(o.outF, o.out, "_output.jsonl")
	errID = add(o.errF, o.errW, "_error.jsonl")
	o.kept = true
	return outID, errID
}

// discard deletes the files unless register kept them.
func (o *batchOutput) discard() {
	if o.kept {
		return
	}
	o.outF.Close()
	o.errF.Close()
	os.Remove(o.outF.Name())
	os.Remove(o.errF.Name())
}
