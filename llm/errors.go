package llm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Code classifies an [Error]. The string form is stable and is what the CLI
// writes in result files.
type Code string

// Error codes. Each has a sentinel error ([ErrAuthentication], …) that an
// *Error with that code matches under [errors.Is].
const (
	CodeUnknown          Code = "unknown"
	CodeAuthentication   Code = "authentication"
	CodePermissionDenied Code = "permission_denied"
	CodeNotFound         Code = "not_found"
	CodeRateLimited      Code = "rate_limited"
	CodeQuotaExceeded    Code = "quota_exceeded"
	CodeContentFiltered  Code = "content_filtered"
	CodeContextLength    Code = "context_length"
	CodeInvalidRequest   Code = "invalid_request"
	CodeUnavailable      Code = "unavailable"
	CodeTimeout          Code = "timeout"
	CodeCanceled         Code = "canceled"
	// CodeConfiguration is a problem with the client's own configuration
	// (an invalid endpoint, API version or region weights, an endpoint that
	// redirects): no retry can fix it; the message names what to change.
	CodeConfiguration Code = "configuration"
)

// Sentinel errors, one per code, for [errors.Is].
var (
	ErrAuthentication   = errors.New("llm: authentication failed")
	ErrPermissionDenied = errors.New("llm: permission denied")
	ErrNotFound         = errors.New("llm: model or deployment not found")
	ErrRateLimited      = errors.New("llm: rate limited")
	ErrQuotaExceeded    = errors.New("llm: quota exceeded")
	ErrContentFiltered  = errors.New("llm: content filtered")
	ErrContextLength    = errors.New("llm: context length exceeded")
	ErrInvalidRequest   = errors.New("llm: invalid request")
	ErrUnavailable      = errors.New("llm: service unavailable")
	ErrTimeout          = errors.New("llm: request timed out")
	ErrCanceled         = errors.New("llm: canceled")
	ErrUnknown          = errors.New("llm: unknown error")
	ErrConfiguration    = errors.New("llm: invalid configuration")
)

var sentinels = map[Code]error{
	CodeAuthentication:   ErrAuthentication,
	CodePermissionDenied: ErrPermissionDenied,
	CodeNotFound:         ErrNotFound,
	CodeRateLimited:      ErrRateLimited,
	CodeQuotaExceeded:    ErrQuotaExceeded,
	CodeContentFiltered:  ErrContentFiltered,
	CodeContextLength:    ErrContextLength,
	CodeInvalidRequest:   ErrInvalidRequest,
	CodeUnavailable:      ErrUnavailable,
	CodeTimeout:          ErrTimeout,
	CodeCanceled:         ErrCanceled,
	CodeUnknown:          ErrUnknown,
	CodeConfiguration:    ErrConfiguration,
}

// Sentinel returns the sentinel error for c ([ErrUnknown] for unknown codes).
func (c Code) Sentinel() error {
	if s, ok := sentinels[c]; ok {
		return s
	}
	return ErrUnknown
}

// Retryable reports whether an error of this code may succeed if sent again:
// rate limits, timeouts and unavailability. Quota exhaustion is not
// retryable on the same target (it lasts hours) but may fail over.
func (c Code) Retryable() bool {
	switch c {
	case CodeRateLimited, CodeUnavailable, CodeTimeout:
		return true
	}
	return false
}

// Error is the error every provider returns for a failed call. It unwraps to
// both the sentinel for its [Code] (see [Code.Sentinel]) and the underlying
// cause, so both errors.Is(err, llm.ErrRateLimited) and
// errors.As(err, &goopenai.APIError{}) work.
type Error struct {
	// Code classifies the failure; Provider is the provider's name.
	Code     Code
	Provider string
	// Model is the model ID the call was for.
	Model string
	// StatusCode is the HTTP status, 0 when no response arrived.
	StatusCode int
	// RetryAfter is how long the server asked to wait (retry-after-ms, or
	// retry-after), 0 when it did not say.
	RetryAfter time.Duration
	RequestID  string
	// Message says what went wrong and, where possible, what to do.
	Message string
	// ContentFilter holds the annotations of a content-filter rejection.
	ContentFilter *ContentFilterResults
	// Header holds the HTTP response headers, when a response arrived.
	Header http.Header
	// Err is the underlying cause (the provider SDK's error, a net error).
	Err error
}

// Error formats the error as "provider model: message (HTTP 429, request id …)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	if e.Model != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.Model)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if msg == "" {
		msg = e.Code.Sentinel().Error()
	}
	b.WriteString(msg)
	var extra []string
	if e.StatusCode != 0 {
		extra = append(extra, fmt.Sprintf("HTTP %d", e.StatusCode))
	}
	if e.RetryAfter > 0 {
		extra = append(extra, "retry after "+e.RetryAfter.String())
	}
	if e.RequestID != "" {
		extra = append(extra, "request id "+e.RequestID)
	}
	if len(extra) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(extra, ", "))
		b.WriteByte(')')
	}
	return b.String()
}

// Unwrap returns the code's sentinel and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Code.Sentinel()}
	}
	return []error{e.Code.Sentinel(), e.Err}
}

// Retryable reports whether sending the request again may succeed.
func (e *Error) Retryable() bool { return e.Code.Retryable() }

// CodeOf returns the [Code] of err: the [*Error]'s code, [CodeCanceled] or
// [CodeTimeout] for context errors, [CodeUnknown] otherwise (and "" for nil).
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	switch {
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	}
	return CodeUnknown
}

// CodeForStatus maps an HTTP status to the usual code. Providers refine it
// with the body (a 400 may be a content filter or a context-length error; a
// 429 may be a daily quota).
func CodeForStatus(status int) Code {
	switch {
	case status == http.StatusUnauthorized:
		return CodeAuthentication
	case status == http.StatusForbidden:
		return CodePermissionDenied
	case status == http.StatusNotFound:
		return CodeNotFound
	case status == http.StatusTooManyRequests:
		return CodeRateLimited
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return CodeTimeout
	case status == http.StatusRequestEntityTooLarge:
		return CodeContextLength
	case status >= 500:
		return CodeUnavailable
	case status >= 400:
		return CodeInvalidRequest
	}
	return CodeUnknown
}
