package llm

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"
)

// classify returns err as an *Error, wrapping errors that providers did not
// classify: connection failures become CodeUnavailable (retryable),
// deadlines CodeTimeout, anything else CodeUnknown (not retried).
func classify(err error, t *target) *Error {
	var e *Error
	if errors.As(err, &e) {
		if e.Code == CodeUnknown && isConnError(e.Err) {
			c := *e
			c.Code = CodeUnavailable
			return &c
		}
		return e
	}
	code := CodeUnknown
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		code = CodeTimeout
	case errors.Is(err, context.Canceled):
		code = CodeCanceled
	case isConnError(err):
		code = CodeUnavailable
	}
	return &Error{Code: code, Provider: t.model.Provider, Model: t.model.ID, Err: err}
}

// isConnError reports whether err is a network failure worth retrying: a
// reset or refused connection, a connection closed mid-response, a network
// timeout.
func isConnError(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// backoff returns the wait before attempt n+1: exponential with full
// jitter, a uniform random time in [0, min(max, base·2^(n-1))), which
// spreads retries of requests that failed together.
func backoff(o *options, n int) time.Duration {
	ceil := o.backoffBase
	for i := 1; i < n && ceil < o.backoffMax; i++ {
		ceil *= 2
	}
	ceil = min(ceil, o.backoffMax)
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil)
}
