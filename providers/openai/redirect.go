package openai

import (
	"net/http"

	"github.com/deluge-go/deluge/internal/httpguard"
)

// Inference routes (OpenAI's, Azure's, those of the compatible servers) do
// not redirect. A client that follows a redirect re-sends the request, and
// with it the api-key header (net/http strips only Authorization, and only
// across domains), to wherever the server points; a 302 even turns the POST
// into a GET. So the provider follows none: a 3xx becomes an error with
// llm.CodeConfiguration that names where the server pointed. The rules are
// internal/httpguard's, shared with the other providers.

// ErrRedirect is the cause (under errors.Is) of the *llm.Error for a
// response that redirected: a 3xx answer, or a response a caller-supplied
// HTTP doer obtained by following a redirect to another origin. It is the
// same error value for every provider of this module.
var ErrRedirect = httpguard.ErrRedirect

// RefuseRedirects returns an *http.Client that never follows redirects:
// a shallow copy of c (same Transport, Jar and Timeout; c itself is left
// alone) whose CheckRedirect returns the 3xx response to the caller, or a
// new client on a fresh pooled transport when c is nil. Providers built
// with New and NewFromClientConfig apply it to the *http.Client they are
// given; other providers can use it for the clients they build.
func RefuseRedirects(c *http.Client) *http.Client { return httpguard.RefuseRedirects(c) }

// redirectError is the cause of a redirect error.
type redirectError = httpguard.RedirectError

// checkRedirect returns the error for resp when it is a redirect, or was
// reached through one that changed the origin; nil otherwise.
func checkRedirect(req *http.Request, resp *http.Response) *redirectError {
	return httpguard.CheckRedirect(req, resp)
}
