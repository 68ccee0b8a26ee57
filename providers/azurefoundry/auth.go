package azurefoundry

import (
	"net/http"

	goopenai "github.com/sashabaranov/go-openai"
)

// authKind says how a target authenticates, for error messages.
type authKind int

const (
	authNone  authKind = iota // loopback emulator without credentials
	authKey                   // api-key header
	authToken                 // Authorization: Bearer, static or from a credential
)

// auth holds one target's credentials.
type auth struct {
	kind authKind
	key  string
	// tokens is set for authToken.
	tokens tokenSource
	// source names where the key or token came from
	// ("AZURE_OPENAI_API_KEY", "Config.APIKey", a model's APIKeyEnvVar,
	// "AZURE_OPENAI_AD_TOKEN"), for the 401 message.
	source string
	// static marks a fixed token (AZURE_OPENAI_AD_TOKEN), which cannot be
	// refreshed.
	static bool
}

// authDoer is the first link of the HTTP doer chain under go-openai's
// client: it authenticates each request and hands it to the transport.
//
// go-openai sets "api-key" itself for APITypeAzure (empty here, since the
// client is built without a token) and "Authorization: Bearer" for other
// API types when it has a token; the doer removes both and sets exactly
// one, so a request never carries a key and a token together. The request
// is go-openai's own, built for this call, so the doer edits its header in
// place rather than paying for a clone.
type authDoer struct {
	auth *auth
	next goopenai.HTTPDoer
}

// Do implements goopenai.HTTPDoer.
func (d authDoer) Do(req *http.Request) (*http.Response, error) {
	h := req.Header
	h.Del("Authorization")
	h.Del("Api-Key")
	switch d.auth.kind {
	case authKey:
		h["Api-Key"] = []string{d.auth.key}
	case authToken:
		tok, err := d.auth.tokens.token(req.Context())
		if err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
		h["Authorization"] = []string{"Bearer " + tok}
	}
	return d.next.Do(req)
}
