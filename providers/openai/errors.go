package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// quotaRetryAfter is the wait beyond which a 429 is a quota exhaustion
// rather than a rate limit: Azure answers a spent daily quota with "retry
// after 86400 seconds", which must fail over or fail fast, not sleep.
const quotaRetryAfter = time.Hour

const redacted = "[REDACTED]"

// ErrorFromHTTP turns an HTTP error response (status ≥ 400, its headers and
// body) into the *llm.Error the provider returns for it: the code from the
// status refined by the body (content filter, context length, daily quota),
// the server's message, the retry delay from retry-after-ms or retry-after,
// the request ID, and Err set to the *goopenai.APIError parsed from the body
// (or a *goopenai.RequestError when the body is not an OpenAI error). It is
// for providers that receive a response outside go-openai, such as a token
// endpoint or a batch result line.
func ErrorFromHTTP(provider, modelID string, status int, header http.Header, body []byte) *llm.Error {
	e := &llm.Error{Provider: provider, Model: modelID}
	var apiErr *goopenai.APIError
	var resp goopenai.ErrorResponse
	if json.Unmarshal(body, &resp) == nil && resp.Error != nil {
		apiErr = resp.Error
		apiErr.HTTPStatusCode = status
		apiErr.HTTPStatus = strconv.Itoa(status) + " " + http.StatusText(status)
		e.Err = apiErr
	} else {
		e.Err = &goopenai.RequestError{HTTPStatusCode: status, HTTPStatus: strconv.Itoa(status) + " " + http.StatusText(status), Body: body}
	}
	fillHTTP(e, status, header, body, apiErr, nil, registry.Model{ID: modelID})
	return e
}

// classify turns an error from go-openai into an *llm.Error.
func (p *Provider) classify(ctx context.Context, m registry.Model, ep *endpoint, st *callState, err error) *llm.Error {
	e := &llm.Error{Provider: p.name, Model: m.ID, Err: err}
	var apiErr *goopenai.APIError
	hasAPI := errors.As(err, &apiErr)
	switch {
	case st.status >= http.StatusBadRequest:
		// The doer saw the response, headers and body included.
		fillHTTP(e, st.status, st.header, st.body, apiErr, p.hint, m)
	case ctx.Err() != nil:
		contextError(e, ctx.Err(), err)
	case hasAPI:
		// An error event inside a 200 stream: no status, only the body.
		fillHTTP(e, 0, st.header, nil, apiErr, p.hint, m)
		e.StatusCode = st.status
	case !st.sent:
		// go-openai refused the request before sending it (its model or
		// reasoning-parameter validation, a marshalling failure).
		e.Code = llm.CodeInvalidRequest
		e.Message = "request rejected before sending: " + err.Error()
	default:
		networkError(e, err)
		e.StatusCode = st.status
		if st.header != nil {
			e.Header = st.header
			e.RequestID = requestID(st.header)
		}
	}
	p.redactError(e, ep)
	return e
}

// contextError reports the caller's cancellation or deadline. Err wraps the
// context error so errors.Is(err, context.Canceled) holds.
func contextError(e *llm.Error, ctxErr, cause error) {
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

// networkError classifies a failure to get a response: a timeout of the
// HTTP client, or a connection that could not be made or broke.
func networkError(e *llm.Error, err error) {
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

// fillHTTP classifies an HTTP error from its status, headers and body.
// apiErr, when go-openai parsed one, supplies what the body lacks.
func fillHTTP(e *llm.Error, status int, header http.Header, body []byte, apiErr *goopenai.APIError, hint func(llm.Code, registry.Model) string, m registry.Model) {
	e.StatusCode = status
	if header != nil {
		e.Header = header
		e.RequestID = requestID(header)
	}
	var (
		code, typ, inner, msg string
		filter                *llm.ContentFilterResults
	)
	var w wireError
	if len(body) > 0 && json.Unmarshal(body, &w) == nil {
		if w.Error != nil {
			code = rawString(w.Error.Code)
			msg = rawMessage(w.Error.Message)
			if w.Error.Type != nil {
				typ = *w.Error.Type
			}
			if ie := w.Error.InnerError; ie != nil {
				inner = ie.Code
				filter = ie.ContentFilterResult
				if filter == nil {
					filter = ie.ContentFilterResults
				}
			}
		} else {
			code = rawString(w.Code)
			msg = rawMessage(w.Message)
		}
	}
	if apiErr != nil {
		if code == "" && apiErr.Code != nil {
			code = fmt.Sprint(apiErr.Code)
		}
		if msg == "" {
			msg = apiErr.Message
		}
		if typ == "" {
			typ = apiErr.Type
		}
		if inner == "" && apiErr.InnerError != nil {
			inner = apiErr.InnerError.Code
		}
	}
	if msg == "" && len(body) > 0 && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		msg = strings.TrimSpace(string(truncate(body, 300)))
	}
	if msg == "" && status > 0 {
		msg = http.StatusText(status)
	}
	e.RetryAfter = retryAfter(header, msg)

	lcode, ltyp, lmsg := strings.ToLower(code), strings.ToLower(typ), strings.ToLower(msg)
	c := llm.CodeForStatus(status)
	switch {
	case lcode == "content_filter" || strings.EqualFold(inner, "ResponsibleAIPolicyViolation"):
		c = llm.CodeContentFiltered
		e.ContentFilter = filter
	case lcode == "context_length_exceeded" || lcode == "string_above_max_length" ||
		strings.Contains(lmsg, "maximum context length") || strings.Contains(lmsg, "context_length_exceeded") ||
		strings.Contains(lmsg, "context window"):
		c = llm.CodeContextLength
	case status == http.StatusTooManyRequests || lcode == "429" || lcode == "rate_limit_exceeded" ||
		ltyp == "rate_limit_exceeded" || ltyp == "insufficient_quota" || lcode == "insufficient_quota":
		c = llm.CodeRateLimited
		if isQuota(lcode, ltyp, lmsg, e.RetryAfter) {
			c = llm.CodeQuotaExceeded
		}
	case status == 0:
		// An error event inside a stream carries only its type.
		switch {
		case ltyp == "server_error" || lcode == "server_error" || strings.Contains(lmsg, "overloaded"):
			c = llm.CodeUnavailable
		case ltyp == "invalid_request_error":
			c = llm.CodeInvalidRequest
		default:
			c = llm.CodeUnknown
		}
	case c != llm.CodeInvalidRequest:
		// The status is specific (a 403 "model_not_found" is a permission
		// problem): keep it.
	case lcode == "deploymentnotfound" || lcode == "model_not_found":
		c = llm.CodeNotFound
	case lcode == "invalid_api_key" || lcode == "401":
		c = llm.CodeAuthentication
	}
	e.Code = c
	if hint != nil {
		if h := hint(c, m); h != "" {
			msg = strings.TrimRight(msg, " ") + "; " + h
		}
	}
	e.Message = msg
}

// isQuota tells a spent quota (hours away, or billing) from a per-minute
// rate limit. Azure's ordinary rate-limit message links to
// aka.ms/oai/quotaincrease, so a bare "quota" substring is not evidence.
func isQuota(code, typ, msg string, retry time.Duration) bool {
	if code == "insufficient_quota" || typ == "insufficient_quota" || code == "quota_exceeded" {
		return true
	}
	if retry > quotaRetryAfter {
		return true
	}
	for _, s := range [...]string{"exceeded your current quota", "quota exceeded", "quota has been exceeded",
		"out of quota", "per day", "daily", "(rpd)", "(tpd)"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// retryAfter reads how long the server asked to wait: retry-after-ms
// (milliseconds, fractions allowed), then retry-after (seconds or an
// HTTP-date), then the message's "retry after N seconds" (Azure) or "try
// again in 1.5s" (OpenAI). It returns 0 when nothing says.
func retryAfter(h http.Header, msg string) time.Duration {
	if h != nil {
		if v := strings.TrimSpace(headerValue(h, headerRetryAfterMS)); v != "" {
			if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && !math.IsInf(ms, 0) {
				return time.Duration(ms * float64(time.Millisecond))
			}
		}
		if v := strings.TrimSpace(headerValue(h, headerRetryAfter)); v != "" {
			if s, err := strconv.ParseFloat(v, 64); err == nil {
				if s > 0 && !math.IsInf(s, 0) {
					return time.Duration(s * float64(time.Second))
				}
			} else if t, err := http.ParseTime(v); err == nil {
				if d := time.Until(t); d > 0 {
					return d
				}
			}
		}
	}
	return retryAfterFromMessage(msg)
}

func retryAfterFromMessage(msg string) time.Duration {
	l := strings.ToLower(msg)
	if i := strings.Index(l, "retry after "); i >= 0 {
		rest := l[i+len("retry after "):]
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n > 0 && strings.HasPrefix(strings.TrimSpace(rest[n:]), "second") {
			if s, err := strconv.Atoi(rest[:n]); err == nil {
				return time.Duration(s) * time.Second
			}
		}
	}
	if i := strings.Index(l, "try again in "); i >= 0 {
		rest := l[i+len("try again in "):]
		if j := strings.IndexAny(rest, " ,;"); j >= 0 {
			rest = rest[:j]
		}
		rest = strings.TrimRight(rest, ".")
		if d, err := time.ParseDuration(rest); err == nil && d > 0 {
			return d
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
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return strings.Join(ss, ", ")
	}
	return string(raw)
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// redactError removes the provider's secrets from every string of e a
// caller could print: its message and the go-openai error it wraps.
func (p *Provider) redactError(e *llm.Error, ep *endpoint) {
	secrets := p.redact
	if ep != nil && ep.key != "" {
		secrets = append(secrets[:len(secrets):len(secrets)], ep.key)
	}
	if len(secrets) == 0 {
		return
	}
	e.Message = redactString(e.Message, secrets)
	var apiErr *goopenai.APIError
	if errors.As(e.Err, &apiErr) {
		apiErr.Message = redactString(apiErr.Message, secrets)
	}
	var reqErr *goopenai.RequestError
	if errors.As(e.Err, &reqErr) {
		for _, s := range secrets {
			reqErr.Body = bytes.ReplaceAll(reqErr.Body, []byte(s), []byte(redacted))
		}
	}
	// Any other wrapped error (a URL error, a stream error) is re-checked
	// as text; one that mentions a secret is replaced by its redacted text.
	if e.Err != nil {
		if s := e.Err.Error(); redactString(s, secrets) != s {
			e.Err = redactedError{msg: redactString(s, secrets), err: e.Err}
		}
	}
}

func redactString(s string, secrets []string) string {
	for _, k := range secrets {
		if len(k) >= 4 && strings.Contains(s, k) {
			s = strings.ReplaceAll(s, k, redacted)
		}
	}
	return s
}

// redactedError hides a wrapped error's text while keeping it reachable to
// errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (r redactedError) Error() string { return r.msg }
func (r redactedError) Unwrap() error { return r.err }

// genericHint is the default advice for providers built with
// NewFromClientConfig.
func genericHint(c llm.Code, m registry.Model) string {
	switch c {
	case llm.CodeAuthentication:
		return "check the API key or credential"
	case llm.CodePermissionDenied:
		return "the credential is valid but may not use this model or endpoint"
	case llm.CodeNotFound:
		return fmt.Sprintf("check the model name %q and the base URL", defaultWireName(m))
	case llm.CodeQuotaExceeded:
		return "the quota is spent: retrying soon will not help; check the plan or use another model or region"
	case llm.CodeContextLength:
		return "shorten the conversation or lower the maximum output tokens"
	}
	return ""
}

// openAIHint is the advice of the "openai" provider.
func openAIHint(c llm.Code, m registry.Model) string {
	switch c {
	case llm.CodeAuthentication:
		return "check " + EnvAPIKey + " (or Config.APIKey); keys are at https://platform.openai.com/api-keys"
	case llm.CodeNotFound:
		return fmt.Sprintf("check the model name %q: it may be misspelled, retired, or not available to your organization", defaultWireName(m))
	case llm.CodeQuotaExceeded:
		return "the quota or credit is spent: check billing at https://platform.openai.com/settings/organization/billing"
	}
	return genericHint(c, m)
}
