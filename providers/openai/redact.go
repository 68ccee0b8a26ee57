package openai

import (
	"bytes"
	"errors"
	"net/http"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/internal/httpguard"
	"github.com/deluge-go/deluge/llm"
)

// Whatever a server sends can end up printed or stored, and a hostile or
// broken server may echo the credentials it was sent: every string the
// provider returns that came from the server is cleaned of the call's
// secrets, and metadata made printable and bounded. The rules live in
// internal/httpguard (Secrets), shared with the other providers; this file
// adds what is go-openai's own (its error types) and the list of a call's
// secrets: the provider's keys (Options.Redact, a model's own key) and the
// credentials the request actually carried, the api-key header and the
// bearer token, read back from the request once the HTTP doers have set
// them, which covers Entra ID tokens that change over time.

const redacted = httpguard.Redacted

// secrets are the strings one call must not let out.
type secrets struct{ httpguard.Secrets }

// secrets returns the secrets of a call to ep whose state is st, in a
// buffer of st (no allocation in the steady state).
func (p *Provider) secrets(ep *endpoint, st *callState) secrets {
	buf := httpguard.Secrets(st.secretBuf[:0]).Add(p.redact...)
	if ep != nil {
		buf = buf.Add(ep.key)
	}
	buf = buf.Add(st.creds[:]...)
	st.secretBuf = buf
	return secrets{buf}
}

func (s secrets) in(v string) bool                        { return s.In(v) }
func (s secrets) clean(v string) string                   { return s.Clean(v) }
func (s secrets) id(v string) string                      { return s.ID(v) }
func (s secrets) header(h http.Header)                    { s.Header(h) }
func (s secrets) filter(f *llm.ContentFilterResults)      { s.Filter(f) }
func (s secrets) filters(fs []llm.ContentFilterResults)   { s.Filters(fs) }
func (s secrets) toolCalls(calls []conversation.ToolCall) { s.ToolCalls(calls) }
func (s secrets) response(r *llm.Response)                { s.Response(r) }
func (s secrets) logprobs(lps []llm.TokenLogprob)         { s.Logprobs(lps) }
func (s secrets) chunk(c *llm.Chunk)                      { s.Chunk(c) }
func printable(v string, max int) string                  { return httpguard.Printable(v, max) }

// cleanError cleans every string of e a caller could print or store: the
// fields of go-openai's error types it wraps, then what every provider
// cleans (httpguard.Secrets.Error: message, request ID, headers, filter
// annotations, the text of wrapped errors).
func (s secrets) cleanError(e *llm.Error) {
	if len(s.Secrets) > 0 {
		var apiErr *goopenai.APIError
		if errors.As(e.Err, &apiErr) {
			apiErr.Message = s.clean(apiErr.Message)
			if c, ok := apiErr.Code.(string); ok {
				apiErr.Code = s.clean(c)
			}
			apiErr.Type = s.clean(apiErr.Type)
			if apiErr.Param != nil {
				p := s.clean(*apiErr.Param)
				apiErr.Param = &p
			}
			if ie := apiErr.InnerError; ie != nil {
				ie.Code = s.clean(ie.Code)
				f := &ie.ContentFilterResults
				f.Hate.Severity, f.SelfHarm.Severity = s.clean(f.Hate.Severity), s.clean(f.SelfHarm.Severity)
				f.Sexual.Severity, f.Violence.Severity = s.clean(f.Sexual.Severity), s.clean(f.Violence.Severity)
			}
		}
		var reqErr *goopenai.RequestError
		if errors.As(e.Err, &reqErr) {
			for _, k := range s.Secrets {
				reqErr.Body = bytes.ReplaceAll(reqErr.Body, []byte(k), []byte(redacted))
			}
		}
	}
	s.Error(e)
}

// redactedError hides a wrapped error's text while keeping it reachable to
// errors.Is and errors.As.
type redactedError = httpguard.RedactedError
