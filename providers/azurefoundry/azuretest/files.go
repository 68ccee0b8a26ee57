package azuretest

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits of batch input files (Microsoft Learn, "Global batch limits").
const (
	// MaxBatchFileBytes is the largest batch input file the emulator
	// accepts. Microsoft documents "200 MB"; the emulator reads it as
	// 200,000,000 bytes, the stricter of the two readings.
	MaxBatchFileBytes = 200_000_000
	// MaxBatchLines is the most requests one batch file may hold.
	MaxBatchLines = 100_000
)

// maxUploadBytes bounds an upload of another purpose.
const maxUploadBytes = 512 << 20

// File expiry bounds (Microsoft Learn, batch how-to: "a number between
// 1209600-2592000. This is equivalent to 14-30 days").
const (
	minFileExpirySeconds = 1209600
	maxFileExpirySeconds = 2592000
)

// FileInfo describes a stored file; see Handler.Files.
type FileInfo struct {
	ID        string
	Filename  string
	Purpose   string // "batch", "batch_output", "assistants", "fine-tune", "evals"
	Status    string // "pending" or "processed"
	Bytes     int64
	CreatedAt time.Time
	ExpiresAt time.Time // zero: no expiry
}

type storedFile struct {
	id, filename, purpose string
	bytes                 int64
	createdAt, expiresAt  int64 // unix seconds on the handler clock; expiresAt 0: none
	path                  string
	readyAt               time.Time  // real time when a pending upload is processed
	scan                  *inputScan // batch uploads
	uploaded              bool       // counts against the file limits
}

func (f *storedFile) status() string {
	if time.Now().Before(f.readyAt) {
		return "pending"
	}
	return "processed"
}

func (f *storedFile) appendJSON(b []byte) []byte {
	// Keys in the order of aoai_file_upload_purpose_batch.doc.json.
	b = append(b, `{"status":`...)
	b = appendJSONString(b, f.status())
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, f.bytes, 10)
	b = append(b, `,"purpose":`...)
	b = appendJSONString(b, f.purpose)
	b = append(b, `,"filename":`...)
	b = appendJSONString(b, f.filename)
	b = append(b, `,"expires_at":`...)
	b = appendUnixOrNull(b, f.expiresAt)
	b = append(b, `,"id":`...)
	b = appendJSONString(b, f.id)
	b = append(b, `,"created_at":`...)
	b = strconv.AppendInt(b, f.createdAt, 10)
	return append(b, `,"object":"file"}`...)
}

func appendUnixOrNull(b []byte, t int64) []byte {
	if t == 0 {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, t, 10)
}

// fileStore keeps file metadata in memory and contents on disk.
type fileStore struct {
	mu     sync.Mutex
	base   string // WithStorageDir, or "" for a temporary directory
	dir    string // created on first use
	ownDir bool
	closed bool // after removeAll: no new files
	byID   map[string]*storedFile
	order  []*storedFile // by creation
}

func (s *fileStore) init(base string) {
	s.base = base
	s.byID = make(map[string]*storedFile)
}

// create opens a new file in the storage directory.
func (s *fileStore) create(pattern string) (*os.File, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("azuretest: the handler is closed")
	}
	if s.dir == "" {
		if s.base != "" {
			s.dir = s.base
		} else {
			dir, err := os.MkdirTemp("", "azuretest-files-")
			if err != nil {
				s.mu.Unlock()
				return nil, err
			}
			s.dir, s.ownDir = dir, true
		}
	}
	dir := s.dir
	s.mu.Unlock()
	return os.CreateTemp(dir, pattern)
}

func (s *fileStore) add(f *storedFile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID[f.id] = f
	s.order = append(s.order, f)
}

// get returns a file that has not expired at now (unix seconds).
func (s *fileStore) get(id string, now int64) *storedFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.byID[id]
	if f != nil && f.expiresAt != 0 && now >= f.expiresAt {
		s.removeLocked(f)
		return nil
	}
	return f
}

func (s *fileStore) remove(id string) *storedFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.byID[id]
	if f != nil {
		s.removeLocked(f)
	}
	return f
}

func (s *fileStore) removeLocked(f *storedFile) {
	delete(s.byID, f.id)
	s.order = slices.DeleteFunc(s.order, func(o *storedFile) bool { return o == f })
	_ = os.Remove(f.path)
}

// live returns the files not expired at now, oldest first.
func (s *fileStore) live(now int64) []*storedFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*storedFile, 0, len(s.order))
	for _, f := range s.order {
		if f.expiresAt == 0 || now < f.expiresAt {
			out = append(out, f)
		}
	}
	return out
}

func (s *fileStore) removeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.order {
		_ = os.Remove(f.path)
	}
	clear(s.byID)
	s.order = nil
	s.closed = true
	if s.ownDir {
		_ = os.RemoveAll(s.dir)
		s.dir, s.ownDir = "", false
	}
}

// Files returns the stored files (uploads and batch outputs) that have not
// expired or been deleted, oldest first.
func (h *Handler) Files() []FileInfo {
	var out []FileInfo
	for _, f := range h.api.files.live(h.now().Unix()) {
		fi := FileInfo{ID: f.id, Filename: f.filename, Purpose: f.purpose, Status: f.status(), Bytes: f.bytes, CreatedAt: time.Unix(f.createdAt, 0)}
		if f.expiresAt != 0 {
			fi.ExpiresAt = time.Unix(f.expiresAt, 0)
		}
		out = append(out, fi)
	}
	return out
}

// FileContent returns the content of a stored file.
func (h *Handler) FileContent(id string) ([]byte, error) {
	f := h.api.files.get(id, h.now().Unix())
	if f == nil {
		return nil, errors.New("azuretest: no file " + strconv.Quote(id))
	}
	return os.ReadFile(f.path)
}

var allowedPurposes = []string{"assistants", "batch", "fine-tune", "evals"}

// uploadFile serves POST files: a multipart form with purpose, file and an
// optional expires_after (sent as expires_after[anchor] and
// expires_after[seconds] by the OpenAI SDKs, or with dots as in
// Microsoft's curl example). The file is streamed to disk; a batch file is
// then scanned once, line by line, for its validation facts.
func (h *Handler) uploadFile(x *exchange) {
	mr, err := x.r.MultipartReader()
	if err != nil {
		h.writeError(x, http.StatusBadRequest, openAIError("The request must be multipart/form-data with the fields 'purpose' and 'file'.", "invalid_request_error", "", ""))
		return
	}
	var (
		purpose, anchor, seconds string
		tmp                      *os.File
		filename                 string
		size                     int64
		tooLarge                 bool
	)
	defer func() {
		if tmp != nil { // not kept
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			h.writeError(x, http.StatusBadRequest, bodyMalformedMultipart)
			return
		}
		switch part.FormName() {
		case "purpose":
			purpose = readField(part)
		case "expires_after[anchor]", "expires_after.anchor":
			anchor = readField(part)
		case "expires_after[seconds]", "expires_after.seconds":
			seconds = readField(part)
		case "file":
			if tmp != nil {
				h.writeError(x, http.StatusBadRequest, openAIError("Only one file may be uploaded per request.", "invalid_request_error", "file", ""))
				return
			}
			filename = part.FileName()
			limit := int64(maxUploadBytes)
			if purpose == "batch" {
				limit = h.api.maxBatchBytes()
			}
			if tmp, err = h.api.files.create("upload-"); err != nil {
				h.writeError(x, http.StatusInternalServerError, serverErrorBody(false, x.requestID))
				return
			}
			size, err = io.Copy(tmp, io.LimitReader(part, limit+1))
			if err != nil {
				h.writeError(x, http.StatusBadRequest, bodyMalformedMultipart)
				return
			}
			if size > limit {
				tooLarge = true
			}
		default:
			_, _ = io.Copy(io.Discard, io.LimitReader(part, 1<<20))
		}
		part.Close()
		if tooLarge {
			break
		}
	}

	switch {
	case tooLarge || purpose == "batch" && size > h.api.maxBatchBytes():
		h.writeError(x, http.StatusBadRequest, openAIError("File is too large.", "invalid_request_error", "", ""))
		return
	case purpose == "":
		h.writeError(x, http.StatusBadRequest, openAIError("Missing required parameter: 'purpose'.", "invalid_request_error", "purpose", "missing_required_parameter"))
		return
	case !slices.Contains(allowedPurposes, purpose),
		// Batch files arrived with batch itself, in 2024-07-01-preview.
		purpose == "batch" && !x.v1 && x.apiVersion[:10] < minBatchAPIVersion:
		h.writeError(x, http.StatusBadRequest, openAIError("Invalid value for purpose.", "invalid_request_error", "purpose", "invalid_value"))
		return
	case tmp == nil:
		h.writeError(x, http.StatusBadRequest, openAIError("Missing required parameter: 'file'.", "invalid_request_error", "file", "missing_required_parameter"))
		return
	}
	var expirySeconds int64
	if seconds != "" || anchor != "" {
		if anchor != "" && anchor != "created_at" {
			h.writeError(x, http.StatusBadRequest, openAIError("Invalid value for 'expires_after.anchor': expected 'created_at'.", "invalid_request_error", "expires_after.anchor", "invalid_value"))
			return
		}
		n, err := strconv.ParseInt(strings.TrimSpace(seconds), 10, 64)
		if err != nil || n < minFileExpirySeconds || n > maxFileExpirySeconds {
			h.writeError(x, http.StatusBadRequest, openAIError("Invalid 'expires_after.seconds': expected an integer from 1209600 to 2592000 (14 to 30 days), but got '"+seconds+"'.", "invalid_request_error", "expires_after.seconds", "invalid_value"))
			return
		}
		expirySeconds = n
	}

	now := h.now().Unix()
	f := &storedFile{
		id:        newFileID(),
		filename:  filename,
		purpose:   purpose,
		bytes:     size,
		createdAt: now,
		path:      tmp.Name(),
		readyAt:   time.Now(),
		uploaded:  true,
	}
	if expirySeconds > 0 {
		f.expiresAt = now + expirySeconds
	}
	if body := h.api.files.checkQuota(f.expiresAt != 0, now, h.api.cfg); body != nil {
		h.writeError(x, http.StatusBadRequest, body)
		return
	}
	if purpose == "batch" {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			h.writeError(x, http.StatusInternalServerError, serverErrorBody(false, x.requestID))
			return
		}
		f.scan = h.scanInput(tmp)
		f.readyAt = time.Now().Add(h.api.cfg.batchTiming.FileProcessing)
	}
	if err := tmp.Close(); err != nil {
		h.writeError(x, http.StatusInternalServerError, serverErrorBody(false, x.requestID))
		return
	}
	tmp = nil // kept
	h.api.files.add(f)
	h.writeJSON(x, http.StatusOK, f.appendJSON(nil))
}

func (a *apiState) maxBatchBytes() int64 {
	if a.cfg.maxBatchBytes > 0 {
		return a.cfg.maxBatchBytes
	}
	return MaxBatchFileBytes
}

// bodyMalformedMultipart answers a form that cannot be read.
var bodyMalformedMultipart = openAIError("The multipart/form-data body could not be parsed.", "invalid_request_error", "", "")

// checkQuota applies the per-resource file limits to a new upload; the
// body is Azure's (Azure/azure-sdk-for-java#47401).
func (s *fileStore) checkQuota(expires bool, now int64, cfg apiConfig) []byte {
	n := 0
	for _, f := range s.live(now) {
		if f.uploaded && (f.expiresAt != 0) == expires {
			n++
		}
	}
	if expires && n >= cfg.maxFilesExpiry {
		return azureError("quotaExceeded", "The quota for files with expiry is reached. The maximum is "+strconv.Itoa(cfg.maxFilesExpiry)+".")
	}
	if !expires && n >= cfg.maxFilesNoExpiry {
		return azureError("quotaExceeded", "The quota for files without expiry is reached. The maximum is "+strconv.Itoa(cfg.maxFilesNoExpiry)+".")
	}
	return nil
}

func readField(p *multipart.Part) string {
	b, _ := io.ReadAll(io.LimitReader(p, 4096))
	return strings.TrimSpace(string(b))
}

// listFiles serves GET files: purpose, after, limit (1-10000, default
// 10000) and order (desc by default) as OpenAI defines them; the page has
// Azure's first_id, last_id and has_more.
func (h *Handler) listFiles(x *exchange) {
	q := x.r.URL.Query()
	files := h.api.files.live(h.now().Unix())
	if p := q.Get("purpose"); p != "" {
		files = slices.DeleteFunc(files, func(f *storedFile) bool { return f.purpose != p })
	}
	if q.Get("order") != "asc" {
		slices.Reverse(files)
	}
	limit, ok := parseLimit(q.Get("limit"), 10000, 10000)
	if !ok {
		h.writeError(x, http.StatusBadRequest, openAIError("Invalid 'limit': expected an integer from 1 to 10000.", "invalid_request_error", "limit", "invalid_value"))
		return
	}
	page, more := pageAfter(files, q.Get("after"), limit, func(f *storedFile) string { return f.id })
	b := []byte(`{"object":"list","data":[`)
	for i, f := range page {
		if i > 0 {
			b = append(b, ',')
		}
		b = f.appendJSON(b)
	}
	b = append(b, ']')
	b = appendPageIDs(b, page, more, func(f *storedFile) string { return f.id })
	h.writeJSON(x, http.StatusOK, append(b, '}'))
}

// parseLimit reads a page size; "" is def.
func parseLimit(s string, def, maxLimit int) (int, bool) {
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, false
	}
	return n, true
}

// pageAfter returns up to limit items following the one whose id is after
// (from the start when after is "" or unknown) and whether more follow.
func pageAfter[T any](items []T, after string, limit int, id func(T) string) ([]T, bool) {
	if after != "" {
		for i, it := range items {
			if id(it) == after {
				items = items[i+1:]
				break
			}
		}
	}
	if len(items) > limit {
		return items[:limit], true
	}
	return items, false
}

func appendPageIDs[T any](b []byte, page []T, more bool, id func(T) string) []byte {
	b = append(b, `,"first_id":`...)
	if len(page) == 0 {
		b = append(b, `null,"last_id":null`...)
	} else {
		b = appendJSONString(b, id(page[0]))
		b = append(b, `,"last_id":`...)
		b = appendJSONString(b, id(page[len(page)-1]))
	}
	return append(b, `,"has_more":`+strconv.FormatBool(more)...)
}

func (h *Handler) getFile(x *exchange, id string) {
	f := h.api.files.get(id, h.now().Unix())
	if f == nil {
		h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		return
	}
	h.writeJSON(x, http.StatusOK, f.appendJSON(nil))
}

func (h *Handler) deleteFile(x *exchange, id string) {
	if h.api.files.get(id, h.now().Unix()) == nil || h.api.files.remove(id) == nil {
		h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		return
	}
	b := append([]byte(`{"id":`), appendJSONString(nil, id)...)
	h.writeJSON(x, http.StatusOK, append(b, `,"object":"file","deleted":true}`...))
}

// fileContent streams a file from disk (application/octet-stream, as the
// Azure v1 specification declares).
func (h *Handler) fileContent(x *exchange, id string) {
	f := h.api.files.get(id, h.now().Unix())
	if f == nil {
		h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		return
	}
	fd, err := os.Open(f.path)
	if err != nil {
		h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		return
	}
	defer fd.Close()
	hdr := x.w.Header()
	hdr[hdrContentType] = []string{"application/octet-stream"}
	hdr["Content-Length"] = []string{strconv.FormatInt(f.bytes, 10)}
	x.arrival.Status = http.StatusOK
	x.w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(x.w, fd)
}

// newFileID is an uploaded file's id as Azure shapes it: "file-" and 32 hex
// digits (aoai_file_upload_purpose_batch.doc.json).
func newFileID() string { return "file-" + strings.ReplaceAll(newUUID(), "-", "") }

// newOutputFileID is a batch output file's id: "file-" and a UUID
// (aoai_batch_list_preview_filter.doc.json).
func newOutputFileID() string { return "file-" + newUUID() }
