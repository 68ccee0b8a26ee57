package azuretest

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
)

// exchange carries one request through the handler and is what Stats records.
type exchange struct {
	w          http.ResponseWriter
	r          *http.Request
	arrival    Arrival
	requestID  string
	apiVersion string // as sent; "v1" on the v1 route when absent
	v1         bool
	// op names the operation in 429 bodies ("" is ChatCompletions_Create).
	op string
	// batchLine marks a batch input line run through a synchronous
	// handler (see batchrun.go): no recording, latency, per-minute quota,
	// resets or stalls.
	batchLine bool
	// dialect words the answers of the shared steps (exchange.go).
	dialect dialect
}

// ServeHTTP implements http.Handler: it routes, authenticates and answers
// one request as Azure would, and records it for Stats.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	h.inFlight.Add(1)
	x := &exchange{w: w, r: r, requestID: newUUID()}
	x.arrival = Arrival{Time: h.now(), Path: r.URL.Path}
	defer func() {
		h.stats.record(x.arrival, h.arrivalLog)
		h.inFlight.Add(-1) // after record: once not in flight, Stats has it
	}()

	hdr := w.Header()
	hdr[hdrApimRequestID] = []string{x.requestID}
	if id := r.Header.Get("x-ms-client-request-id"); id != "" {
		hdr[hdrXMsClientRequestID] = []string{id}
	}

	path := r.URL.EscapedPath()
	// Azure tolerates a doubled leading slash (a recording has one).
	for strings.HasPrefix(path, "//") {
		path = path[1:]
	}
	switch {
	case path == "/openai/v1/chat/completions":
		x.v1 = true
		if h.checkMethod(x, http.MethodPost) && h.checkV1(x) {
			h.chat(x, nil)
		}
	case strings.HasPrefix(path, classicPrefix) && strings.HasSuffix(path, classicSuffix) && len(path) > len(classicPrefix)+len(classicSuffix):
		h.classicChat(x, path[len(classicPrefix):len(path)-len(classicSuffix)])
	case path == AnthropicPath:
		h.anthropic(x)
	case path == ServerlessPath && h.serverless != "":
		h.serverlessChat(x)
	case path == "/openai/v1/models":
		x.v1 = true // the v1 API takes an API key as a bearer token
		if h.checkMethod(x, http.MethodGet) && h.checkV1(x) {
			h.writeJSON(x, http.StatusOK, h.modelsV1)
		}
	case path == "/openai/models":
		if h.checkMethod(x, http.MethodGet) && h.checkClassic(x) {
			h.writeJSON(x, http.StatusOK, h.modelsClassic)
		}
	case path == "/openai/deployments":
		if h.checkMethod(x, http.MethodGet) && h.checkClassic(x) {
			h.writeJSON(x, http.StatusOK, h.deploymentList)
		}
	default:
		if !h.routeAPI(x, path) {
			h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		}
	}
}

const (
	classicPrefix = "/openai/deployments/"
	classicSuffix = "/chat/completions"
)

// classicChat serves /openai/deployments/{escaped}/chat/completions.
// Clients path-escape deployment names, so the name is unescaped here.
func (h *Handler) classicChat(x *exchange, escaped string) {
	name, err := url.PathUnescape(escaped)
	if err != nil || strings.Contains(escaped, "/") {
		h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		return
	}
	if !h.checkMethod(x, http.MethodPost) || !h.checkClassic(x) {
		return
	}
	x.arrival.Deployment = name
	d, ok := h.deployments[name]
	if !ok {
		h.writeError(x, http.StatusNotFound, bodyDeploymentNotFound)
		return
	}
	h.chat(x, d)
}

// checkMethod answers a known path with the wrong method like an unknown path.
func (h *Handler) checkMethod(x *exchange, method string) bool {
	if x.r.Method != method {
		h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		return false
	}
	return true
}

// checkClassic applies the classic routes' order: no api-version is a 404
// (the route does not match), then authentication, then an unsupported
// version is a 400.
func (h *Handler) checkClassic(x *exchange) bool {
	v := x.r.URL.Query().Get("api-version")
	if v == "" {
		h.writeError(x, http.StatusNotFound, bodyResourceNotFound)
		return false
	}
	if !h.authorize(x) {
		return false
	}
	if !h.apiVersions[v] {
		h.writeError(x, http.StatusBadRequest, bodyAPIVersionNotSupported)
		return false
	}
	x.apiVersion = v
	return true
}

// checkV1 authenticates, then accepts no api-version or the two the v1 API
// defines ("v1", "preview"; "latest" was used by the v1 preview).
func (h *Handler) checkV1(x *exchange) bool {
	if !h.authorize(x) {
		return false
	}
	switch v := x.r.URL.Query().Get("api-version"); v {
	case "", "v1":
		x.apiVersion = "v1"
	case "preview", "latest":
		x.apiVersion = v
	default:
		h.writeError(x, http.StatusBadRequest, bodyAPIVersionNotSupported)
		return false
	}
	return true
}

// authorize checks api-key first, then a bearer token (on the v1 route an
// API key is accepted as a bearer token too). A request without either gets
// the api-key 401 body.
func (h *Handler) authorize(x *exchange) bool {
	if len(h.apiKeys) == 0 && len(h.bearerTokens) == 0 {
		return true
	}
	if key := x.r.Header.Get("api-key"); key != "" {
		if h.apiKeys[key] {
			return true
		}
		h.writeError(x, http.StatusUnauthorized, bodyUnauthorizedKey)
		return false
	}
	if auth := x.r.Header.Get("Authorization"); auth != "" {
		scheme, token, _ := strings.Cut(auth, " ")
		token = strings.TrimSpace(token)
		// The v1 API also takes an API key as a bearer token: that is how
		// the plain OpenAI clients send it.
		if strings.EqualFold(scheme, "Bearer") && (h.bearerTokens[token] || x.v1 && h.apiKeys[token]) {
			return true
		}
		h.writeError(x, http.StatusUnauthorized, bodyUnauthorizedBearer)
		return false
	}
	h.writeError(x, http.StatusUnauthorized, bodyUnauthorizedKey)
	return false
}

// writeError writes a JSON error body. 401s carry only apim-request-id, as
// in the recording; other errors also name the region.
func (h *Handler) writeError(x *exchange, status int, body []byte) {
	if status != http.StatusUnauthorized {
		x.w.Header()[hdrXMsRegion] = []string{h.region}
	}
	h.writeJSON(x, status, body)
}

func (h *Handler) writeJSON(x *exchange, status int, body []byte) {
	hdr := x.w.Header()
	hdr[hdrContentType] = []string{"application/json"}
	x.arrival.Status = status
	x.w.WriteHeader(status)
	_, _ = x.w.Write(body)
}

// newUUID returns a random version-4 UUID string.
func newUUID() string {
	var b [36]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // RFC 4122 variant
	var raw [16]byte
	for i := range 8 {
		raw[i] = byte(hi >> (56 - 8*i))
		raw[8+i] = byte(lo >> (56 - 8*i))
	}
	j := 0
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
	return string(b[:])
}
