package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/deluge-go/deluge/internal/httpguard"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// quotaRetryAfter is the wait beyond which a 429 is a spent quota rather
// than a rate limit (an Azure daily quota asks for 86400 seconds).
const quotaRetryAfter = time.Hour

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
		return llm.CodeConfiguration // a redirect: see redirectError
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
	if hint := hintFor(e.Code, req.Model, p.name); hint != "" {
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
	var big *httpguard.TooLargeError
	switch {
	case errors.As(err, &big):
		// Before the context: a cut stream may also see the caller give up.
		e.Code, e.Message = llm.CodeConfiguration, big.Message()
	case ctx.Err() != nil:
		httpguard.ContextFailure(e, ctx.Err(), err)
	default:
		httpguard.NetworkFailure(e, err)
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

// redirectError reports a 3xx reply (or one a caller's client reached by
// following a redirect to another origin): not followed, not retried.
func (p *Provider) redirectError(req *llm.Request, ep *endpoint, resp *http.Response, rerr *httpguard.RedirectError) *llm.Error {
	e := &llm.Error{Code: llm.CodeConfiguration, Provider: p.name, Model: req.Model.ID, StatusCode: rerr.Status,
		Header: resp.Header, RequestID: requestID(resp.Header), Message: rerr.Message(), Err: rerr}
	if p.name == ProviderName {
		e.Message += "; check " + EnvBaseURL + " (Config.BaseURL) or the model's APIBase"
	}
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
// (seconds, Anthropic; or an HTTP date); 0 when neither says, never more
// than httpguard.MaxRetryAfter.
func retryAfter(h http.Header) time.Duration { return httpguard.RetryAfter(h) }

// redactError removes the call's secrets (see Provider.secrets) from every
// string of e a caller could print or store, in case a server or proxy
// echoes them, and makes its metadata printable and bounded.
func (p *Provider) redactError(e *llm.Error, ep *endpoint) {
	s := p.secrets(ep)
	if len(s) > 0 {
		var api *APIError
		if errors.As(e.Err, &api) {
			api.Message = s.Clean(api.Message)
			api.Type = s.Clean(api.Type)
			api.RequestID = s.ID(api.RequestID)
		}
	}
	s.Error(e)
}
