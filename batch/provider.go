package batch

import (
	"context"
	"io"
	"time"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// Provider is the optional interface of an [llm.Provider] that runs batch
// jobs. The [Client] finds it by type assertion on the provider serving a
// model ([llm.Client.ModelProvider]), as [database/sql] finds a driver's
// optional interfaces; a provider without it cannot take batch jobs, and
// its prompts go through [llm.Client.Process] instead.
type Provider interface {
	// BatchService returns the files and batch jobs API of the endpoint
	// serving model m. name, when not empty, is the model name to put in
	// the input lines (an Azure deployment) instead of the one the
	// provider would send for m. It does no network I/O; a configuration
	// that cannot work (no batch API for this model or endpoint) is an
	// [*llm.Error] with [llm.CodeConfiguration].
	BatchService(m registry.Model, name string) (Service, error)
}

// Service is one endpoint's files and batch jobs API, bound to one model:
// the wire only. It sends one request per call and never retries, sleeps
// or polls (the [Client] does). Errors are [*llm.Error], with server strings
// redacted of credentials as for a chat call. A Service must be safe for
// concurrent use.
type Service interface {
	// Name returns the model name the input lines carry (for Azure, the
	// batch deployment).
	Name() string
	// Limits returns the limits of one input file.
	Limits() Limits
	// Line returns one line of an input file, without its line end: the
	// request the provider would send synchronously for req, serialized
	// by the provider's own serializer, with custom_id set to id. A
	// request that cannot be sent is an *llm.Error: CodeInvalidRequest
	// for the request's own fault (its input is rejected),
	// CodeConfiguration for the service's (the submission stops).
	Line(id string, req *llm.Request) ([]byte, error)

	// UploadFile uploads an input file with purpose "batch".
	UploadFile(ctx context.Context, f Upload) (File, error)
	// File returns a file's metadata.
	File(ctx context.Context, id string) (File, error)
	// Files returns a page of the files, newest first.
	Files(ctx context.Context, o ListOptions) (Page[File], error)
	// FileContent streams a file's content; the caller closes it.
	FileContent(ctx context.Context, id string) (io.ReadCloser, error)
	// DeleteFile deletes a file.
	DeleteFile(ctx context.Context, id string) error

	// CreateJob creates a batch job on an uploaded input file, with a
	// completion window of 24 hours.
	CreateJob(ctx context.Context, p JobParams) (Job, error)
	// Job returns a batch job.
	Job(ctx context.Context, id string) (Job, error)
	// Jobs returns a page of the batch jobs, newest first.
	Jobs(ctx context.Context, o ListOptions) (Page[Job], error)
	// CancelJob asks for a job to be cancelled and returns it.
	CancelJob(ctx context.Context, id string) (Job, error)

	// Result decodes one line of a job's output or error file: the
	// custom_id and either the response, priced at the batch rate and
	// with the provider's content-filter annotations, or the request's
	// error (an [*llm.Error]; lines a job never ran wrap [ErrNotRun]). The
	// error is for a line that cannot be decoded at all. A Service whose
	// lines go to several endpoints ([Endpointer]) tells their replies
	// apart itself.
	Result(line []byte) (LineResult, error)
	// JobError turns an entry of a failed job's error list into the
	// [*llm.Error] its inputs get, with advice on what to fix.
	JobError(e JobError) *llm.Error
}

// Endpointer is an optional interface of a [Service] whose lines go to
// more than one of the provider's endpoints — OpenAI's and Azure's chat
// completions and Responses API, chosen per request as a synchronous call
// chooses ([llm.Request.UsesResponses]). An input file holds the lines of
// one endpoint (a file whose lines name several fails with url_mismatch):
// the [Client] builds one file per model and endpoint, records the
// endpoint in [Part.Endpoint] and creates the part's job with it
// ([JobParams.Endpoint]). A Service without it has one endpoint.
type Endpointer interface {
	// Endpoint returns the endpoint of req's line, as the provider names
	// it when it creates a job ("/v1/responses"); "" is the Service's
	// default. It is called after Line accepted req.
	Endpoint(req *llm.Request) string
}

// Limits are the limits of one input file.
type Limits struct {
	// MaxLines is the most requests a file may hold (Azure: 100,000).
	MaxLines int
	// MaxBytes is the largest a file may be (Azure: 200 MB).
	MaxBytes int64
	// MaxResultLineBytes bounds one line of an output or error file.
	MaxResultLineBytes int
}

// Upload is an input file to upload.
type Upload struct {
	// Name is the file name the provider records; the [Client] uses it to
	// find an upload whose reply was lost.
	Name string
	// Content holds Size bytes.
	Content io.Reader
	Size    int64
	// ExpiresAfter, when positive, asks the provider to delete the file
	// that long after its upload (Azure: 14 to 30 days).
	ExpiresAfter time.Duration
}

// JobParams create a batch job.
type JobParams struct {
	// InputFileID is the uploaded file of the job's requests.
	InputFileID string
	// Endpoint is the endpoint of the file's lines ([Endpointer]); ""
	// is the Service's default.
	Endpoint string
	// OutputExpiresAfter, when positive, asks for the output and error
	// files to be deleted that long after the job is created.
	OutputExpiresAfter time.Duration
	// Metadata is attached to the job (at most 16 pairs).
	Metadata map[string]string
}

// ListOptions select a page of a list.
type ListOptions struct {
	// After is the ID of the last item of the previous page.
	After string
	// Limit is the page size; 0 means the provider's default.
	Limit int
	// Purpose selects files of one purpose ("batch", "batch_output").
	Purpose string
}

// Page is one page of a list.
type Page[T any] struct {
	Data    []T  // the page's items
	HasMore bool // whether another page follows
	// LastID is the ID to pass as ListOptions.After for the next page.
	LastID string
}

// LineResult is one decoded line of an output or error file.
type LineResult struct {
	// ID is the line's custom_id.
	ID string
	// Response is set when the request succeeded, Err otherwise.
	Response *llm.Response
	Err      error
}
