package anthropic

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
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// quotaRetryAfter is the wait beyond which a 429 is a spent quota rather
// than a rate limit (an Azure daily quota asks for 86400 seconds).
const quotaRetryAfter = time.Hour

const redacted = "[REDACTED]"

// APIError is the error body of the Messages API,
// {"type":"error","error":{"type":…,"message":…},"request_id":…}, as the
// cause of an *llm.Error; errors.As reaches it. A body of another shape
// (an Azure gateway's) leaves Type empty and Message set from its message
// field.
type APIError struct {
	// StatusCode is the HTTP status; 0 for an error event in a stream.
	StatusCode int
	// Type is Anthropic's error type: invalid_request_error,
	// authentication_error, permission_error, not_found_error,
	// request_too_large, rate_limit_error, api_error, overloaded_error, …
	Type    string
	Message string
	// RequestID is the body's request_id, when it has one.
	RequestID string
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("anthropic: ")
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, "HTTP %d ", e.StatusCode)
	}
	if e.Type != "" {
		b.WriteString(e.Type)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// wireError is an error body: Anthropic's envelope, or the flat bodies of
// Azure's front end ({"statusCode":401,"message":…}, {"error":{"code":…,
// "message":…}}).
type wireError struct {
	Type  string `json:"type"`
	Error *struct {
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
	Message   string `json:"message"`
}

// parseError decodes an error body; a body that is not JSON becomes the
// message, shortened.
func parseError(status int, body []byte) *APIError {
	e := &APIError{StatusCode: status}
	var w wireError
	if json.Unmarshal(body, &w) == nil {
		e.RequestID = w.RequestID
		if w.Error != nil {
			e.Type, e.Message = w.Error.Type, w.Error.Message
			if e.Type == "" {
				e.Type = strings.Trim(string(w.Error.Code), `"`)
			}
		} else {
			e.Message = w.Message
		}
	} else if b := bytes.TrimSpace(body); len(b) > 0 {
		if len(b) > 300 {
			b = b[:300]
		}
		e.Message = string(b)
	}
	if e.Message == "" && status > 0 {
		e.Message = http.StatusText(status)
	}
	return e
}

// codeOf classifies an error by Anthropic's type, then the status.
func codeOf(status int, typ, msg string, retry time.Duration) llm.Code {
	lmsg := strings.ToLower(msg)
	switch typ {
	case "authentication_error":
		return llm.CodeAuthentication
	case "permission_error":
		return llm.CodePermissionDenied
	case "not_found_error":
		return llm.CodeNotFound
	case "request_too_large":
		return llm.CodeContextLength
	case "rate_limit_error":
		if retry > quotaRetryAfter {
			return llm.CodeQuotaExceeded
		}
		return llm.CodeRateLimited
	case "billing_error":
		return llm.CodeQuotaExceeded
	case "overloaded_error", "api_error":
		return llm.CodeUnavailable
	case "timeout_error":
		return llm.CodeTimeout
	case "invalid_request_error":
		if isContextLength(lmsg) {
			return llm.CodeContextLength
		}
		if status == 0 {
			return llm.CodeInvalidRequest
		}
	}
	switch {
	case status == 529: // Anthropic's "overloaded"
		return llm.CodeUnavailable
	case status == http.StatusTooManyRequests && retry > quotaRetryAfter:
		return llm.CodeQuotaExceeded
	case status == http.StatusBadRequest && isContextLength(lmsg):
		return llm.CodeContextLength
	case status >= 300 && status < 400:
		return llm.CodeInvalidRequest
	case status == 0:
		return llm.CodeUnknown
	}
	return llm.CodeForStatus(status)
}

// isContextLength recognises Anthropic's context-window messages ("prompt is
// too long: 210000 tokens > 200000 maximum", "input length and `max_tokens`
// exceed context limit").
func isContextLength(lmsg string) bool {
	for _, s := range [...]string{"prompt is too long", "exceed context limit", "context window", "context length", "too many tokens"} {
		if strings.Contains(lmsg, s) {
			return true
		}
	}
	return false
}

// httpError maps a non-2xx response.
func (p *Provider) httpError(req *llm.Request, ep *endpoint, status int, h http.Header, body []byte) *llm.Error {
	api := parseError(status, body)
	retry := retryAfter(h)
	e := &llm.Error{
		Code:       codeOf(status, api.Type, api.Message, retry),
		Provider:   p.name,
		Model:      req.Model.ID,
		StatusCode: status,
		RetryAfter: retry,
		RequestID:  requestID(h),
		Header:     h,
		Message:    api.Message,
		Err:        api,
	}
	if e.RequestID == "" {
		e.RequestID = api.RequestID
	}
	if status >= 300 && status < 400 {
		where := "another location"
		if u, err := url.Parse(headerValue(h, headerLocation)); err == nil && u.Host != "" {
			where = u.Host
		}
		e.Message = fmt.Sprintf("the server redirected the request to %s; deluge does not follow redirects (they could carry the credential elsewhere): check the base URL", where)
	} else if hint := hintFor(e.Code, req.Model, p.name); hint != "" {
		e.Message = strings.TrimRight(e.Message, " .") + "; " + hint
	}
	p.redactError(e, ep)
	return e
}

// streamError maps an error event inside a 200 stream.
func (p *Provider) streamError(req *llm.Request, ep *endpoint, h http.Header, typ, msg string) *llm.Error {
	api := &APIError{Type: typ, Message: msg}
	e := &llm.Error{Code: codeOf(0, typ, msg, 0), Provider: p.name, Model: req.Model.ID, StatusCode: http.StatusOK,
		RequestID: requestID(h), Header: h, Message: "error event in the stream: " + msg, Err: api}
	if typ != "" {
		e.Message = "error event in the stream: " + typ + ": " + msg
	}
	p.redactError(e, ep)
	return e
}

// hintFor is the advice appended for the anthropic provider's own errors;
// providers built with NewEndpoint write their own.
func hintFor(c llm.Code, m registry.Model, name string) string {
	if name != ProviderName {
		return ""
	}
	switch c {
	case llm.CodeAuthentication:
		return "check " + EnvAPIKey + " (or Config.APIKey); keys are at https://platform.claude.com/settings/keys"
	case llm.CodeNotFound:
		return fmt.Sprintf("check the model name %q: it may be misspelled or retired", defaultWireName(m))
	case llm.CodeContextLength:
		return "shorten the conversation or lower the maximum output tokens"
	case llm.CodeQuotaExceeded:
		return "the credit or quota is spent: retrying soon will not help"
	}
	return ""
}

// transportError maps a failure to get, or to read, a response.
func (p *Provider) transportError(ctx context.Context, req *llm.Request, ep *endpoint, resp *http.Response, err error) *llm.Error {
	e := &llm.Error{Provider: p.name, Model: req.Model.ID, Err: err}
	if resp != nil {
		e.StatusCode, e.Header, e.RequestID = resp.StatusCode, resp.Header, requestID(resp.Header)
	}
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			e.Code, e.Message = llm.CodeTimeout, "the context's deadline expired before the reply was complete"
		} else {
			e.Code, e.Message = llm.CodeCanceled, "the context was canceled"
		}
		if !errors.Is(err, ctx.Err()) {
			e.Err = fmt.Errorf("%w: %w", ctx.Err(), err)
		}
	case errors.As(err, &ne) && ne.Timeout():
		e.Code, e.Message = llm.CodeTimeout, "timed out: "+err.Error()
	case errors.Is(err, io.ErrUnexpectedEOF):
		e.Code, e.Message = llm.CodeUnavailable, "the connection broke before the response was complete: "+err.Error()
	default:
		e.Code, e.Message = llm.CodeUnavailable, "request failed: "+err.Error()
	}
	p.redactError(e, ep)
	return e
}

// authError reports a credential that could not be set (an Entra ID token
// that could not be fetched): nothing was sent.
func (p *Provider) authError(ctx context.Context, req *llm.Request, ep *endpoint, err error) *llm.Error {
	if ctx.Err() != nil {
		return p.transportError(ctx, req, ep, nil, err)
	}
	e := &llm.Error{Code: llm.CodeAuthentication, Provider: p.name, Model: req.Model.ID, Message: "getting the credential: " + err.Error(), Err: err}
	p.redactError(e, ep)
	return e
}

// asError makes an endpoint's configuration error an *llm.Error.
func (p *Provider) asError(req *llm.Request, err error) error {
	var e *llm.Error
	if errors.As(err, &e) {
		return err
	}
	return &llm.Error{Code: llm.CodeAuthentication, Provider: p.name, Model: req.Model.ID, Message: err.Error(), Err: err}
}

// retryAfter reads retry-after-ms (Azure's front end), then retry-after
// (seconds, Anthropic; or an HTTP date). 0 when neither says.
func retryAfter(h http.Header) time.Duration {
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
	return 0
}

// redactError removes the provider's secrets from every string of e a
// caller could print, in case a server or proxy echoes them.
func (p *Provider) redactError(e *llm.Error, ep *endpoint) {
	secrets := p.redact
	if ep != nil && ep.secret != "" {
		secrets = append(secrets[:len(secrets):len(secrets)], ep.secret)
	}
	if len(secrets) == 0 {
		return
	}
	e.Message = redactString(e.Message, secrets)
	var api *APIError
	if errors.As(e.Err, &api) {
		api.Message = redactString(api.Message, secrets)
	}
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
