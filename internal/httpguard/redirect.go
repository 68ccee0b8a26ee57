package httpguard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Inference routes (OpenAI's, Azure's, Anthropic's, those of the compatible
// servers) do not redirect. A client that follows a redirect re-sends the
// request, and with it the api-key or x-api-key header (net/http strips
// only Authorization, and only across domains), to wherever the server
// points; a 302 even turns the POST into a GET. So the providers follow
// none: a 3xx becomes an error with llm.CodeConfiguration that names where
// the server pointed.

// ErrRedirect is the cause (under errors.Is) of the *llm.Error for a
// response that redirected: a 3xx answer, or a response a caller-supplied
// HTTP doer obtained by following a redirect to another origin.
var ErrRedirect = errors.New("the server answered with a redirect")

// RefuseRedirects returns an *http.Client that never follows redirects:
// a shallow copy of c (same Transport, Jar and Timeout; c itself is left
// alone) whose CheckRedirect returns the 3xx response to the caller, or a
// new client on a fresh pooled transport ([NewTransport]) when c is nil.
func RefuseRedirects(c *http.Client) *http.Client {
	if c == nil {
		return &http.Client{Transport: NewTransport(), CheckRedirect: refuseRedirect}
	}
	out := *c
	out.CheckRedirect = refuseRedirect
	return &out
}

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// RedirectError is the cause of a redirect error: the status and where the
// server pointed, or, for a redirect a caller's doer followed, where the
// request ended up. It unwraps to [ErrRedirect].
type RedirectError struct {
	Status   int
	From     string // scheme://host of the request
	Location string // where the server pointed: scheme, host and path only
	Followed bool
}

func (e *RedirectError) Error() string {
	if e.Followed {
		return fmt.Sprintf("%v: the HTTP client followed a redirect from %s to %s", ErrRedirect, e.From, e.Location)
	}
	return fmt.Sprintf("%v: HTTP %d to %s", ErrRedirect, e.Status, e.Location)
}

func (e *RedirectError) Unwrap() error { return ErrRedirect }

// Message is the llm.Error message: what happened and what to check.
func (e *RedirectError) Message() string {
	what := fmt.Sprintf("the endpoint %s answered HTTP %d redirecting to %s, which is not followed", e.From, e.Status, e.Location)
	if e.Followed {
		what = fmt.Sprintf("the HTTP client followed a redirect from %s to %s; the reply is refused", e.From, e.Location)
	}
	return what + ": inference routes do not redirect, and following would carry the credentials to another host"
}

// CheckRedirect returns the error for resp when it is a redirect, or was
// reached through one that changed the origin; nil otherwise.
func CheckRedirect(req *http.Request, resp *http.Response) *RedirectError {
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc := resp.Header.Get("Location")
		if u, err := req.URL.Parse(loc); err == nil && loc != "" {
			loc = ShowURL(u)
		} else {
			loc = "(no usable Location header)"
		}
		return &RedirectError{Status: resp.StatusCode, From: origin(req.URL), Location: loc}
	}
	if resp.Request != nil && resp.Request.URL != nil && origin(resp.Request.URL) != origin(req.URL) {
		return &RedirectError{Status: resp.StatusCode, From: origin(req.URL), Location: ShowURL(resp.Request.URL), Followed: true}
	}
	return nil
}

// origin is scheme://host[:port] in lower case.
func origin(u *url.URL) string {
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// ShowURL prints u for a message: scheme, host and path, without user
// information, query or fragment (where a server could echo a secret), and
// at most 200 bytes.
func ShowURL(u *url.URL) string {
	s := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
