package openai

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// Whatever a server sends can end up printed or stored: in an error
// message, a log line, a result file. A hostile or broken server may echo
// the credentials it was sent. So every string the provider returns that
// came from the server (messages, request IDs, region, served model,
// header values, completions, tool calls, content-filter fields) has each
// secret of the call replaced by "[REDACTED]". The secrets are the
// provider's keys (Options.Redact, a model's own key) and the credentials
// the request actually carried: the api-key header and the bearer token,
// read back from the request once the HTTP doers have set them, which
// covers Entra ID tokens that change over time.
//
// Metadata that is meant to be short and printable (request IDs, region,
// served model, finish reason, error messages) is also stripped of control
// characters, which could rewrite a terminal, and bounded in length.

const redacted = "[REDACTED]"

// minSecretLen keeps a test key such as "k" from blanking every k of a
// reply; real keys and tokens are dozens of characters long.
const minSecretLen = 4

// Length bounds of server-supplied metadata.
const (
	maxIDLen      = 256
	maxMessageLen = 4096
)

// secrets are the strings one call must not let out.
type secrets []string

// secrets returns the secrets of a call to ep whose state is st, in a
// buffer of st (no allocation in the steady state).
func (p *Provider) secrets(ep *endpoint, st *callState) secrets {
	buf := st.secretBuf[:0]
	add := func(s string) {
		if len(s) < minSecretLen {
			return
		}
		for _, have := range buf {
			if have == s {
				return
			}
		}
		buf = append(buf, s)
	}
	for _, s := range p.redact {
		add(s)
	}
	if ep != nil {
		add(ep.key)
	}
	for _, s := range st.creds {
		add(s)
	}
	st.secretBuf = buf
	return secrets(buf)
}

// in reports whether v contains a secret.
func (s secrets) in(v string) bool {
	for _, k := range s {
		if strings.Contains(v, k) {
			return true
		}
	}
	return false
}

// clean returns v with every secret replaced.
func (s secrets) clean(v string) string {
	for _, k := range s {
		if strings.Contains(v, k) {
			v = strings.ReplaceAll(v, k, redacted)
		}
	}
	return v
}

// id cleans a short server identifier (request ID, region, model name).
func (s secrets) id(v string) string { return printable(s.clean(v), maxIDLen) }

// header cleans the values, and names, of h in place.
func (s secrets) header(h http.Header) {
	if len(s) == 0 {
		return
	}
	for k, vs := range h {
		for i, v := range vs {
			if s.in(v) {
				vs[i] = s.clean(v)
			}
		}
		if name := s.name(k); name != k {
			delete(h, k)
			h[name] = vs
		}
	}
}

// name cleans a header name. Names are canonicalized on arrival
// ("X-Echo-Sk-…"), which changes the case of what a server put in them, so
// they are compared without case; most are shorter than any secret.
func (s secrets) name(k string) string {
	for _, sec := range s {
		if len(k) < len(sec) {
			continue
		}
		for i := 0; i+len(sec) <= len(k); i++ {
			if strings.EqualFold(k[i:i+len(sec)], sec) {
				return s.name(k[:i] + redacted + k[i+len(sec):])
			}
		}
	}
	return k
}

// filter cleans the strings of content-filter annotations.
func (s secrets) filter(f *llm.ContentFilterResults) {
	if f == nil {
		return
	}
	for _, r := range []*llm.SeverityResult{&f.Hate, &f.SelfHarm, &f.Sexual, &f.Violence} {
		r.Severity = s.id(r.Severity)
	}
	for _, r := range []*llm.DetectionResult{&f.Profanity, &f.Jailbreak, &f.IndirectAttack,
		&f.ProtectedMaterialText, &f.ProtectedMaterialCode, &f.UngroundedMaterial} {
		if r.Citation != nil {
			r.Citation.URL = s.clean(r.Citation.URL)
			r.Citation.License = s.clean(r.Citation.License)
		}
	}
	for i := range f.CustomBlocklists {
		f.CustomBlocklists[i].ID = s.id(f.CustomBlocklists[i].ID)
	}
	if f.Error != nil {
		f.Error.Code = s.id(f.Error.Code)
		f.Error.Message = printable(s.clean(f.Error.Message), maxMessageLen)
	}
}

func (s secrets) filters(fs []llm.ContentFilterResults) {
	for i := range fs {
		s.filter(&fs[i])
	}
}

func (s secrets) toolCalls(calls []conversation.ToolCall) {
	for i := range calls {
		c := &calls[i]
		c.ID, c.Name, c.Arguments = s.clean(c.ID), s.clean(c.Name), s.clean(c.Arguments)
	}
}

// response cleans a reply in place.
func (s secrets) response(r *llm.Response) {
	r.RequestID, r.Region, r.ServedModel = s.id(r.RequestID), s.id(r.Region), s.id(r.ServedModel)
	r.FinishReason = s.id(r.FinishReason)
	if r.ResponseID != "" || r.Status != "" || r.ServiceTier != "" {
		r.ResponseID, r.Status, r.ServiceTier = s.id(r.ResponseID), s.id(r.Status), s.id(r.ServiceTier)
	}
	if len(s) == 0 {
		return
	}
	r.Completion, r.Refusal = s.clean(r.Completion), s.clean(r.Refusal)
	r.ReasoningSummary = s.clean(r.ReasoningSummary)
	for i := range r.Message.Parts {
		pt := &r.Message.Parts[i]
		pt.Text = s.clean(pt.Text)
		if tc := pt.ToolCall; tc != nil {
			tc.ID, tc.Name, tc.Arguments = s.clean(tc.ID), s.clean(tc.Name), s.clean(tc.Arguments)
		}
	}
	s.filter(r.ContentFilter)
	s.filters(r.PromptFilter)
	s.logprobs(r.Logprobs)
	s.header(r.Header)
}

// logprobs cleans the tokens of log-probabilities (a token never holds a
// whole key, but a hostile server's could).
func (s secrets) logprobs(lps []llm.TokenLogprob) {
	for i := range lps {
		lp := &lps[i]
		if s.in(lp.Token) {
			lp.Token, lp.Bytes = s.clean(lp.Token), nil
		}
		for j := range lp.TopLogprobs {
			if top := &lp.TopLogprobs[j]; s.in(top.Token) {
				top.Token, top.Bytes = s.clean(top.Token), nil
			}
		}
	}
}

// chunk cleans a stream chunk in place. A secret split across two chunks
// is not seen: streams are not held back to look for one.
func (s secrets) chunk(c *llm.Chunk) {
	if c.RequestID != "" || c.Region != "" || c.ServedModel != "" || c.FinishReason != "" {
		c.RequestID, c.Region, c.ServedModel = s.id(c.RequestID), s.id(c.Region), s.id(c.ServedModel)
		c.FinishReason = s.id(c.FinishReason)
	}
	if c.ResponseID != "" || c.Status != "" || c.ServiceTier != "" {
		c.ResponseID, c.Status, c.ServiceTier = s.id(c.ResponseID), s.id(c.Status), s.id(c.ServiceTier)
	}
	if len(s) == 0 {
		return
	}
	c.Text, c.Refusal = s.clean(c.Text), s.clean(c.Refusal)
	c.ReasoningSummary = s.clean(c.ReasoningSummary)
	s.toolCalls(c.ToolCalls)
	s.filter(c.ContentFilter)
	s.filters(c.PromptFilter)
	s.logprobs(c.Logprobs)
	if c.Header != nil {
		s.header(c.Header)
	}
}

// cleanError cleans every string of e a caller could print or store: its
// message, request ID, headers, filter annotations and the errors it
// wraps (go-openai's, a URL error, a stream error).
func (s secrets) cleanError(e *llm.Error) {
	e.Message = printable(s.clean(e.Message), maxMessageLen)
	e.RequestID = s.id(e.RequestID)
	if len(s) == 0 {
		return
	}
	s.header(e.Header)
	s.filter(e.ContentFilter)
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
		for _, k := range s {
			reqErr.Body = bytes.ReplaceAll(reqErr.Body, []byte(k), []byte(redacted))
		}
	}
	// Anything else wrapped is checked as text; one that mentions a
	// secret is replaced by its cleaned text, still unwrapping to it.
	if e.Err != nil {
		if msg := e.Err.Error(); s.in(msg) {
			e.Err = redactedError{msg: s.clean(msg), err: e.Err}
		}
	}
}

// redactedError hides a wrapped error's text while keeping it reachable to
// errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (r redactedError) Error() string { return r.msg }
func (r redactedError) Unwrap() error { return r.err }

// printable returns v without control characters (other than tab and
// newline) or invalid UTF-8, cut to at most max bytes. The common case, a
// clean short string, is returned as is.
func printable(v string, max int) string {
	clean := len(v) <= max
	if clean {
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 && c != '\t' && c != '\n' || c == 0x7f || c >= 0x80 {
				clean = false
				break
			}
		}
	}
	if clean {
		return v
	}
	var b strings.Builder
	b.Grow(min(len(v), max))
	for _, r := range v {
		switch {
		case r == utf8.RuneError:
			r = '?'
		case r < 0x20 && r != '\t' && r != '\n', r == 0x7f, r >= 0x80 && r < 0xa0:
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
