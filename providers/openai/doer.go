package openai

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/internal/httpguard"
)

// go-openai returns neither the status nor the headers of a failed
// response, and it decodes Azure's content-filter annotations into lossy
// types. The provider therefore puts a captureDoer in front of the
// configured HTTP client. Each call passes a *callState through the request
// context; the doer records the status and headers in it and keeps the
// body of errors and of non-streaming replies.
//
// A non-streaming 2xx body is then decoded once, by the provider, into its
// own wire type (annotations included); go-openai is handed "{}" to decode
// in its place. Decoding the body twice (go-openai's types, then the
// annotations) would double the parsing cost of every Azure reply, all of
// which carry annotations. go-openai still builds and sends the request,
// authenticates it, and parses error bodies and event streams.

// maxPooledBuffer bounds the buffer a pooled callState keeps between calls,
// so that one huge response does not pin memory for the process's life.
const maxPooledBuffer = httpguard.MaxPooledBuffer

// emptyObject is what go-openai decodes in place of a reply the provider
// parses itself.
var emptyObject = []byte("{}")

type stateKey struct{}

// callState is the per-call scratch space shared between the provider and
// its doer. It is pooled: one allocation-free struct per call in the steady
// state (plus the context value holding it).
type callState struct {
	// Set by the provider before the call.
	stream   bool
	zeroTemp bool // send "temperature":0, which go-openai omits
	zeroTopP bool // send "top_p":0, likewise

	// Set by the doer.
	sent   bool // the request reached the HTTP client
	status int
	header http.Header
	// body is the error body or the non-streaming reply; it aliases buf
	// and is valid until the state is put back.
	body []byte
	buf  bytes.Buffer
	stub stubBody
	// dec decodes the reply or the stream's events.
	dec docDecoder
	// creds are the credentials the request carried (the api-key header,
	// the bearer token), read back once the doers set them, for redaction;
	// secretBuf backs the call's list of secrets.
	creds     [2]string
	secretBuf []string
	// bodyCut is set when an error body was longer than maxErrorBody and
	// only its start was read; overflow when a stream broke the size
	// limit (go-openai may report another error in its place).
	bodyCut  bool
	overflow *tooLargeError
}

// stubBody is the "{}" body handed to go-openai; it lives in the pooled
// state so that swapping bodies allocates nothing.
type stubBody struct{ r bytes.Reader }

func (b *stubBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *stubBody) Close() error               { return nil }

var statePool = sync.Pool{New: func() any { return new(callState) }}

func getState() *callState { return statePool.Get().(*callState) }

func putState(st *callState) {
	st.stream, st.zeroTemp, st.zeroTopP = false, false, false
	st.sent, st.status, st.header, st.body = false, 0, nil, nil
	st.creds = [2]string{}
	st.bodyCut, st.overflow = false, nil
	clear(st.secretBuf)
	st.secretBuf = st.secretBuf[:0]
	if st.buf.Cap() > maxPooledBuffer {
		st.buf = bytes.Buffer{}
	} else {
		st.buf.Reset()
	}
	st.dec.reset()
	statePool.Put(st)
}

func withState(ctx context.Context, st *callState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

// captureDoer records the response of each call into the call's state,
// and bounds what it reads by limit (see DefaultMaxResponseBytes).
type captureDoer struct {
	next  goopenai.HTTPDoer
	limit int64
}

// Do implements goopenai.HTTPDoer.
func (d captureDoer) Do(req *http.Request) (*http.Response, error) {
	st, _ := req.Context().Value(stateKey{}).(*callState)
	if st == nil {
		return d.next.Do(req)
	}
	if st.zeroTemp || st.zeroTopP {
		var err error
		if req, err = addZeroSampling(req, st.zeroTemp, st.zeroTopP); err != nil {
			return nil, err
		}
	}
	st.sent = true
	resp, err := d.next.Do(req)
	st.recordCreds(req.Header)
	if err != nil {
		return resp, err
	}
	st.status = resp.StatusCode
	st.header = resp.Header
	if rerr := checkRedirect(req, resp); rerr != nil {
		// Not read: the connection is dropped rather than drained.
		resp.Body.Close()
		return nil, rerr
	}
	switch {
	case resp.StatusCode < http.StatusOK || resp.StatusCode >= http.StatusBadRequest:
		// go-openai reads the error body itself; keep a copy for the
		// classifier (innererror.content_filter_result, error codes). A
		// longer body is cut: the status still classifies the error.
		body, cut, rerr := httpguard.ReadErrorBody(&st.buf, resp.Body, d.limit)
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		st.body, st.bodyCut = body, cut
		resp.Body = io.NopCloser(bytes.NewReader(st.body))
	case !st.stream:
		body, rerr := httpguard.ReadBody(&st.buf, resp.Body, resp.ContentLength, d.limit)
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		st.body = body
		st.stub.r.Reset(emptyObject)
		resp.Body = &st.stub
	default:
		resp.Body = &sseLimiter{r: resp.Body, limit: d.limit, st: st}
	}
	return resp, nil
}

// recordCreds keeps the credentials a request carried. The doers under
// this one (go-openai's, an authenticating doer) set them on the request
// in place, so they are read after Do.
func (st *callState) recordCreds(h http.Header) {
	if v := h["Api-Key"]; len(v) > 0 {
		st.creds[0] = v[0]
	}
	if v := h["Authorization"]; len(v) > 0 {
		a := v[0]
		if len(a) > len("Bearer ") && strings.EqualFold(a[:len("Bearer ")], "Bearer ") {
			a = a[len("Bearer "):]
		}
		st.creds[1] = a
	}
}

// addZeroSampling returns req with "temperature":0 and/or "top_p":0 added to
// its JSON body. go-openai declares both as float32 with omitempty, so an
// explicit zero (greedy decoding, common in batch evaluation) would otherwise
// silently become the server's default of 1. Only requests that ask for a
// zero pay for this copy.
func addZeroSampling(req *http.Request, temp, topP bool) (*http.Request, error) {
	if req.GetBody == nil {
		return req, nil
	}
	rc, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	body = insertZeroSampling(body, temp, topP)
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return out, nil
}

// insertZeroSampling adds the fields right after the opening brace of a JSON
// object. The keys cannot already be present: go-openai omitted them.
func insertZeroSampling(body []byte, temp, topP bool) []byte {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) < 2 || trimmed[0] != '{' {
		return body
	}
	var b bytes.Buffer
	b.Grow(len(trimmed) + 32)
	b.WriteByte('{')
	if temp {
		b.WriteString(`"temperature":0`)
	}
	if topP {
		if temp {
			b.WriteByte(',')
		}
		b.WriteString(`"top_p":0`)
	}
	rest := bytes.TrimLeft(trimmed[1:], " \t\r\n")
	if len(rest) > 0 && rest[0] != '}' {
		b.WriteByte(',')
	}
	b.Write(rest)
	return b.Bytes()
}
