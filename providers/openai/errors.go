package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/internal/httpguard"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// quotaRetryAfter is the wait beyond which a 429 is a quota exhaustion
// rather than a rate limit: Azure answers a spent daily quota with "retry
// after 86400 seconds", which must fail over or fail fast, not sleep.
const quotaRetryAfter = time.Hour

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
	secrets{}.cleanError(e) // no secrets known: printable, bounded text only
	return e
}

// classify turns an error from go-openai into an *llm.Error.
func (p *Provider) classify(ctx context.Context, m registry.Model, ep *endpoint, st *callState, err error) *llm.Error {
	e := &llm.Error{Provider: p.name, Model: m.ID, Err: err}
	var (
		apiErr *goopenai.APIError
		redir  *redirectError
		big    = st.overflow
	)
	hasAPI := errors.As(err, &apiErr)
	if big == nil {
		errors.As(err, &big)
	}
	switch {
	case st.status >= http.StatusBadRequest:
		// The doer saw the response, headers and body included.
		fillHTTP(e, st.status, st.header, st.body, apiErr, p.hint, m)
		if st.bodyCut {
			e.Message += fmt.Sprintf(" (the error body was longer than %d bytes; only its start was read)", min(int64(maxErrorBody), p.maxBody))
		}
	case big != nil:
		// Before the context: a cut stream may also see the caller give up.
		e.Code = llm.CodeConfiguration
		e.StatusCode = st.status
		e.Header, e.RequestID = st.header, requestID(st.header)
		e.Message = big.Message()
		if !errors.Is(err, ErrResponseTooLarge) {
			e.Err = fmt.Errorf("%w (%w)", big, err)
		}
	case errors.As(err, &redir):
		e.Code = llm.CodeConfiguration
		e.StatusCode = redir.Status
		e.Header, e.RequestID = st.header, requestID(st.header)
		e.Message = redir.Message()
		if h := p.hint(e.Code, m); h != "" {
			e.Message += "; " + h
		}
	case ctx.Err() != nil:
		httpguard.ContextFailure(e, ctx.Err(), err)
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
		httpguard.NetworkFailure(e, err)
		e.StatusCode = st.status
		if st.header != nil {
			e.Header = st.header
			e.RequestID = requestID(st.header)
		}
	}
	p.secrets(ep, st).cleanError(e)
	return e
}

// fillHTTP classifies an HTTP error from its status, headers and body.
// apiErr, when go-openai parsed one, supplies what the body lacks.
func fillHTTP(e *llm.Error, status int, header http.Header, body []byte, apiErr *goopenai.APIError, hint func(llm.Code, registry.Model) string, m registry.Model) {
	e.StatusCode = status
	if header != nil {
		e.Header = header
		e.RequestID = requestID(header)
	}
	f := parseFailure(status, header, body, apiErr)
	e.RetryAfter = f.RetryAfter
	e.Code = classifyFailure(&f)
	if e.Code == llm.CodeContentFiltered {
		e.ContentFilter = f.ContentFilter
	}
	msg := f.Message
	if hint != nil {
		if h := hint(e.Code, m); h != "" {
			msg = strings.TrimRight(msg, " ") + "; " + h
		}
	}
	e.Message = msg
}

// classifyFailure decides the code of a parsed failure: the status's
// usual code, refined by what the body says (a 400 may be a content
// filter or a context-length error; a 429 may be a spent quota; an error
// event inside a stream has no status, only its type).
func classifyFailure(f *failure) llm.Code {
	code, typ, msg := strings.ToLower(f.Code), strings.ToLower(f.Type), strings.ToLower(f.Message)
	c := llm.CodeForStatus(f.Status)
	switch {
	case code == "content_filter" || strings.EqualFold(f.InnerCode, "ResponsibleAIPolicyViolation"):
		return llm.CodeContentFiltered
	case code == "context_length_exceeded" || code == "string_above_max_length" ||
		strings.Contains(msg, "maximum context length") || strings.Contains(msg, "context_length_exceeded") ||
		strings.Contains(msg, "context window"):
		return llm.CodeContextLength
	case f.Status == http.StatusTooManyRequests || code == "429" || code == "rate_limit_exceeded" ||
		typ == "rate_limit_exceeded" || typ == "insufficient_quota" || code == "insufficient_quota":
		if isQuota(code, typ, msg, f.RetryAfter) {
			return llm.CodeQuotaExceeded
		}
		return llm.CodeRateLimited
	case f.Status == 0:
		// An error event inside a stream carries only its type.
		switch {
		case typ == "server_error" || code == "server_error" || strings.Contains(msg, "overloaded"):
			return llm.CodeUnavailable
		case typ == "invalid_request_error":
			return llm.CodeInvalidRequest
		}
		return llm.CodeUnknown
	case c != llm.CodeInvalidRequest:
		// The status is specific (a 403 "model_not_found" is a permission
		// problem): keep it.
		return c
	case code == "deploymentnotfound" || code == "model_not_found":
		return llm.CodeNotFound
	case code == "invalid_api_key" || code == "401":
		return llm.CodeAuthentication
	}
	return c
}

// isQuota tells a spent quota (hours away, or billing) from a per-minute
// rate limit. Azure's ordinary rate-limit message links to
// aka.ms/oai/quotaincrease, so a bare "quota" substring is not evidence.
// Its arguments are lower case.
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
	case llm.CodeConfiguration:
		return "check the base URL"
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
	case llm.CodeConfiguration:
		return "check " + EnvBaseURL + " (Config.BaseURL) or the model's APIBase"
	}
	return genericHint(c, m)
}
