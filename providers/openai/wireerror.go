package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/internal/httpguard"
	"github.com/deluge-go/deluge/llm"
)

// This file parses what a failed response says into a [failure]; errors.go
// judges it (classifyFailure) and builds the *llm.Error. Keeping the two
// apart lets each be tested, and fuzzed, on its own.

// failure is everything an error response states, parsed but not judged.
type failure struct {
	// Status is the HTTP status; 0 for an error event inside a 200 stream.
	Status int
	// Code is error.code (a string, or a number as text: "429"), or the
	// top-level code of Azure's flat bodies.
	Code string
	// Type is error.type ("invalid_request_error", "insufficient_quota").
	Type string
	// InnerCode is error.innererror.code ("ResponsibleAIPolicyViolation").
	InnerCode string
	// Message is the server's message, or the start of a body that is not
	// JSON (an HTML page from a proxy), or the status text.
	Message string
	// ContentFilter is innererror.content_filter_result (Azure's singular
	// form) or content_filter_results.
	ContentFilter *llm.ContentFilterResults
	// RetryAfter is the wait the headers or the message ask for.
	RetryAfter time.Duration
}

// wireError is an OpenAI or Azure error body. It keeps what go-openai
// drops: the plural/singular content-filter results with every category,
// Azure's numeric "status", and the flat bodies of other Azure endpoints
// ({"statusCode":401,"message":…} or {"code":…,"message":…}).
type wireError struct {
	Error *struct {
		Code       json.RawMessage `json:"code"`
		Message    json.RawMessage `json:"message"`
		Type       *string         `json:"type"`
		InnerError *struct {
			Code                 string                    `json:"code"`
			ContentFilterResult  *llm.ContentFilterResults `json:"content_filter_result"`
			ContentFilterResults *llm.ContentFilterResults `json:"content_filter_results"`
		} `json:"innererror"`
	} `json:"error"`
	Code    json.RawMessage `json:"code"`
	Message json.RawMessage `json:"message"`
}

// maxRawMessage bounds how much of a non-JSON error body becomes the
// message.
const maxRawMessage = 300

// parseFailure reads an error response: its status, headers and body.
// apiErr, when go-openai parsed one (an error event of a stream, whose
// body the provider never sees), supplies what the body lacks. It never
// fails: what cannot be read is left empty.
func parseFailure(status int, header http.Header, body []byte, apiErr *goopenai.APIError) failure {
	f := failure{Status: status}
	var w wireError
	if len(body) > 0 && json.Unmarshal(body, &w) == nil {
		if w.Error != nil {
			f.Code = rawString(w.Error.Code)
			f.Message = rawMessage(w.Error.Message)
			if w.Error.Type != nil {
				f.Type = *w.Error.Type
			}
			if ie := w.Error.InnerError; ie != nil {
				f.InnerCode = ie.Code
				f.ContentFilter = ie.ContentFilterResult
				if f.ContentFilter == nil {
					f.ContentFilter = ie.ContentFilterResults
				}
			}
		} else {
			f.Code = rawString(w.Code)
			f.Message = rawMessage(w.Message)
		}
	}
	if apiErr != nil {
		if f.Code == "" && apiErr.Code != nil {
			f.Code = fmt.Sprint(apiErr.Code)
		}
		if f.Message == "" {
			f.Message = apiErr.Message
		}
		if f.Type == "" {
			f.Type = apiErr.Type
		}
		if f.InnerCode == "" && apiErr.InnerError != nil {
			f.InnerCode = apiErr.InnerError.Code
		}
	}
	if f.Message == "" && len(body) > 0 && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		f.Message = strings.TrimSpace(string(truncate(body, maxRawMessage)))
	}
	if f.Message == "" && status > 0 {
		f.Message = http.StatusText(status)
	}
	f.RetryAfter = retryAfter(header, f.Message)
	return f
}

// retryAfter reads how long the server asked to wait: retry-after-ms
// (milliseconds, fractions allowed), then retry-after (seconds or an
// HTTP-date), then the message's "retry after N seconds" (Azure) or "try
// again in 1.5s" (OpenAI). It returns 0 when nothing says, and never more
// than maxRetryAfter, so an absurd header cannot overflow a duration.
func retryAfter(h http.Header, msg string) time.Duration {
	if d := httpguard.RetryAfter(h); d > 0 {
		return d
	}
	return retryAfterFromMessage(msg)
}

// maxRetryAfter caps the waits read from a server (httpguard.MaxRetryAfter).
const maxRetryAfter = httpguard.MaxRetryAfter

func clampDuration(ns float64) time.Duration { return httpguard.ClampDuration(ns) }

func retryAfterFromMessage(msg string) time.Duration {
	l := strings.ToLower(msg)
	if i := strings.Index(l, "retry after "); i >= 0 {
		rest := l[i+len("retry after "):]
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n > 0 && strings.HasPrefix(strings.TrimSpace(rest[n:]), "second") {
			if s, err := strconv.ParseInt(rest[:n], 10, 64); err == nil {
				return clampDuration(float64(s) * float64(time.Second))
			}
			return maxRetryAfter // more digits than an int64 holds
		}
	}
	if i := strings.Index(l, "try again in "); i >= 0 {
		rest := l[i+len("try again in "):]
		if j := strings.IndexAny(rest, " ,;"); j >= 0 {
			rest = rest[:j]
		}
		rest = strings.TrimRight(rest, ".")
		if d, err := time.ParseDuration(rest); err == nil && d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

// rawString returns a JSON string or number as text ("429" and 429 alike).
func rawString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// rawMessage returns a message given as a string or, as OpenAI does for
// some schema errors, an array of strings.
func rawMessage(raw json.RawMessage) string {
	var ss []string
	if json.Unmarshal(raw, &ss) == nil && ss != nil {
		return strings.Join(ss, ", ")
	}
	return rawString(raw)
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
