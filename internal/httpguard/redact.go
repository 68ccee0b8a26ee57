package httpguard

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// Whatever a server sends can end up printed or stored: in an error
// message, a log line, a result file. A hostile or broken server may echo
// the credentials it was sent. So every string a provider returns that
// came from the server (messages, request IDs, region, served model,
// header values, completions, tool calls, content-filter fields) has each
// secret of the call replaced by "[REDACTED]". The secrets are the
// provider's keys and the credentials the request actually carried (read
// back from the request once it was authenticated, which covers Entra ID
// tokens that change over time).
//
// Metadata that is meant to be short and printable (request IDs, region,
// served model, finish reason, error messages) is also stripped of control
// characters, which could rewrite a terminal, and bounded in length.

// Redacted replaces a secret.
const Redacted = "[REDACTED]"

// MinSecretLen keeps a test key such as "k" from blanking every k of a
// reply; real keys and tokens are dozens of characters long.
const MinSecretLen = 4

// Length bounds of server-supplied metadata.
const (
	MaxIDLen      = 256
	MaxMessageLen = 4096
)

// Secrets are the strings one call must not let out. The zero value knows
// none: its methods then only make metadata printable and bounded.
type Secrets []string

// Add returns s with v added, unless v is shorter than [MinSecretLen] or
// already there. It appends to s's array, like append.
func (s Secrets) Add(v ...string) Secrets {
	for _, x := range v {
		if len(x) < MinSecretLen {
			continue
		}
		dup := false
		for _, have := range s {
			if have == x {
				dup = true
				break
			}
		}
		if !dup {
			s = append(s, x)
		}
	}
	return s
}

// In reports whether v contains a secret.
func (s Secrets) In(v string) bool {
	for _, k := range s {
		if strings.Contains(v, k) {
			return true
		}
	}
	return false
}

// Clean returns v with every secret replaced.
func (s Secrets) Clean(v string) string {
	for _, k := range s {
		if strings.Contains(v, k) {
			v = strings.ReplaceAll(v, k, Redacted)
		}
	}
	return v
}

// ID cleans a short server identifier (request ID, region, model name).
func (s Secrets) ID(v string) string { return Printable(s.Clean(v), MaxIDLen) }

// Header cleans the values, and names, of h in place.
func (s Secrets) Header(h http.Header) {
	if len(s) == 0 {
		return
	}
	for k, vs := range h {
		for i, v := range vs {
			if s.In(v) {
				vs[i] = s.Clean(v)
			}
		}
		if name := s.Name(k); name != k {
			delete(h, k)
			h[name] = vs
		}
	}
}

// Name cleans a header name. Names are canonicalized on arrival
// ("X-Echo-Sk-…"), which changes the case of what a server put in them, so
// they are compared without case; most are shorter than any secret.
// Every reply's headers pass here, so a position is tried only where its
// first byte matches the secret's in either ASCII case (header names are
// ASCII: net/http refuses others).
func (s Secrets) Name(k string) string {
	for _, sec := range s {
		if len(k) < len(sec) {
			continue
		}
		lo, up := asciiLower(sec[0]), asciiUpper(sec[0])
		for i := 0; i+len(sec) <= len(k); i++ {
			if c := k[i]; c != lo && c != up {
				continue
			}
			if strings.EqualFold(k[i:i+len(sec)], sec) {
				return s.Name(k[:i] + Redacted + k[i+len(sec):])
			}
		}
	}
	return k
}

// Filter cleans the strings of content-filter annotations.
func (s Secrets) Filter(f *llm.ContentFilterResults) {
	if f == nil {
		return
	}
	for _, r := range []*llm.SeverityResult{&f.Hate, &f.SelfHarm, &f.Sexual, &f.Violence} {
		r.Severity = s.ID(r.Severity)
	}
	for _, r := range []*llm.DetectionResult{&f.Profanity, &f.Jailbreak, &f.IndirectAttack,
		&f.ProtectedMaterialText, &f.ProtectedMaterialCode, &f.UngroundedMaterial} {
		if r.Citation != nil {
			r.Citation.URL = s.Clean(r.Citation.URL)
			r.Citation.License = s.Clean(r.Citation.License)
		}
	}
	for i := range f.CustomBlocklists {
		f.CustomBlocklists[i].ID = s.ID(f.CustomBlocklists[i].ID)
	}
	if f.Error != nil {
		f.Error.Code = s.ID(f.Error.Code)
		f.Error.Message = Printable(s.Clean(f.Error.Message), MaxMessageLen)
	}
}

// Filters cleans a list of content-filter annotations.
func (s Secrets) Filters(fs []llm.ContentFilterResults) {
	for i := range fs {
		s.Filter(&fs[i])
	}
}

// ToolCalls cleans tool calls in place.
func (s Secrets) ToolCalls(calls []conversation.ToolCall) {
	for i := range calls {
		c := &calls[i]
		c.ID, c.Name, c.Arguments = s.Clean(c.ID), s.Clean(c.Name), s.Clean(c.Arguments)
	}
}

// Response cleans a reply in place.
func (s Secrets) Response(r *llm.Response) {
	r.RequestID, r.Region, r.ServedModel = s.ID(r.RequestID), s.ID(r.Region), s.ID(r.ServedModel)
	r.FinishReason = s.ID(r.FinishReason)
	if r.ResponseID != "" || r.Status != "" || r.ServiceTier != "" {
		r.ResponseID, r.Status, r.ServiceTier = s.ID(r.ResponseID), s.ID(r.Status), s.ID(r.ServiceTier)
	}
	if len(s) == 0 {
		return
	}
	r.Completion, r.Refusal = s.Clean(r.Completion), s.Clean(r.Refusal)
	r.ReasoningSummary = s.Clean(r.ReasoningSummary)
	for i := range r.Message.Parts {
		pt := &r.Message.Parts[i]
		pt.Text = s.Clean(pt.Text)
		if tc := pt.ToolCall; tc != nil {
			tc.ID, tc.Name, tc.Arguments = s.Clean(tc.ID), s.Clean(tc.Name), s.Clean(tc.Arguments)
		}
	}
	s.Filter(r.ContentFilter)
	s.Filters(r.PromptFilter)
	s.Logprobs(r.Logprobs)
	s.Header(r.Header)
}

// Logprobs cleans the tokens of log-probabilities (a token never holds a
// whole key, but a hostile server's could).
func (s Secrets) Logprobs(lps []llm.TokenLogprob) {
	for i := range lps {
		lp := &lps[i]
		if s.In(lp.Token) {
			lp.Token, lp.Bytes = s.Clean(lp.Token), nil
		}
		for j := range lp.TopLogprobs {
			if top := &lp.TopLogprobs[j]; s.In(top.Token) {
				top.Token, top.Bytes = s.Clean(top.Token), nil
			}
		}
	}
}

// Chunk cleans a stream chunk in place. A secret split across two chunks
// is not seen: streams are not held back to look for one.
func (s Secrets) Chunk(c *llm.Chunk) {
	if c.RequestID != "" || c.Region != "" || c.ServedModel != "" || c.FinishReason != "" {
		c.RequestID, c.Region, c.ServedModel = s.ID(c.RequestID), s.ID(c.Region), s.ID(c.ServedModel)
		c.FinishReason = s.ID(c.FinishReason)
	}
	if c.ResponseID != "" || c.Status != "" || c.ServiceTier != "" {
		c.ResponseID, c.Status, c.ServiceTier = s.ID(c.ResponseID), s.ID(c.Status), s.ID(c.ServiceTier)
	}
	if len(s) == 0 {
		return
	}
	c.Text, c.Refusal = s.Clean(c.Text), s.Clean(c.Refusal)
	c.ReasoningSummary = s.Clean(c.ReasoningSummary)
	s.ToolCalls(c.ToolCalls)
	s.Filter(c.ContentFilter)
	s.Filters(c.PromptFilter)
	s.Logprobs(c.Logprobs)
	if c.Header != nil {
		s.Header(c.Header)
	}
}

// Error cleans every string of e a caller could print or store: its
// message, request ID, headers and filter annotations, and the text of the
// errors it wraps (one that mentions a secret is replaced by its cleaned
// text, still unwrapping to it). A provider cleans the fields of its own
// wrapped error types first.
func (s Secrets) Error(e *llm.Error) {
	e.Message = Printable(s.Clean(e.Message), MaxMessageLen)
	e.RequestID = s.ID(e.RequestID)
	if len(s) == 0 {
		return
	}
	s.Header(e.Header)
	s.Filter(e.ContentFilter)
	if e.Err != nil {
		if msg := e.Err.Error(); s.In(msg) {
			e.Err = RedactedError{Msg: s.Clean(msg), Err: e.Err}
		}
	}
}

// RedactedError hides a wrapped error's text while keeping it reachable to
// errors.Is and errors.As.
type RedactedError struct {
	Msg string
	Err error
}

func (r RedactedError) Error() string { return r.Msg }
func (r RedactedError) Unwrap() error { return r.Err }

// isBidiControl reports whether r is a Unicode bidirectional formatting
// character (ALM, LRM, RLM, the embeddings, overrides and isolates).
func isBidiControl(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || 0x202a <= r && r <= 0x202e || 0x2066 <= r && r <= 0x2069
}

// Printable returns v without control characters (other than tab and
// newline), bidirectional-text controls (which can make a terminal show
// "exe.txt" for "txt.exe") or invalid UTF-8, cut to at most max bytes. The
// common case, a clean short string, is returned as is.
func Printable(v string, max int) string {
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
		case r < 0x20 && r != '\t' && r != '\n', r == 0x7f, r >= 0x80 && r < 0xa0, isBidiControl(r):
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

func asciiLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func asciiUpper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}
