package httpguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/deluge-go/deluge/llm"
)

func TestContextFailure(t *testing.T) {
	cause := errors.New("read tcp: use of closed connection")
	var e llm.Error
	ContextFailure(&e, context.DeadlineExceeded, cause)
	assert.Equal(t, llm.CodeTimeout, e.Code)
	assert.ErrorIs(t, e.Err, context.DeadlineExceeded)
	assert.ErrorIs(t, e.Err, cause)

	e = llm.Error{Err: context.Canceled}
	ContextFailure(&e, context.Canceled, fmt.Errorf("post: %w", context.Canceled))
	assert.Equal(t, llm.CodeCanceled, e.Code)
	assert.ErrorIs(t, e.Err, context.Canceled)
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestNetworkFailure(t *testing.T) {
	for err, want := range map[error]llm.Code{
		timeoutErr{}: llm.CodeTimeout,
		fmt.Errorf("read: %w", io.ErrUnexpectedEOF): llm.CodeUnavailable,
		errors.New("connection refused"):            llm.CodeUnavailable,
	} {
		var e llm.Error
		NetworkFailure(&e, err)
		assert.Equal(t, want, e.Code, err.Error())
		assert.Contains(t, e.Message, err.Error())
	}
}
