package httpguard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxResponseBytes bounds what one response may hold: a reply body,
// and each line of a stream. It is far above any real reply: the largest a
// catalog model can send is a gpt-4.1 completion of its 32,768 output
// tokens with 20 top log-probabilities per token, about 40 MB of JSON;
// without log-probabilities even a 1M-token reply is a few MB. A server
// sending more is broken or hostile, and reading it whole would cost the
// process several times its size in memory.
const DefaultMaxResponseBytes = 64 << 20

// MaxErrorBody bounds how much of an error body is read: real ones are a
// few hundred bytes, the largest (content-filter annotations) a few KB.
const MaxErrorBody = 1 << 20

// ErrResponseTooLarge is the cause (under errors.Is) of the *llm.Error for
// a reply body, or a stream line, larger than the provider's
// MaxResponseBytes. The error's code is llm.CodeConfiguration: the request
// is not retried, since the same request would bring the same reply.
var ErrResponseTooLarge = errors.New("the response exceeds the size limit")

// TooLargeError says which limit a response broke. It unwraps to
// [ErrResponseTooLarge].
type TooLargeError struct {
	Limit int64
	What  string // "reply body", "stream line", "stream comments"
	Size  int64  // the announced size, when the server sent one
}

func (e *TooLargeError) Error() string { return ErrResponseTooLarge.Error() + ": " + e.Detail() }

func (e *TooLargeError) Unwrap() error { return ErrResponseTooLarge }

// Detail says which limit was broken, and by how much when known.
func (e *TooLargeError) Detail() string {
	if e.Size > 0 {
		return fmt.Sprintf("the %s is %d bytes, over the limit of %d", e.What, e.Size, e.Limit)
	}
	return fmt.Sprintf("the %s is over the limit of %d bytes", e.What, e.Limit)
}

// Message is the llm.Error message.
func (e *TooLargeError) Message() string {
	return e.Detail() + " (MaxResponseBytes): the rest was not read; raise the limit if this server's replies are legitimately that large"
}

// LimitOf returns the limit a configured value means: the default for 0
// or less.
func LimitOf(n int64) int64 {
	if n <= 0 {
		return DefaultMaxResponseBytes
	}
	return n
}

// MaxPooledBuffer bounds the buffer a pooled reader keeps between calls,
// so that one huge response does not pin memory for the process's life.
const MaxPooledBuffer = 1 << 20

// pooledRead is how much of a body of unknown size is read into the pooled
// buffer before reading the rest in chunks: past it, the buffer's growth by
// doubling would cost more than the chunks.
const pooledRead = 256 << 10

// ReadBody reads a reply body of at most limit bytes (size is its
// Content-Length, or -1); past the limit it fails with a *[TooLargeError].
// A body that fits buf (a pooled buffer of the caller's) is read into it
// and the result aliases buf; a larger one ends in a slice of its exact
// size, so that it is held once: read in place when its size is known,
// else gathered in 1 MiB chunks and copied once (a bytes.Buffer growing by
// doubling would allocate about twice the body on the way, and may keep
// twice its size).
func ReadBody(buf *bytes.Buffer, r io.Reader, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, &TooLargeError{Limit: limit, What: "reply body", Size: size}
	}
	if size > MaxPooledBuffer {
		out := make([]byte, size)
		if _, err := io.ReadFull(r, out); err != nil {
			return nil, err
		}
		var one [1]byte
		if n, _ := r.Read(one[:]); n > 0 {
			return nil, &TooLargeError{Limit: limit, What: "reply body (longer than its Content-Length)"}
		}
		return out, nil
	}
	first := min(limit+1, pooledRead)
	if size > 0 {
		first = min(limit+1, max(size+1, pooledRead))
	}
	buf.Reset()
	if size > 0 {
		// MinRead more, so that the Read that finds the end of the body
		// does not make the buffer grow (and copy) once more.
		buf.Grow(int(size) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, first)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) < first {
		return buf.Bytes(), nil
	}
	chunks := [][]byte{buf.Bytes()}
	total := int64(buf.Len())
	for total <= limit {
		c := make([]byte, min(MaxPooledBuffer, limit+1-total))
		n, err := io.ReadFull(r, c)
		chunks = append(chunks, c[:n])
		total += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if total > limit {
		return nil, &TooLargeError{Limit: limit, What: "reply body"}
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}

// ReadErrorBody reads at most min(MaxErrorBody, limit) bytes of an error
// body into buf; cut reports that the body was longer and only its start
// was kept (the status still classifies the error).
func ReadErrorBody(buf *bytes.Buffer, r io.Reader, limit int64) (body []byte, cut bool, err error) {
	limit = min(int64(MaxErrorBody), limit)
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return nil, false, err
	}
	if int64(buf.Len()) > limit {
		buf.Truncate(int(limit))
		cut = true
	}
	return buf.Bytes(), cut, nil
}
