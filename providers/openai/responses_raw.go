package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// go-openai v1.43.0 has no Responses API, and no public way to send a
// request of one's own through its client. The provider therefore sends
// Responses API requests itself, through the doer chain go-openai's client
// uses (the capture doer, then the caller's doer, then an http.Client that
// refuses redirects), so that they get the same size limits, credential
// read-back, redaction, error capture and, for Azure, the same
// authentication as every chat completion. rawEndpoint holds what go-openai
// would have added to such a request: the URL layout of the API type, the
// api-version, the organization and the key.

// rawEndpoint sends requests go-openai cannot express.
type rawEndpoint struct {
	doer goopenai.HTTPDoer
	// create is the URL of POST responses; prefix and query build the
	// URLs of a stored response (prefix + "/" + id + suffix + query).
	create, prefix, query string
	org                   string
	// authKey and authValue are the credential header go-openai would
	// set ("" when the key is empty: the doer authenticates).
	authKey, authValue string
}

// newRawEndpoint derives the Responses API's URLs and credentials from a
// go-openai configuration; doer is the configuration's capture doer.
// respVersion overrides the api-version on go-openai's Azure API types.
func newRawEndpoint(cc goopenai.ClientConfig, doer goopenai.HTTPDoer, key, respVersion string) rawEndpoint {
	base, _ := normalizeBaseURL(cc.BaseURL) // validated by the caller
	r := rawEndpoint{doer: doer, org: cc.OrgID}
	version := cc.APIVersion
	switch cc.APIType {
	case goopenai.APITypeAzure, goopenai.APITypeAzureAD, goopenai.APITypeCloudflareAzure:
		// Classic Azure: the deployment is the body's model, not a path
		// segment: {endpoint}/openai/responses?api-version=….
		r.prefix = base + "/openai/responses"
		if respVersion != "" {
			version = respVersion
		}
		if key != "" {
			if cc.APIType == goopenai.APITypeAzureAD {
				r.authKey, r.authValue = "Authorization", "Bearer "+key
			} else {
				r.authKey, r.authValue = "Api-Key", key
			}
		}
	default:
		r.prefix = base + "/responses"
		if key != "" {
			r.authKey, r.authValue = "Authorization", "Bearer "+key
		}
	}
	if version != "" {
		r.query = "?" + url.Values{"api-version": {version}}.Encode()
	}
	r.create = r.prefix + r.query
	return r
}

// itemURL is the URL of stored response id, plus suffix ("/cancel").
func (r *rawEndpoint) itemURL(id, suffix string) string {
	return r.prefix + "/" + url.PathEscape(id) + suffix + r.query
}

// do sends one request carrying st in its context. A response that is an
// HTTP error (status ≥ 400) has been read into st by the capture doer and
// is returned closed, with errHTTP.
func (r *rawEndpoint) do(ctx context.Context, st *callState, method, u string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(withState(ctx, st), method, u, rd)
	if err != nil {
		return nil, err
	}
	h := req.Header
	if body != nil {
		h["Content-Type"] = []string{"application/json"}
	}
	if st.stream {
		h["Accept"] = []string{"text/event-stream"}
		h["Cache-Control"] = []string{"no-cache"}
	} else {
		h["Accept"] = []string{"application/json"}
	}
	if r.authKey != "" {
		h[r.authKey] = []string{r.authValue}
	}
	if r.org != "" {
		h["Openai-Organization"] = []string{r.org}
	}
	resp, err := r.doer.Do(req)
	if err != nil {
		return nil, err
	}
	if st.status >= http.StatusBadRequest || st.status < http.StatusOK {
		resp.Body.Close()
		return nil, errHTTP
	}
	return resp, nil
}

// errHTTP marks a request answered with an HTTP error status; the status,
// headers and body are in the call's state.
var errHTTP = errors.New("openai: HTTP error status")

// httpFailure turns a raw request's failure into an *llm.Error: an HTTP
// error is parsed like go-openai's (Err is the *goopenai.APIError the body
// holds, so errors.As works as on the chat path), anything else goes
// through the provider's classifier.
func (p *Provider) httpFailure(ctx context.Context, m registry.Model, ep *endpoint, st *callState, err error) *llm.Error {
	if err == errHTTP {
		err = apiErrorFromBody(st.status, st.body)
	}
	return p.classify(ctx, m, ep, st, err)
}

// apiErrorFromBody is the error go-openai would have returned for an
// error response: the *APIError of an OpenAI error body, else a
// *RequestError holding the body.
func apiErrorFromBody(status int, body []byte) error {
	statusText := strconv.Itoa(status) + " " + http.StatusText(status)
	var resp goopenai.ErrorResponse
	if json.Unmarshal(body, &resp) == nil && resp.Error != nil {
		resp.Error.HTTPStatusCode = status
		resp.Error.HTTPStatus = statusText
		return resp.Error
	}
	return &goopenai.RequestError{HTTPStatusCode: status, HTTPStatus: statusText, Body: bytes.Clone(body)}
}
