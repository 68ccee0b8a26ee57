package openai

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/internal/httpguard"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// The files and batches API, as OpenAI defines it and Azure OpenAI copies
// it: a batch.Service. It is written on net/http rather than go-openai,
// whose file upload builds the whole multipart body in memory (200 MB for
// a full Azure input file) and whose batch types fail on the ISO-8601
// timestamps Azure has documented; the line bodies are still serialized
// by MarshalChatRequest or MarshalResponsesRequest, as a synchronous call
// of the same request would be, and the results parsed by the chat or the
// Responses parser.

// Batch limits of OpenAI's Batch API: "The file can contain up to 50,000
// requests, and can be up to 200 MB in size" (API reference, Create batch).
const (
	OpenAIBatchMaxLines = 50_000
	OpenAIBatchMaxBytes = 200 << 20
)

// BatchConfig configures a batch.Service over the files and batches API
// of an OpenAI-compatible server (see NewBatchService).
type BatchConfig struct {
	// Name is the provider name in errors and responses ("openai" when
	// empty).
	Name string
	// Model is the model the service submits lines for; WireName the name
	// the lines carry (Model.Name, or Model.ID, when empty).
	Model    registry.Model
	WireName string
	// BaseURL is the root the routes hang from: {BaseURL}/files,
	// {BaseURL}/batches (https://api.openai.com/v1,
	// https://r.openai.azure.com/openai/v1, or …/openai with APIVersion).
	BaseURL string
	// APIVersion, when set, is sent as the api-version query parameter.
	APIVersion string
	// Doer sends the requests with their credentials. It must not follow
	// redirects (see RefuseRedirects): a 3xx is refused, as for chat.
	Doer goopenai.HTTPDoer
	// Redact lists secrets that must never appear in errors or results;
	// the credentials each request carries are redacted too.
	Redact []string
	// MaxResponseBytes bounds a response body, and each line of an output
	// file (DefaultMaxResponseBytes when 0).
	MaxResponseBytes int64
	// LineURL is the "url" of every chat completions line
	// ("/v1/chat/completions"), Endpoint the "endpoint" of their jobs
	// ("/v1/chat/completions" for OpenAI, "/chat/completions" for Azure).
	LineURL, Endpoint string
	// ResponsesLineURL and ResponsesEndpoint are the same for requests
	// that go through the Responses API (llm.Request.UsesResponses):
	// "/v1/responses" for both when empty, as OpenAI's API reference and
	// Microsoft's batch how-to write them.
	ResponsesLineURL, ResponsesEndpoint string
	// NoResponses, when set, is why this service cannot send Responses
	// API lines (an Azure api-version that predates that API): such a
	// request gets a configuration error saying so.
	NoResponses string
	// Limits are the limits of one input file (OpenAI's when zero).
	Limits batch.Limits
	// DottedExpiry names the upload's expiry fields expires_after.seconds
	// and expires_after.anchor, as Microsoft's REST example does, rather
	// than OpenAI's expires_after[seconds].
	DottedExpiry bool
	// Cost prices the usage of one batch request; nil means half the
	// model's catalog price (the batch discount of OpenAI and Azure).
	Cost func(m registry.Model, u llm.Usage) float64
	// Hint returns advice for an error code (as Options.Hint); nil uses
	// generic advice.
	Hint func(code llm.Code, m registry.Model) string
	// JobHint returns advice for the code of a failed job's error
	// ("token_limit_exceeded", "invalid_request", …), replacing the
	// generic one when not "".
	JobHint func(code string) string
	// Rewrite, when set, is applied to every error the service returns
	// (the Azure provider restates them in Azure's terms).
	Rewrite func(*llm.Error) *llm.Error
}

// NewBatchService returns the batch.Service of cfg. The Azure provider
// builds its own with its URL family, api-version and authentication; the
// "openai" provider's BatchService uses it for api.openai.com.
func NewBatchService(cfg BatchConfig) (batch.Service, error) {
	name := cmp.Or(cfg.Name, ProviderName)
	base, err := normalizeBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, configError(name, cfg.Model.ID, err)
	}
	if cfg.Doer == nil {
		return nil, configError(name, cfg.Model.ID, errors.New("openai: BatchConfig.Doer is nil"))
	}
	if cfg.Model.APISpec == registry.APISpecEmbeddings {
		return nil, configError(name, cfg.Model.ID, fmt.Errorf("model %s is an embeddings model: deluge's batch jobs carry chat completions and Responses API requests, "+
			"not embeddings (Azure's batch API has none); compute them with llm.Client.Embed or EmbedSeq (deluge embed)", cfg.Model.ID))
	}
	s := &batchService{cfg: cfg, name: name, base: base, maxBody: limitOf(cfg.MaxResponseBytes)}
	s.wire = cmp.Or(cfg.WireName, defaultWireName(cfg.Model))
	if s.cfg.LineURL == "" {
		s.cfg.LineURL = "/v1/chat/completions"
	}
	if s.cfg.Endpoint == "" {
		s.cfg.Endpoint = s.cfg.LineURL
	}
	if s.cfg.ResponsesLineURL == "" {
		s.cfg.ResponsesLineURL = "/v1/responses"
	}
	if s.cfg.ResponsesEndpoint == "" {
		s.cfg.ResponsesEndpoint = s.cfg.ResponsesLineURL
	}
	if s.cfg.Limits.MaxLines <= 0 {
		s.cfg.Limits.MaxLines = OpenAIBatchMaxLines
	}
	if s.cfg.Limits.MaxBytes <= 0 {
		s.cfg.Limits.MaxBytes = OpenAIBatchMaxBytes
	}
	if s.cfg.Limits.MaxResultLineBytes <= 0 {
		s.cfg.Limits.MaxResultLineBytes = int(s.maxBody)
	}
	if s.cfg.Hint == nil {
		s.cfg.Hint = genericHint
	}
	s.redact = httpguard.Secrets(nil).Add(cfg.Redact...)
	// The chat parser is a method of Provider; this one only lends it
	// the name.
	s.parser = &Provider{name: name}
	return s, nil
}

// BatchService implements batch.Provider for OpenAI's Batch API (and a
// compatible server's): the model's endpoint and key, lines for
// /v1/chat/completions or /v1/responses (as a synchronous call of the
// request would go), OpenAI's limits, half the catalog price. Embeddings
// models are refused (see NewBatchService).
func (p *Provider) BatchService(m registry.Model, name string) (batch.Service, error) {
	ep, err := p.endpointFor(m)
	if err != nil {
		var le *llm.Error
		if errors.As(err, &le) {
			return nil, le
		}
		return nil, configError(p.name, m.ID, err)
	}
	key := cmp.Or(ep.key, p.apiKey)
	base := p.baseURL
	if m.APIBase != "" {
		if base, err = normalizeBaseURL(m.APIBase); err != nil {
			return nil, configError(p.name, m.ID, err)
		}
	}
	doer := p.base.HTTPClient
	if c, ok := doer.(*http.Client); ok || doer == nil {
		doer = RefuseRedirects(c)
	}
	return NewBatchService(BatchConfig{
		Name: p.name, Model: m, WireName: cmp.Or(name, p.wireName(m)), BaseURL: base,
		Doer:   bearerDoer{key: key, org: p.base.OrgID, next: doer},
		Redact: append(append([]string(nil), p.redact...), key), MaxResponseBytes: p.maxBody,
		Hint: p.hint,
	})
}

var _ batch.Provider = (*Provider)(nil)

// bearerDoer authenticates OpenAI requests.
type bearerDoer struct {
	key, org string
	next     goopenai.HTTPDoer
}

func (d bearerDoer) Do(req *http.Request) (*http.Response, error) {
	if d.key != "" {
		req.Header.Set("Authorization", "Bearer "+d.key)
	}
	if d.org != "" {
		req.Header.Set("OpenAI-Organization", d.org)
	}
	return d.next.Do(req)
}

// batchService implements batch.Service.
type batchService struct {
	cfg     BatchConfig
	name    string
	base    string
	wire    string
	maxBody int64
	redact  httpguard.Secrets
	parser  *Provider
}

var (
	_ batch.Service    = (*batchService)(nil)
	_ batch.Endpointer = (*batchService)(nil)
)

func (s *batchService) Name() string         { return s.wire }
func (s *batchService) Limits() batch.Limits { return s.cfg.Limits }

// Line writes {"custom_id","method":"POST","url","body"}: the keys of
// Microsoft's and OpenAI's input examples, the body byte for byte what a
// synchronous call sends — a chat completion, or a Responses API request
// when the request goes through that API (llm.Request.UsesResponses:
// the model's APISpec "responses", or llm.WithAPI(llm.APIResponses)).
func (s *batchService) Line(id string, req *llm.Request) ([]byte, error) {
	responses, le := s.api(req)
	if le != nil {
		return nil, le
	}
	url := s.cfg.LineURL
	var (
		body []byte
		err  error
	)
	if responses {
		url = s.cfg.ResponsesLineURL
		body, err = MarshalResponsesRequest(req, s.wire)
	} else {
		body, err = MarshalChatRequest(req, s.wire)
	}
	if err != nil {
		return nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: s.name, Model: req.Model.ID,
			Message: "cannot serialize the request: " + err.Error(), Err: err}
	}
	b := make([]byte, 0, len(body)+len(id)+len(url)+48)
	b = append(b, `{"custom_id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"method":"POST","url":`...)
	b = appendJSONString(b, url)
	b = append(b, `,"body":`...)
	b = append(b, body...)
	return append(b, '}'), nil
}

// api reports whether req's line goes to the Responses API, or why it
// cannot be sent, as the synchronous path decides it.
func (s *batchService) api(req *llm.Request) (responses bool, le *llm.Error) {
	if req.Model.APISpec == registry.APISpecEmbeddings {
		return false, s.parser.embeddingsModelError(req.Model)
	}
	if !req.UsesResponses() {
		if req.Model.APISpec == registry.APISpecResponses {
			return false, &llm.Error{Code: llm.CodeInvalidRequest, Provider: s.name, Model: req.Model.ID,
				Message: "model " + req.Model.ID + " is served only by the Responses API: leave out llm.WithAPI(llm.APIChat)"}
		}
		return false, nil
	}
	if s.cfg.NoResponses != "" {
		return true, configError(s.name, req.Model.ID, errors.New(s.cfg.NoResponses))
	}
	return true, nil
}

// Endpoint implements batch.Endpointer: the Responses API's endpoint for
// a request that goes there, else "" for the default one, chat
// completions (as the parts of a State written before the Responses API
// record it).
func (s *batchService) Endpoint(req *llm.Request) string {
	if req.UsesResponses() {
		return s.cfg.ResponsesEndpoint
	}
	return ""
}

// appendJSONString appends s as a JSON string, escaped as json.Marshal
// escapes the bodies.
func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// url builds the URL of a route.
func (s *batchService) url(path string, q url.Values) string {
	if s.cfg.APIVersion != "" {
		if q == nil {
			q = url.Values{}
		}
		q.Set("api-version", s.cfg.APIVersion)
	}
	u := s.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// call is one request of the service and what it learned: the status,
// headers and credentials of the reply, for errors and redaction.
type call struct {
	s      *batchService
	status int
	header http.Header
	creds  [2]string
}

// secrets are the strings this call must not let out.
func (k *call) secrets() secrets {
	return secrets{httpguard.Secrets(nil).Add(k.s.redact...).Add(k.creds[:]...)}
}

// do sends a request and returns a 2xx response, or the error for any
// other outcome, classified and redacted.
func (k *call) do(ctx context.Context, method, u string, body io.Reader, size int64, contentType string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, k.fail(ctx, fmt.Errorf("building the request: %w", err))
	}
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.s.cfg.Doer.Do(req)
	var st callState
	st.recordCreds(req.Header)
	k.creds = st.creds
	if err != nil {
		return nil, k.fail(ctx, err)
	}
	k.status, k.header = resp.StatusCode, resp.Header
	if rerr := checkRedirect(req, resp); rerr != nil {
		resp.Body.Close()
		return nil, k.fail(ctx, rerr)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	limit := min(int64(maxErrorBody), k.s.maxBody)
	errBody, _ := io.ReadAll(io.LimitReader(resp.Body, limit))
	return nil, k.httpError(resp.StatusCode, resp.Header, errBody)
}

// httpError classifies an error response. Beyond the chat codes it knows
// those of the files and batch routes: a full enqueued-token quota, a full
// file quota, a file too large.
func (k *call) httpError(status int, header http.Header, body []byte) error {
	s := k.s
	e := &llm.Error{Provider: s.name, Model: s.cfg.Model.ID}
	var apiErr *goopenai.APIError
	var resp goopenai.ErrorResponse
	if json.Unmarshal(body, &resp) == nil && resp.Error != nil {
		apiErr = resp.Error
		apiErr.HTTPStatusCode = status
		e.Err = apiErr
	} else {
		e.Err = &goopenai.RequestError{HTTPStatusCode: status, HTTPStatus: strconv.Itoa(status) + " " + http.StatusText(status), Body: body}
	}
	fillHTTP(e, status, header, body, apiErr, s.cfg.Hint, s.cfg.Model)
	f := parseFailure(status, header, body, apiErr)
	switch code := strings.ToLower(f.Code); {
	case code == "token_limit_exceeded":
		e.Code = llm.CodeQuotaExceeded
		e.Message = fmt.Sprintf("the enqueued-token quota of %s is full: %s; %s", s.wire, strings.TrimRight(f.Message, ". "), s.jobHint("token_limit_exceeded"))
	case code == "quotaexceeded" || code == "quota_exceeded":
		e.Code = llm.CodeQuotaExceeded
		e.Message = f.Message + " Delete files you no longer need, or upload with an expiry (batch.WithFileExpiry, deluge batch submit --expires-after 336h): files with one have a higher limit."
	case strings.Contains(strings.ToLower(f.Message), "too large") && status == http.StatusBadRequest:
		e.Message = f.Message + fmt.Sprintf(" The input file was refused as too large (this service splits files at %d bytes): lower the size with batch.WithFileLimits.", s.cfg.Limits.MaxBytes)
	}
	return k.finish(e)
}

// fail classifies a request that got no usable response.
func (k *call) fail(ctx context.Context, err error) error {
	s := k.s
	e := &llm.Error{Provider: s.name, Model: s.cfg.Model.ID, Err: err, StatusCode: k.status}
	var redir *redirectError
	switch {
	case errors.As(err, &redir):
		e.Code = llm.CodeConfiguration
		e.StatusCode = redir.Status
		e.Message = redir.Message()
	case ctx.Err() != nil:
		httpguard.ContextFailure(e, ctx.Err(), err)
	default:
		httpguard.NetworkFailure(e, err)
	}
	return k.finish(e)
}

// finish redacts an error and lets the provider restate it.
func (k *call) finish(e *llm.Error) error {
	if e.RequestID == "" && k.header != nil {
		e.RequestID = requestID(k.header)
	}
	k.secrets().cleanError(e)
	if k.s.cfg.Rewrite != nil {
		e = k.s.cfg.Rewrite(e)
	}
	return e
}

// getJSON sends a request whose reply is one JSON document and returns
// the document, bounded by MaxResponseBytes.
func (s *batchService) getJSON(ctx context.Context, method, u string, body []byte) ([]byte, *call, error) {
	k := &call{s: s}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	resp, err := k.do(ctx, method, u, r, int64(len(body)), "application/json")
	if err != nil {
		return nil, k, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, s.maxBody+1))
	if err != nil {
		return nil, k, k.fail(ctx, err)
	}
	if int64(len(data)) > s.maxBody {
		e := &llm.Error{Code: llm.CodeConfiguration, Provider: s.name, Model: s.cfg.Model.ID, StatusCode: resp.StatusCode,
			Err: &tooLargeError{Limit: s.maxBody, What: "reply body"}}
		e.Message = e.Err.(*tooLargeError).Message()
		return nil, k, k.finish(e)
	}
	return data, k, nil
}

// decodeError is the error for a 2xx reply that is not the document the
// route returns.
func (k *call) decodeError(err error) error {
	e := &llm.Error{Code: llm.CodeUnknown, Provider: k.s.name, Model: k.s.cfg.Model.ID, StatusCode: k.status, Err: err,
		Message: "cannot decode the server's reply (is the base URL an OpenAI-compatible API with files and batches?): " + err.Error()}
	return k.finish(e)
}

// UploadFile streams the file in a multipart/form-data body of known
// length: purpose, the optional expiry, then the file, as Microsoft's
// REST example sends them.
func (s *batchService) UploadFile(ctx context.Context, f batch.Upload) (batch.File, error) {
	var head, tail bytes.Buffer
	sw := &switchWriter{w: &head}
	mw := multipart.NewWriter(sw)
	mw.WriteField("purpose", "batch")
	if f.ExpiresAfter > 0 {
		anchor, seconds := "expires_after[anchor]", "expires_after[seconds]"
		if s.cfg.DottedExpiry {
			anchor, seconds = "expires_after.anchor", "expires_after.seconds"
		}
		mw.WriteField(anchor, "created_at")
		mw.WriteField(seconds, strconv.FormatInt(int64(f.ExpiresAfter/time.Second), 10))
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, f.Name))
	h.Set("Content-Type", "application/json")
	if _, err := mw.CreatePart(h); err != nil {
		return batch.File{}, err
	}
	sw.w = &tail
	mw.Close()
	body := io.MultiReader(bytes.NewReader(head.Bytes()), io.LimitReader(f.Content, f.Size), bytes.NewReader(tail.Bytes()))
	size := int64(head.Len()) + f.Size + int64(tail.Len())
	k := &call{s: s}
	resp, err := k.do(ctx, http.MethodPost, s.url("/files", nil), body, size, mw.FormDataContentType())
	if err != nil {
		return batch.File{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, s.maxBody))
	if err != nil {
		return batch.File{}, k.fail(ctx, err)
	}
	file, err := DecodeFile(data)
	if err != nil {
		return batch.File{}, k.decodeError(err)
	}
	return k.cleanFile(file), nil
}

// switchWriter lets the multipart writer's output go to one buffer, then
// another.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

func (k *call) cleanFile(f batch.File) batch.File {
	sec := k.secrets()
	f.ID, f.Filename, f.Purpose, f.Status = sec.id(f.ID), sec.id(f.Filename), sec.id(f.Purpose), sec.id(f.Status)
	f.StatusDetails = printable(sec.clean(f.StatusDetails), httpguard.MaxMessageLen)
	return f
}

func (k *call) cleanJob(j batch.Job) batch.Job {
	sec := k.secrets()
	j.ID, j.Endpoint, j.CompletionWindow = sec.id(j.ID), sec.id(j.Endpoint), sec.id(j.CompletionWindow)
	j.Status = batch.Status(sec.id(string(j.Status)))
	j.InputFileID, j.OutputFileID, j.ErrorFileID = sec.id(j.InputFileID), sec.id(j.OutputFileID), sec.id(j.ErrorFileID)
	for i := range j.Errors {
		e := &j.Errors[i]
		e.Code, e.Param = sec.id(e.Code), sec.id(e.Param)
		e.Message = printable(sec.clean(e.Message), httpguard.MaxMessageLen)
	}
	for key, v := range j.Metadata {
		j.Metadata[key] = sec.id(v)
	}
	return j
}

// File returns a file's metadata.
func (s *batchService) File(ctx context.Context, id string) (batch.File, error) {
	data, k, err := s.getJSON(ctx, http.MethodGet, s.url("/files/"+url.PathEscape(id), nil), nil)
	if err != nil {
		return batch.File{}, err
	}
	f, err := DecodeFile(data)
	if err != nil {
		return batch.File{}, k.decodeError(err)
	}
	return k.cleanFile(f), nil
}

// Files lists files, newest first.
func (s *batchService) Files(ctx context.Context, o batch.ListOptions) (batch.Page[batch.File], error) {
	q := url.Values{}
	if o.Purpose != "" {
		q.Set("purpose", o.Purpose)
	}
	if o.After != "" {
		q.Set("after", o.After)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	q.Set("order", "desc")
	data, k, err := s.getJSON(ctx, http.MethodGet, s.url("/files", q), nil)
	if err != nil {
		return batch.Page[batch.File]{}, err
	}
	page, err := decodeFiles(data)
	if err != nil {
		return page, k.decodeError(err)
	}
	for i := range page.Data {
		page.Data[i] = k.cleanFile(page.Data[i])
	}
	return page, nil
}

// FileContent streams a file. The body is the caller's to close; the
// caller bounds what it reads (batch.Limits.MaxResultLineBytes per line).
func (s *batchService) FileContent(ctx context.Context, id string) (io.ReadCloser, error) {
	k := &call{s: s}
	resp, err := k.do(ctx, http.MethodGet, s.url("/files/"+url.PathEscape(id)+"/content", nil), nil, 0, "")
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// DeleteFile deletes a file.
func (s *batchService) DeleteFile(ctx context.Context, id string) error {
	_, _, err := s.getJSON(ctx, http.MethodDelete, s.url("/files/"+url.PathEscape(id), nil), nil)
	return err
}

// CreateJob creates a job on the file, with the endpoint of its lines
// (the chat one unless p names another) and a 24-hour window.
func (s *batchService) CreateJob(ctx context.Context, p batch.JobParams) (batch.Job, error) {
	type expiry struct {
		Anchor  string `json:"anchor"`
		Seconds int64  `json:"seconds"`
	}
	body := struct {
		InputFileID        string            `json:"input_file_id"`
		Endpoint           string            `json:"endpoint"`
		CompletionWindow   string            `json:"completion_window"`
		Metadata           map[string]string `json:"metadata,omitempty"`
		OutputExpiresAfter *expiry           `json:"output_expires_after,omitempty"`
	}{InputFileID: p.InputFileID, Endpoint: cmp.Or(p.Endpoint, s.cfg.Endpoint), CompletionWindow: batch.CompletionWindow, Metadata: p.Metadata}
	if p.OutputExpiresAfter > 0 {
		body.OutputExpiresAfter = &expiry{Anchor: "created_at", Seconds: int64(p.OutputExpiresAfter / time.Second)}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return batch.Job{}, err
	}
	return s.jobCall(ctx, http.MethodPost, s.url("/batches", nil), b)
}

func (s *batchService) jobCall(ctx context.Context, method, u string, body []byte) (batch.Job, error) {
	data, k, err := s.getJSON(ctx, method, u, body)
	if err != nil {
		return batch.Job{}, err
	}
	j, err := DecodeBatchJob(data)
	if err != nil {
		return batch.Job{}, k.decodeError(err)
	}
	return k.cleanJob(j), nil
}

// Job returns a job.
func (s *batchService) Job(ctx context.Context, id string) (batch.Job, error) {
	return s.jobCall(ctx, http.MethodGet, s.url("/batches/"+url.PathEscape(id), nil), nil)
}

// CancelJob cancels a job.
func (s *batchService) CancelJob(ctx context.Context, id string) (batch.Job, error) {
	return s.jobCall(ctx, http.MethodPost, s.url("/batches/"+url.PathEscape(id)+"/cancel", nil), nil)
}

// Jobs lists jobs, newest first.
func (s *batchService) Jobs(ctx context.Context, o batch.ListOptions) (batch.Page[batch.Job], error) {
	q := url.Values{}
	if o.After != "" {
		q.Set("after", o.After)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(min(o.Limit, 100)))
	}
	data, k, err := s.getJSON(ctx, http.MethodGet, s.url("/batches", q), nil)
	if err != nil {
		return batch.Page[batch.Job]{}, err
	}
	page, err := DecodeBatchJobs(data)
	if err != nil {
		return page, k.decodeError(err)
	}
	for i := range page.Data {
		page.Data[i] = k.cleanJob(page.Data[i])
	}
	return page, nil
}

// jobHint is the advice for a failed job's error code.
func (s *batchService) jobHint(code string) string {
	if s.cfg.JobHint != nil {
		if h := s.cfg.JobHint(code); h != "" {
			return h
		}
	}
	return genericJobHint(code)
}
