package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/deluge-go/deluge/batch"
)

// The batch and file objects, decoded tolerantly. Azure has shown each of
// these in its documentation (fixtures/azure/aoai_batch_*, SOURCES.md):
// integer or ISO-8601 string timestamps, "Validating" capitalised, "" or
// null for absent file ids, a null endpoint, null request counts, errors
// as {"object":"list","data":[…]}. Anything absent reads as zero; a value
// of an unexpected shape is ignored rather than failing the whole object,
// except the id and status a client cannot do without.

// flexTime is a timestamp: unix seconds (integer or float), a numeric
// string, an ISO-8601 string, or null.
type flexTime time.Time

func (t *flexTime) UnmarshalJSON(b []byte) error {
	*t = flexTime(parseFlexTime(b))
	return nil
}

func parseFlexTime(b []byte) time.Time {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return time.Time{}
	}
	if b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return time.Time{}
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return time.Time{}
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC()
		}
		b = []byte(s)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 1e11 {
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// flexInt is a count: a number, a numeric string, or null.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) == nil {
			b = []byte(strings.TrimSpace(s))
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f < 0 || f > math.MaxInt32*1024 || math.IsNaN(f) {
		*n = 0
		return nil
	}
	*n = flexInt(f)
	return nil
}

// flexString is a string, or null, or a number kept as written.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
	case b[0] == '{' || b[0] == '[':
		*s = ""
	default:
		*s = flexString(b)
	}
	return nil
}

// wireFile is a file object (aoai_file_upload_purpose_batch.doc.json).
type wireFile struct {
	ID            flexString `json:"id"`
	Filename      flexString `json:"filename"`
	Purpose       flexString `json:"purpose"`
	Status        flexString `json:"status"`
	StatusDetails flexString `json:"status_details"`
	Bytes         flexInt    `json:"bytes"`
	CreatedAt     flexTime   `json:"created_at"`
	ExpiresAt     flexTime   `json:"expires_at"`
}

func (w *wireFile) file() batch.File {
	return batch.File{
		ID: string(w.ID), Filename: string(w.Filename), Purpose: string(w.Purpose),
		Status: strings.ToLower(string(w.Status)), StatusDetails: string(w.StatusDetails),
		Bytes: int64(w.Bytes), CreatedAt: time.Time(w.CreatedAt), ExpiresAt: time.Time(w.ExpiresAt),
	}
}

// wireJob is a batch object (aoai_batch_create_validating*.doc.json).
type wireJob struct {
	ID               flexString `json:"id"`
	Status           flexString `json:"status"`
	Endpoint         flexString `json:"endpoint"`
	InputFileID      flexString `json:"input_file_id"`
	OutputFileID     flexString `json:"output_file_id"`
	ErrorFileID      flexString `json:"error_file_id"`
	CompletionWindow flexString `json:"completion_window"`
	RequestCounts    *struct {
		Total     flexInt `json:"total"`
		Completed flexInt `json:"completed"`
		Failed    flexInt `json:"failed"`
	} `json:"request_counts"`
	Errors   wireJobErrors   `json:"errors"`
	Metadata json.RawMessage `json:"metadata"`

	CreatedAt    flexTime `json:"created_at"`
	InProgressAt flexTime `json:"in_progress_at"`
	FinalizingAt flexTime `json:"finalizing_at"`
	CompletedAt  flexTime `json:"completed_at"`
	FailedAt     flexTime `json:"failed_at"`
	ExpiredAt    flexTime `json:"expired_at"`
	ExpiresAt    flexTime `json:"expires_at"`
	CancellingAt flexTime `json:"cancelling_at"`
	CancelledAt  flexTime `json:"cancelled_at"`
}

func (w *wireJob) job() batch.Job {
	j := batch.Job{
		ID: string(w.ID), Status: batch.ParseStatus(string(w.Status)), Endpoint: string(w.Endpoint),
		InputFileID: string(w.InputFileID), OutputFileID: string(w.OutputFileID), ErrorFileID: string(w.ErrorFileID),
		CompletionWindow: string(w.CompletionWindow), Errors: []batch.JobError(w.Errors),
		Metadata:  metadata(w.Metadata),
		CreatedAt: time.Time(w.CreatedAt), InProgressAt: time.Time(w.InProgressAt), FinalizingAt: time.Time(w.FinalizingAt),
		CompletedAt: time.Time(w.CompletedAt), FailedAt: time.Time(w.FailedAt), ExpiredAt: time.Time(w.ExpiredAt),
		ExpiresAt: time.Time(w.ExpiresAt), CancellingAt: time.Time(w.CancellingAt), CancelledAt: time.Time(w.CancelledAt),
	}
	if c := w.RequestCounts; c != nil {
		j.Counts = batch.Counts{Total: int(c.Total), Completed: int(c.Completed), Failed: int(c.Failed)}
	}
	return j
}

// metadata reads a metadata object; values that are not strings are kept
// as their JSON text.
func metadata(raw json.RawMessage) map[string]string {
	var m map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
		} else {
			out[k] = string(v)
		}
	}
	return out
}

// wireJobErrors is a job's error list: {"object":"list","data":[…]}, or
// a bare array, or null.
type wireJobErrors []batch.JobError

func (e *wireJobErrors) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	var entries []json.RawMessage
	switch {
	case len(b) == 0 || string(b) == "null":
		*e = nil
		return nil
	case b[0] == '[':
		if err := json.Unmarshal(b, &entries); err != nil {
			return nil
		}
	case b[0] == '{':
		var list struct {
			Data []json.RawMessage `json:"data"`
		}
		if json.Unmarshal(b, &list) != nil {
			return nil
		}
		entries = list.Data
	}
	out := make(wireJobErrors, 0, len(entries))
	for _, raw := range entries {
		var w struct {
			Code    flexString `json:"code"`
			Message flexString `json:"message"`
			Param   flexString `json:"param"`
			Line    flexInt    `json:"line"`
		}
		if json.Unmarshal(raw, &w) != nil {
			continue
		}
		out = append(out, batch.JobError{Code: string(w.Code), Message: string(w.Message), Param: string(w.Param), Line: int(w.Line)})
	}
	if len(out) == 0 {
		out = nil
	}
	*e = out
	return nil
}

// wirePage is a list page: {"object":"list","data":[…],"first_id",
// "last_id","has_more"} (the classic batches page has no "object").
type wirePage[T any] struct {
	Data    []T        `json:"data"`
	HasMore bool       `json:"has_more"`
	LastID  flexString `json:"last_id"`
}

// DecodeBatchJob decodes a batch object as Azure or OpenAI sends it, with
// the tolerance described in docs/batch.md: integer or ISO-8601
// timestamps, any case of status, "" or null file ids, null endpoint and
// counts. It fails only on a document that is not a JSON object with an
// id.
func DecodeBatchJob(data []byte) (batch.Job, error) {
	var w wireJob
	if err := json.Unmarshal(data, &w); err != nil {
		return batch.Job{}, fmt.Errorf("decoding a batch object: %w", err)
	}
	if w.ID == "" {
		return batch.Job{}, fmt.Errorf("decoding a batch object: it has no id")
	}
	return w.job(), nil
}

// DecodeBatchJobs decodes a page of batch objects.
func DecodeBatchJobs(data []byte) (batch.Page[batch.Job], error) {
	var w wirePage[wireJob]
	if err := json.Unmarshal(data, &w); err != nil {
		return batch.Page[batch.Job]{}, fmt.Errorf("decoding a list of batch objects: %w", err)
	}
	page := batch.Page[batch.Job]{HasMore: w.HasMore, LastID: string(w.LastID), Data: make([]batch.Job, 0, len(w.Data))}
	for i := range w.Data {
		page.Data = append(page.Data, w.Data[i].job())
	}
	if page.LastID == "" && len(page.Data) > 0 {
		page.LastID = page.Data[len(page.Data)-1].ID
	}
	return page, nil
}

// DecodeFile decodes a file object.
func DecodeFile(data []byte) (batch.File, error) {
	var w wireFile
	if err := json.Unmarshal(data, &w); err != nil {
		return batch.File{}, fmt.Errorf("decoding a file object: %w", err)
	}
	if w.ID == "" {
		return batch.File{}, fmt.Errorf("decoding a file object: it has no id")
	}
	return w.file(), nil
}

// decodeFiles decodes a page of file objects.
func decodeFiles(data []byte) (batch.Page[batch.File], error) {
	var w wirePage[wireFile]
	if err := json.Unmarshal(data, &w); err != nil {
		return batch.Page[batch.File]{}, fmt.Errorf("decoding a list of files: %w", err)
	}
	page := batch.Page[batch.File]{HasMore: w.HasMore, LastID: string(w.LastID), Data: make([]batch.File, 0, len(w.Data))}
	for i := range w.Data {
		page.Data = append(page.Data, w.Data[i].file())
	}
	if page.LastID == "" && len(page.Data) > 0 {
		page.LastID = page.Data[len(page.Data)-1].ID
	}
	return page, nil
}
