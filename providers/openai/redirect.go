package openai

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Inference routes (OpenAI's, Azure's, those of the compatible servers) do
// not redirect. A client that follows a redirect re-sends the request, and
// with it the api-key header (net/http strips only Authorization, and only
// across domains), to wherever the server points; a 302 even turns the POST
// into a GET. So the provider follows none: a 3xx becomes an error with
// llm.CodeConfiguration that names where the server pointed.

// ErrRedirect is the cause (under errors.Is) of the *llm.Error for a
// response that redirected: a 3xx answer, or a response a caller-supplied
// HTTP doer obtained by following a redirect to another origin.
var ErrRedirect = errors.New("the server answered with a redirect")

// RefuseRedirects returns an *http.Client that never follows redirects:
// a shallow copy of c (same Transport, Jar and Timeout; c itself is left
// alone) whose CheckRedirect returns the 3xx response to the caller, or a
// new client on a fresh pooled transport when c is nil. Providers built
// with New and NewFromClientConfig apply it to the *http.Client they are
// given; other providers can use it for the clients they build.
func RefuseRedirects(c *http.Client) *http.Client {
	if c == nil {
		return &http.Client{Transport: newTransport(), CheckRedirect: refuseRedirect}
	}
	out := *c
	out.CheckRedirect = refuseRedirect
	return &out
}

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// redirectError is the cause of a redirect error: the status and where the
// server pointed, or, for a redirect a caller's doer followed, where the
// request ended up.
type redirectError struct {
	status   int
	from     string // scheme://host of the request
	location string // redacted target
	followed bool
}

func (e *redirectError) Error() string {
	if e.followed {
		return fmt.Sprintf("%v: the HTTP client followed a redirect from %s to %s", ErrRedirect, e.from, e.location)
	}
	return fmt.Sprintf("%v: HTTP %d to %s", ErrRedirect, e.status, e.location)
}

func (e *redirectError) Unwrap() error { return ErrRedirect }

// message is the llm.Error message: what happened and what to check.
func (e *redirectError) message() string {
	what := fmt.Sprintf("the endpoint %s answered HTTP %d redirecting to %s, which is not followed", e.from, e.status, e.location)
	if e.followed {
		what = fmt.Sprintf("the HTTP client followed a redirect from %s to %s; the reply is refused", e.from, e.location)
	}
	return what + ": inference routes do not redirect, and following would carry the credentials to another host"
}

// checkRedirect returns the error for resp when it is a redirect, or was
// reached through one that changed the origin; nil otherwise.
func checkRedirect(req *http.Request, resp *http.Response) *redirectError {
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc := resp.Header.Get("Location")
		if u, err := req.URL.Parse(loc); err == nil && loc != "" {
			loc = showURL(u)
		} else {
			loc = "(no usable Location header)"
		}
		return &redirectError{status: resp.StatusCode, from: origin(req.URL), location: loc}
	}
	if resp.Request != nil && resp.Request.URL != nil && origin(resp.Request.URL) != origin(req.URL) {
		return &redirectError{status: resp.StatusCode, from: origin(req.URL), location: showURL(resp.Request.URL), followed: true}
	}
	return nil
}

// origin is scheme://host[:port] in lower case.
func origin(u *url.URL) string {
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// showURL prints u for a message: scheme, host and path, without user
// information, query or fragment (where a server could echo a secret), and
// at most 200 bytes.
func showURL(u *url.URL) string {
	s := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
