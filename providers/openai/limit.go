package openai

import (
	"io"

	"github.com/deluge-go/deluge/internal/httpguard"
)

// DefaultMaxResponseBytes bounds what one response may hold: a reply body,
// and each line of a stream. It is far above any real reply: the largest a
// catalog model can send is a gpt-4.1 completion of its 32,768 output
// tokens with 20 top log-probabilities per token, about 40 MB of JSON;
// without log-probabilities even a 1M-token reply is a few MB. A server
// sending more is broken or hostile, and reading it whole would cost the
// process several times its size in memory. Every provider of this module
// applies the same default.
const DefaultMaxResponseBytes = httpguard.DefaultMaxResponseBytes

// maxErrorBody bounds how much of an error body is read: real ones are a
// few hundred bytes, the largest (content-filter annotations) a few KB.
const maxErrorBody = httpguard.MaxErrorBody

// ErrResponseTooLarge is the cause (under errors.Is) of the *llm.Error for
// a reply body, or a stream line, larger than the provider's
// MaxResponseBytes. The error's code is llm.CodeConfiguration: the request
// is not retried, since the same request would bring the same reply. It is
// the same error value for every provider of this module.
var ErrResponseTooLarge = httpguard.ErrResponseTooLarge

// tooLargeError says which limit a response broke.
type tooLargeError = httpguard.TooLargeError

// limitOf returns the limit a configured value means: the default for 0
// or less.
func limitOf(n int64) int64 { return httpguard.LimitOf(n) }

// sseLimiter bounds a stream body as go-openai reads it: every line (one
// event's data, or a comment) to limit bytes, and all the lines that are
// not "data:" lines together to limit bytes too, since go-openai keeps
// those for the whole stream (it parses them as an error body at the end).
// go-openai reads lines with bufio.Reader.ReadBytes, which has no bound of
// its own.
type sseLimiter struct {
	r     io.ReadCloser
	limit int64
	// st receives the error too: go-openai may report another in its
	// place (an error body assembled from the lines read so far).
	st *callState
	// line counts the bytes of the current line; prefix holds its first
	// non-blank bytes, to tell a data line; nonData counts the bytes of
	// the lines that were not data lines.
	line    int64
	prefix  [5]byte
	np      int
	nonData int64
	err     error
}

// The limiter's error is always a *tooLargeError; err is an error so that
// Read returns it as one.

var dataPrefix = [5]byte{'d', 'a', 't', 'a', ':'}

func (l *sseLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	for i := 0; i < n; i++ {
		c := p[i]
		if c == '\n' {
			l.endLine()
		} else {
			l.line++
			if l.np < len(l.prefix) && !(l.np == 0 && (c == ' ' || c == '\t' || c == '\r')) {
				l.prefix[l.np] = c
				l.np++
			}
			switch {
			case l.line > l.limit:
				l.err = &tooLargeError{Limit: l.limit, What: "stream line"}
			case l.np == len(l.prefix) && l.prefix != dataPrefix && l.nonData+l.line > l.limit:
				l.err = &tooLargeError{Limit: l.limit, What: "stream's non-data lines"}
			}
		}
		if l.err != nil {
			l.st.overflow = l.err.(*tooLargeError)
			// Hand over what precedes the offending byte; the next Read
			// reports the error.
			if i == 0 {
				return 0, l.err
			}
			return i, nil
		}
	}
	if err == io.EOF && l.line > 0 {
		// The last line has no newline: it counts all the same.
		l.endLine()
		if l.err != nil {
			l.st.overflow = l.err.(*tooLargeError)
			return n, l.err
		}
	}
	return n, err
}

// endLine accounts for the line that just ended.
func (l *sseLimiter) endLine() {
	if l.np > 0 && (l.np < len(l.prefix) || l.prefix != dataPrefix) {
		l.nonData += l.line
		if l.nonData > l.limit {
			l.err = &tooLargeError{Limit: l.limit, What: "stream's non-data lines"}
		}
	}
	l.line, l.np = 0, 0
}

func (l *sseLimiter) Close() error { return l.r.Close() }
