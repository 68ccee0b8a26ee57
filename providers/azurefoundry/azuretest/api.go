package azuretest

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Operations, as recorded in Request.Operation.
const (
	OperationChat       = "chat"
	OperationResponses  = "responses"
	OperationEmbeddings = "embeddings"
	// OperationMessages is a Claude call on the Anthropic Messages route.
	OperationMessages = "messages"
)

const (
	opChat       = OperationChat
	opResponses  = OperationResponses
	opEmbeddings = OperationEmbeddings
	opMessages   = OperationMessages
)

// Minimum dated api-versions of the classic routes added after chat: Azure
// introduced batch (and the batch purpose of files) in 2024-07-01-preview and
// the Responses API in 2025-03-01-preview.
const (
	minBatchAPIVersion     = "2024-07-01"
	minResponsesAPIVersion = "2025-03-01"
)

// apiState holds what the files, batches and responses routes keep between
// requests, and the goroutines that run batches and background responses.
type apiState struct {
	h         *Handler
	cfg       apiConfig
	failFast  bool
	files     fileStore
	batches   batchStore
	responses responseStore

	ctx  context.Context // canceled by shutdown
	stop context.CancelFunc
	wg   sync.WaitGroup // batch and background goroutines

	holdMu  sync.Mutex
	held    bool
	release chan struct{} // closed when a hold ends
}

func newAPIState(h *Handler, c *apiConfig) *apiState {
	a := &apiState{h: h, cfg: *c}
	if !a.cfg.timingSet {
		a.cfg.batchTiming = DefaultBatchTiming
	}
	if !a.cfg.bgSet {
		a.cfg.bgQueued, a.cfg.bgRun = DefaultBackgroundDelay, DefaultBackgroundDelay
	}
	if a.cfg.maxFilesNoExpiry == 0 {
		a.cfg.maxFilesNoExpiry = DefaultMaxFilesWithoutExpiry
	}
	if a.cfg.maxFilesExpiry == 0 {
		a.cfg.maxFilesExpiry = DefaultMaxFilesWithExpiry
	}
	a.failFast = isFailFastRegion(h.region)
	if c.failFast != nil {
		a.failFast = *c.failFast
	}
	a.files.init(c.storageDir)
	a.batches.init(c)
	a.responses.init()
	a.ctx, a.stop = context.WithCancel(context.Background())
	return a
}

// shutdown stops the goroutines and deletes the stored files.
func (a *apiState) shutdown() {
	a.stop()
	a.wg.Wait()
	a.files.removeAll()
}

// go runs f on a goroutine that shutdown waits for.
func (a *apiState) goRun(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// HoldAsync stops (true) or resumes (false) the progress of batches and
// background responses: while held, none of them changes status or runs
// another line, so a test can observe "validating", "in_progress" or
// "queued" and act (cancel, ExpireBatch, FailBatch) at a known point.
func (h *Handler) HoldAsync(hold bool) {
	a := h.api
	a.holdMu.Lock()
	defer a.holdMu.Unlock()
	switch {
	case hold && !a.held:
		a.held, a.release = true, make(chan struct{})
	case !hold && a.held:
		a.held = false
		close(a.release)
	}
}

// waitUnheld returns when no hold is in force, or ctx's error.
func (a *apiState) waitUnheld(ctx context.Context) error {
	for {
		a.holdMu.Lock()
		held, ch := a.held, a.release
		a.holdMu.Unlock()
		if !held {
			return ctx.Err()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pause waits d of real time and then for any hold to end.
func (a *apiState) pause(ctx context.Context, d time.Duration) error {
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	return a.waitUnheld(ctx)
}

// routeAPI serves the routes this file family adds: files, batches,
// responses and embeddings on both URL families. It reports whether path is
// one of them.
func (h *Handler) routeAPI(x *exchange, path string) bool {
	if rest, ok := strings.CutPrefix(path, "/openai/v1/"); ok {
		x.v1 = true
		return h.routeFamily(x, rest)
	}
	rest, ok := strings.CutPrefix(path, "/openai/")
	if !ok {
		return false
	}
	if dep, ok := strings.CutPrefix(rest, "deployments/"); ok {
		escaped, ok := strings.CutSuffix(dep, "/embeddings")
		if !ok || escaped == "" {
			return false
		}
		name, err := url.PathUnescape(escaped)
		if err != nil || strings.Contains(escaped, "/") {
			return false
		}
		if h.checkMethod(x, http.MethodPost) && h.checkClassic(x) {
			x.arrival.Deployment = name
			if d, ok := h.deployments[name]; ok {
				h.embeddings(x, d)
			} else {
				h.writeError(x, http.StatusNotFound, bodyDeploymentNotFound)
			}
		}
		return true
	}
	return h.routeFamily(x, rest)
}

// routeFamily dispatches rest (the path after /openai/ or /openai/v1/).
func (h *Handler) routeFamily(x *exchange, rest string) bool {
	coll, tail, _ := strings.Cut(rest, "/")
	id, sub, _ := strings.Cut(tail, "/")
	if tail != "" && (id == "" || strings.Contains(sub, "/")) {
		return false
	}
	if id != "" {
		var err error
		if id, err = url.PathUnescape(id); err != nil {
			return false
		}
	}
	switch {
	case coll == "embeddings" && x.v1 && tail == "":
		if h.checkMethod(x, http.MethodPost) && h.checkVersion(x, "") {
			h.embeddings(x, nil)
		}
	case coll == "files" && tail == "":
		switch x.r.Method {
		case http.MethodGet:
			if h.checkVersion(x, "") {
				h.listFiles(x)
			}
		case http.MethodPost:
			if h.checkVersion(x, "") {
				h.uploadFile(x)
			}
		default:
			h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		}
	case coll == "files" && sub == "":
		switch x.r.Method {
		case http.MethodGet:
			if h.checkVersion(x, "") {
				h.getFile(x, id)
			}
		case http.MethodDelete:
			if h.checkVersion(x, "") {
				h.deleteFile(x, id)
			}
		default:
			h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		}
	case coll == "files" && sub == "content":
		if h.checkMethod(x, http.MethodGet) && h.checkVersion(x, "") {
			h.fileContent(x, id)
		}
	case coll == "batches" && tail == "":
		switch x.r.Method {
		case http.MethodGet:
			if h.checkVersion(x, minBatchAPIVersion) {
				h.listBatches(x)
			}
		case http.MethodPost:
			if h.checkVersion(x, minBatchAPIVersion) {
				h.createBatch(x)
			}
		default:
			h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		}
	case coll == "batches" && sub == "":
		if h.checkMethod(x, http.MethodGet) && h.checkVersion(x, minBatchAPIVersion) {
			h.getBatch(x, id)
		}
	case coll == "batches" && sub == "cancel":
		if h.checkMethod(x, http.MethodPost) && h.checkVersion(x, minBatchAPIVersion) {
			h.cancelBatch(x, id)
		}
	case coll == "responses" && tail == "":
		if h.checkMethod(x, http.MethodPost) && h.checkVersion(x, minResponsesAPIVersion) {
			h.createResponse(x)
		}
	case coll == "responses" && sub == "":
		switch x.r.Method {
		case http.MethodGet:
			if h.checkVersion(x, minResponsesAPIVersion) {
				h.getResponse(x, id)
			}
		case http.MethodDelete:
			if h.checkVersion(x, minResponsesAPIVersion) {
				h.deleteResponse(x, id)
			}
		default:
			h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		}
	case coll == "responses" && sub == "cancel":
		if h.checkMethod(x, http.MethodPost) && h.checkVersion(x, minResponsesAPIVersion) {
			h.cancelResponse(x, id)
		}
	default:
		return false
	}
	return true
}

// checkVersion applies the route family's api-version rules: checkV1 on the
// v1 routes; on the classic ones checkClassic, then a dated version older
// than minDated (when set) is a 404, the operation not existing in it.
func (h *Handler) checkVersion(x *exchange, minDated string) bool {
	if x.v1 {
		return h.checkV1(x)
	}
	if !h.checkClassic(x) {
		return false
	}
	if minDated != "" && len(x.apiVersion) >= 10 && x.apiVersion[:10] < minDated {
		h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		return false
	}
	return true
}

// refuses returns the 400 Azure sends when d cannot serve op (batch
// deployments serve only batch lines; embedding deployments only
// embeddings, other deployments no embeddings), or nil.
func (d *deployment) refuses(op string, batchLine bool) []byte {
	switch {
	case d.sku != "" && !batchLine,
		d.embedding && op != opEmbeddings,
		!d.embedding && op == opEmbeddings:
		return operationNotSupportedBody(op, d.model)
	}
	return nil
}
