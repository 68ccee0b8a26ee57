package httpguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/deluge-go/deluge/llm"
)

// ContextFailure fills e for a call the caller's context ended (ctxErr)
// while cause was happening: CodeTimeout for a deadline, else
// CodeCanceled. e.Err wraps ctxErr, so that errors.Is(err,
// context.Canceled) holds, and cause.
func ContextFailure(e *llm.Error, ctxErr, cause error) {
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		e.Code = llm.CodeTimeout
		e.Message = "the context's deadline expired before the reply was complete"
	} else {
		e.Code = llm.CodeCanceled
		e.Message = "the context was canceled"
	}
	if !errors.Is(cause, ctxErr) {
		e.Err = fmt.Errorf("%w: %w", ctxErr, cause)
	}
}

// NetworkFailure fills e for a failure to get, or to read, a response: a
// timeout of the HTTP client (CodeTimeout), or a connection that could not
// be made or broke (CodeUnavailable).
func NetworkFailure(e *llm.Error, err error) {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		e.Code = llm.CodeTimeout
		e.Message = "timed out: " + err.Error()
	case errors.Is(err, io.ErrUnexpectedEOF):
		e.Code = llm.CodeUnavailable
		e.Message = "the connection broke before the response was complete: " + err.Error()
	default:
		e.Code = llm.CodeUnavailable
		e.Message = "request failed: " + err.Error()
	}
}
