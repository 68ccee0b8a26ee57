package batch

import (
	"errors"
	"strings"
	"time"
)

// CompletionWindow is the only completion window Azure and OpenAI accept:
// "If you set any other value than 24h your job will fail" (Microsoft
// Learn, batch how-to).
const CompletionWindow = "24h"

// Status is a batch job's status.
type Status string

// Statuses of a batch job (Microsoft Learn, batch how-to, "Batch object").
const (
	StatusValidating Status = "validating"
	StatusFailed     Status = "failed"
	StatusInProgress Status = "in_progress"
	StatusFinalizing Status = "finalizing"
	StatusCompleted  Status = "completed"
	StatusExpired    Status = "expired"
	StatusCancelling Status = "cancelling"
	StatusCancelled  Status = "cancelled"
)

// ParseStatus reads a status as a server writes it: case is ignored
// ("Validating" in an older Azure example) and "canceled" is "cancelled".
func ParseStatus(s string) Status {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "canceled":
		return StatusCancelled
	case "canceling":
		return StatusCancelling
	}
	return Status(s)
}

// Terminal reports whether a job with this status will not change again:
// failed, completed, expired or cancelled.
func (s Status) Terminal() bool {
	switch s {
	case StatusFailed, StatusCompleted, StatusExpired, StatusCancelled:
		return true
	}
	return false
}

// Job is a batch job as the provider reports it. Absent values (null, "")
// are zero.
type Job struct {
	ID     string `json:"id"`     // the provider's job ID
	Status Status `json:"status"` // where the job is in its life
	// Endpoint is the route the job's lines call ("/chat/completions").
	Endpoint string `json:"endpoint,omitempty"`
	// InputFileID is the file of the job's requests; OutputFileID and
	// ErrorFileID, once the job has ended, those of its successes and of
	// its failed requests ("" when there is none).
	InputFileID  string `json:"input_file_id,omitempty"`
	OutputFileID string `json:"output_file_id,omitempty"`
	ErrorFileID  string `json:"error_file_id,omitempty"`
	// CompletionWindow is the time the provider has to run the job ("24h").
	CompletionWindow string `json:"completion_window,omitempty"`
	Counts           Counts `json:"request_counts"`
	// Errors lists why a job failed (validation).
	Errors []JobError `json:"errors,omitempty"`
	// Metadata is what the job was created with (JobParams.Metadata).
	Metadata map[string]string `json:"metadata,omitempty"`

	// When the job was created and entered each status; ExpiresAt is when
	// an unfinished job expires.
	CreatedAt    time.Time `json:"created_at,omitzero"`
	InProgressAt time.Time `json:"in_progress_at,omitzero"`
	FinalizingAt time.Time `json:"finalizing_at,omitzero"`
	CompletedAt  time.Time `json:"completed_at,omitzero"`
	FailedAt     time.Time `json:"failed_at,omitzero"`
	ExpiredAt    time.Time `json:"expired_at,omitzero"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
	CancellingAt time.Time `json:"cancelling_at,omitzero"`
	CancelledAt  time.Time `json:"cancelled_at,omitzero"`
}

// Counts are a job's request counts: requests in all, answered with a
// success, answered with an error. Requests a cancelled or expired job did
// not run are in neither Completed nor Failed.
type Counts struct {
	Total     int `json:"total"`     // requests in the job
	Completed int `json:"completed"` // answered with a success
	Failed    int `json:"failed"`    // answered with an error
}

// Add returns the sum of two counts.
func (c Counts) Add(d Counts) Counts {
	return Counts{Total: c.Total + d.Total, Completed: c.Completed + d.Completed, Failed: c.Failed + d.Failed}
}

// JobError is one entry of a failed job's error list.
type JobError struct {
	Code    string `json:"code"`            // the provider's error code
	Message string `json:"message"`         // its explanation
	Param   string `json:"param,omitempty"` // the parameter at fault, when named
	// Line is the 1-based line of the input file at fault; 0 when the
	// error concerns the whole file.
	Line int `json:"line,omitempty"`
}

// File is a file stored by the provider.
type File struct {
	ID       string `json:"id"`       // the provider's file ID
	Filename string `json:"filename"` // the name it was uploaded under
	Purpose  string `json:"purpose"`  // "batch", "batch_output", …
	// Status is "uploaded", "pending", "running", "processed", "error",
	// "deleting" or "deleted" (Azure), or "" when not reported.
	Status        string    `json:"status,omitempty"`
	StatusDetails string    `json:"status_details,omitempty"`
	Bytes         int64     `json:"bytes"`
	CreatedAt     time.Time `json:"created_at,omitzero"`
	ExpiresAt     time.Time `json:"expires_at,omitzero"`
}

// File statuses the Client acts on.
const (
	FileProcessed = "processed"
	FileError     = "error"
)

// Errors of the package, for errors.Is.
var (
	// ErrNotRun marks the result of an input whose request never ran: its
	// job expired, was cancelled or failed before reaching it, or it was
	// never submitted. Sending it again (with [Client.Submit] or
	// [llm.Client.Process]) is the way to get its answer.
	ErrNotRun = errors.New("batch: the request did not run")
	// ErrNoBatchAPI is the cause of the error for a model whose provider
	// does not implement [Provider].
	ErrNoBatchAPI = errors.New("batch: the provider has no batch API")
	// ErrInputChanged is returned by [Client.Submit] resuming a submission
	// whose input no longer yields the lines it uploaded.
	ErrInputChanged = errors.New("batch: the input changed since it was submitted")
	// ErrNotFinished is returned by [Client.Collect] for a part whose job
	// has not ended.
	ErrNotFinished = errors.New("batch: the job has not finished")
)
