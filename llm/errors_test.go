package llm_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
)

type nativeErr struct{ code string }

func (e *nativeErr) Error() string { return "native " + e.code }

func TestErrorUnwrapsToSentinelAndCause(t *testing.T) {
	cause := &nativeErr{code: "429"}
	var err error = &llm.Error{Code: llm.CodeRateLimited, Provider: "p", Model: "m", StatusCode: 429, RetryAfter: 1500 * time.Millisecond, Err: cause}
	err = fmt.Errorf("wrapped: %w", err)

	assert.ErrorIs(t, err, llm.ErrRateLimited)
	assert.NotErrorIs(t, err, llm.ErrQuotaExceeded)
	var native *nativeErr
	require.ErrorAs(t, err, &native)
	assert.Equal(t, "429", native.code)
	var le *llm.Error
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 1500*time.Millisecond, le.RetryAfter)
	assert.Equal(t, llm.CodeRateLimited, llm.CodeOf(err))
}

func TestErrorString(t *testing.T) {
	e := &llm.Error{Code: llm.CodeNotFound, Provider: "azure-foundry", Model: "azure-gpt-4o", StatusCode: 404, RequestID: "abc", Message: "deployment 'x' not found"}
	assert.Equal(t, "azure-foundry azure-gpt-4o: deployment 'x' not found (HTTP 404, request id abc)", e.Error())
	bare := &llm.Error{Code: llm.CodeTimeout}
	assert.Equal(t, "llm: request timed out", bare.Error())
	withCause := &llm.Error{Code: llm.CodeUnavailable, Err: errors.New("connection reset")}
	assert.Equal(t, "connection reset", withCause.Error())
}

func TestCodeOf(t *testing.T) {
	assert.Equal(t, llm.Code(""), llm.CodeOf(nil))
	assert.Equal(t, llm.CodeCanceled, llm.CodeOf(fmt.Errorf("x: %w", context.Canceled)))
	assert.Equal(t, llm.CodeTimeout, llm.CodeOf(context.DeadlineExceeded))
	assert.Equal(t, llm.CodeUnknown, llm.CodeOf(errors.New("boom")))
}

func TestCodeForStatusAndRetryable(t *testing.T) {
	for status, want := range map[int]llm.Code{
		401: llm.CodeAuthentication, 403: llm.CodePermissionDenied, 404: llm.CodeNotFound,
		429: llm.CodeRateLimited, 408: llm.CodeTimeout, 504: llm.CodeTimeout, 413: llm.CodeContextLength,
		500: llm.CodeUnavailable, 503: llm.CodeUnavailable, 400: llm.CodeInvalidRequest, 422: llm.CodeInvalidRequest,
		200: llm.CodeUnknown,
	} {
		assert.Equal(t, want, llm.CodeForStatus(status), http.StatusText(status))
	}
	for _, c := range []llm.Code{llm.CodeRateLimited, llm.CodeUnavailable, llm.CodeTimeout} {
		assert.True(t, c.Retryable(), c)
	}
	for _, c := range []llm.Code{llm.CodeAuthentication, llm.CodePermissionDenied, llm.CodeNotFound, llm.CodeContentFiltered,
		llm.CodeContextLength, llm.CodeInvalidRequest, llm.CodeQuotaExceeded, llm.CodeCanceled, llm.CodeUnknown, llm.CodeConfiguration} {
		assert.False(t, c.Retryable(), c)
	}
	assert.ErrorIs(t, &llm.Error{Code: llm.CodeConfiguration}, llm.ErrConfiguration)
	assert.Equal(t, llm.ErrUnknown, llm.Code("weird").Sentinel())
}
