package hostile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/openai"
)

const (
	// key is the credential every provider sends; servers echo it.
	key = "sk-hostile-0123456789abcdef"
	// limit is the providers' MaxResponseBytes here: the oversized
	// replies are far larger.
	limit = 1 << 20
	// timeout bounds each attempt (and a stream's silences); deadline is
	// the caller's, which no case may reach.
	timeout  = 400 * time.Millisecond
	deadline = 20 * time.Second
	// allocBound bounds what one case may allocate, client and server
	// together, while the server offers 256 MiB.
	allocBound = 48 << 20
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// A dialect is what a well-behaved server of a wire API sends; the hostile
// handlers start from it and break it.
type dialect struct {
	name string
	// ok is a complete reply body; streamStart the first events of a
	// stream, streamEnd its last.
	ok, streamStart, streamEnd string
	// withText is a reply whose text is s.
	withText func(s string) string
	// errorBody is an error body carrying message.
	errorBody func(message string) string
}

var (
	chat = dialect{
		name:        "chat",
		ok:          `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`,
		streamStart: "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hel\"}}]}\n\n",
		streamEnd:   "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
		withText: func(s string) string {
			b, _ := json.Marshal(s)
			return `{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":` + string(b) + `},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`
		},
		errorBody: func(m string) string {
			b, _ := json.Marshal(m)
			return `{"error":{"message":` + string(b) + `,"type":"invalid_request_error","code":"bad"}}`
		},
	}
	messages = dialect{
		name:        "messages",
		ok:          `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"hello"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}`,
		streamStart: "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":3}}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hel\"}}\n\n",
		streamEnd:   "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
		withText: func(s string) string {
			b, _ := json.Marshal(s)
			return `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":` + string(b) + `}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}`
		},
		errorBody: func(m string) string {
			b, _ := json.Marshal(m)
			return `{"type":"error","error":{"type":"invalid_request_error","message":` + string(b) + `}}`
		},
	}
)

// exchange is what a hostile handler sees of a request.
type exchange struct {
	w      http.ResponseWriter
	r      *http.Request
	d      dialect
	stream bool
	// key is the credential the request carried; quit closes when the
	// case ends; other is the URL of a second server (redirects).
	key   string
	quit  <-chan struct{}
	other string
}

// A mode is how a case calls the client.
type mode int

const (
	gen mode = 1 << iota
	stream
	both = gen | stream
)

// A hostileCase is one kind of misbehaviour.
type hostileCase struct {
	name  string
	modes mode
	serve func(x *exchange)
	// want lists the acceptable codes; ok means a reply is the right
	// outcome (a hostile but valid reply, cleaned).
	want []llm.Code
	ok   bool
	// check, when set, inspects the outcome further.
	check func(t *testing.T, x *outcome)
}

// outcome is what a call returned.
type outcome struct {
	resp   *llm.Response
	chunks []*llm.Chunk
	err    error
	// otherHits counts the requests the redirect target received.
	otherHits int64
}

func write(x *exchange, status int, contentType, body string) {
	x.w.Header().Set("Content-Type", contentType)
	x.w.WriteHeader(status)
	io.WriteString(x.w, body)
}

func flush(x *exchange) { http.NewResponseController(x.w).Flush() }

// stall waits until the client goes away or the case ends.
func stall(x *exchange) {
	select {
	case <-x.r.Context().Done():
	case <-x.quit:
	}
}

// reset drops the connection with a TCP RST.
func reset(x *exchange) {
	conn, _, err := http.NewResponseController(x.w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}

// flood writes n bytes of c, from one small buffer, until the client stops
// reading or the case ends.
func flood(x *exchange, n int64, c byte) {
	buf := bytes.Repeat([]byte{c}, 32<<10)
	for n > 0 {
		select {
		case <-x.quit:
			return
		default:
		}
		k := min(n, int64(len(buf)))
		if _, err := x.w.Write(buf[:k]); err != nil {
			return
		}
		n -= k
	}
}

func streamHeaders(x *exchange) {
	x.w.Header().Set("Content-Type", "text/event-stream")
	x.w.WriteHeader(http.StatusOK)
}

var cases = []hostileCase{
	{name: "truncated body, Content-Length says more", modes: gen, want: []llm.Code{llm.CodeUnavailable},
		serve: func(x *exchange) {
			x.w.Header().Set("Content-Length", fmt.Sprint(len(x.d.ok)))
			write(x, 200, "application/json", x.d.ok[:len(x.d.ok)/2])
		}},
	{name: "truncated JSON", modes: gen, want: []llm.Code{llm.CodeUnknown},
		serve: func(x *exchange) { write(x, 200, "application/json", x.d.ok[:len(x.d.ok)/2]) }},
	{name: "empty 200", modes: both, want: []llm.Code{llm.CodeUnknown, llm.CodeUnavailable},
		serve: func(x *exchange) { write(x, 200, "application/json", "") }},
	{name: "wrong-typed JSON", modes: gen, want: []llm.Code{llm.CodeUnknown},
		serve: func(x *exchange) {
			write(x, 200, "application/json", `{"choices":"none","content":{"type":7},"usage":[1,2]}`)
		}},
	{name: "HTML 200", modes: both, want: []llm.Code{llm.CodeUnknown, llm.CodeUnavailable},
		serve: func(x *exchange) { write(x, 200, "text/html", "<html><body>Welcome to nginx!</body></html>") }},
	{name: "HTML 502", modes: both, want: []llm.Code{llm.CodeUnavailable},
		serve: func(x *exchange) { write(x, 502, "text/html", "<html><h1>502 Bad Gateway</h1></html>") }},
	{name: "oversized body", modes: gen, want: []llm.Code{llm.CodeConfiguration},
		check: func(t *testing.T, o *outcome) { assert.ErrorIs(t, o.err, openai.ErrResponseTooLarge) },
		serve: func(x *exchange) {
			x.w.Header().Set("Content-Type", "application/json")
			x.w.WriteHeader(200)
			io.WriteString(x.w, `{"choices":[{"message":{"content":"`)
			flood(x, 256<<20, 'a')
		}},
	{name: "oversized Content-Length", modes: gen, want: []llm.Code{llm.CodeConfiguration},
		check: func(t *testing.T, o *outcome) { assert.ErrorIs(t, o.err, openai.ErrResponseTooLarge) },
		serve: func(x *exchange) {
			x.w.Header().Set("Content-Length", fmt.Sprint(int64(10)<<30))
			write(x, 200, "application/json", x.d.ok)
		}},
	{name: "oversized stream line", modes: stream, want: []llm.Code{llm.CodeConfiguration},
		check: func(t *testing.T, o *outcome) { assert.ErrorIs(t, o.err, openai.ErrResponseTooLarge) },
		serve: func(x *exchange) {
			streamHeaders(x)
			io.WriteString(x.w, "data: ")
			flood(x, 256<<20, 'a')
		}},
	{name: "stream cut", modes: stream, want: []llm.Code{llm.CodeUnavailable, llm.CodeUnknown},
		serve: func(x *exchange) {
			streamHeaders(x)
			io.WriteString(x.w, x.d.streamStart)
			flush(x)
		}},
	{name: "stream reset", modes: stream, want: []llm.Code{llm.CodeUnavailable},
		serve: func(x *exchange) {
			streamHeaders(x)
			io.WriteString(x.w, x.d.streamStart)
			flush(x)
			reset(x)
		}},
	{name: "stream stalls", modes: stream, want: []llm.Code{llm.CodeTimeout},
		serve: func(x *exchange) {
			streamHeaders(x)
			io.WriteString(x.w, x.d.streamStart)
			flush(x)
			stall(x)
		}},
	{name: "stream of keep-alive comments", modes: stream, want: []llm.Code{llm.CodeTimeout, llm.CodeUnknown, llm.CodeUnavailable},
		serve: func(x *exchange) {
			streamHeaders(x)
			io.WriteString(x.w, x.d.streamStart)
			for {
				if _, err := io.WriteString(x.w, ": keep-alive\n\n"); err != nil {
					return
				}
				flush(x)
				select {
				case <-x.quit:
					return
				case <-x.r.Context().Done():
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}},
	{name: "no response", modes: both, want: []llm.Code{llm.CodeTimeout},
		serve: stall},
	{name: "stall mid-body", modes: gen, want: []llm.Code{llm.CodeTimeout},
		serve: func(x *exchange) {
			x.w.Header().Set("Content-Type", "application/json")
			x.w.WriteHeader(200)
			io.WriteString(x.w, x.d.ok[:10])
			flush(x)
			stall(x)
		}},
	{name: "slow drip", modes: gen, want: []llm.Code{llm.CodeTimeout},
		serve: func(x *exchange) {
			x.w.Header().Set("Content-Type", "application/json")
			x.w.WriteHeader(200)
			for i := range len(x.d.ok) {
				if _, err := io.WriteString(x.w, x.d.ok[i:i+1]); err != nil {
					return
				}
				flush(x)
				select {
				case <-x.quit:
					return
				case <-x.r.Context().Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}},
	{name: "connection reset", modes: both, want: []llm.Code{llm.CodeUnavailable},
		serve: reset},
	{name: "retry-after-ms 1e300", modes: both, want: []llm.Code{llm.CodeQuotaExceeded},
		serve: func(x *exchange) {
			x.w.Header().Set("Retry-After-Ms", "1e300")
			write(x, 429, "application/json", x.d.errorBody("slow down"))
		}},
	{name: "retry-after in the year 2999", modes: gen, want: []llm.Code{llm.CodeQuotaExceeded},
		serve: func(x *exchange) {
			x.w.Header().Set("Retry-After", "Wed, 21 Oct 2999 07:28:00 GMT")
			write(x, 429, "application/json", x.d.errorBody("slow down"))
		}},
	{name: "negative retry-after", modes: gen, want: []llm.Code{llm.CodeUnavailable},
		serve: func(x *exchange) {
			x.w.Header().Set("Retry-After", "-30")
			x.w.Header().Set("Retry-After-Ms", "NaN")
			write(x, 503, "application/json", x.d.errorBody("busy"))
		}},
	{name: "redirect to another host", modes: both, want: []llm.Code{llm.CodeConfiguration},
		check: func(t *testing.T, o *outcome) {
			assert.ErrorIs(t, o.err, openai.ErrRedirect)
			assert.Zero(t, o.otherHits, "the other host received nothing")
		},
		serve: func(x *exchange) {
			x.w.Header().Set("Location", x.other+x.r.URL.Path)
			x.w.WriteHeader(http.StatusTemporaryRedirect)
		}},
	{name: "302 to the same host", modes: gen, want: []llm.Code{llm.CodeConfiguration},
		check: func(t *testing.T, o *outcome) { assert.ErrorIs(t, o.err, openai.ErrRedirect) },
		serve: func(x *exchange) {
			x.w.Header().Set("Location", "/elsewhere?key="+x.key)
			x.w.WriteHeader(http.StatusFound)
		}},
	{name: "echoed key in an error", modes: both, want: []llm.Code{llm.CodeAuthentication},
		serve: func(x *exchange) {
			x.w.Header().Set("Apim-Request-Id", "req-"+x.key)
			x.w.Header().Set("Request-Id", "req-"+x.key)
			x.w.Header().Set("X-Echo-"+x.key, x.key)
			write(x, 401, "application/json", x.d.errorBody("invalid key "+x.key))
		}},
	{name: "echoed key in a reply", modes: both, ok: true,
		serve: func(x *exchange) {
			x.w.Header().Set("Apim-Request-Id", "req-"+x.key)
			x.w.Header().Set("Request-Id", "req-"+x.key)
			x.w.Header().Set("X-Echo", x.key)
			if x.stream {
				streamHeaders(x)
				io.WriteString(x.w, strings.ReplaceAll(x.d.streamStart, `"hel"`, `"`+x.key+`"`)+x.d.streamEnd)
				return
			}
			write(x, 200, "application/json", x.d.withText("your key is "+x.key))
		}},
	{name: "terminal escapes in an error", modes: gen, want: []llm.Code{llm.CodeInvalidRequest},
		check: func(t *testing.T, o *outcome) {
			msg := o.err.Error()
			assert.NotContains(t, msg, "\x1b", "no control characters reach a terminal")
			assert.NotContains(t, msg, "\u202e", "no bidirectional overrides either")
			var le *llm.Error
			require.ErrorAs(t, o.err, &le)
			assert.LessOrEqual(t, len(le.RequestID), 256+len("…"), "request IDs are bounded")
		},
		serve: func(x *exchange) {
			// net/http refuses control characters in header values; a
			// bidirectional override and a huge ID get through.
			id := "req-\u202egnp.exe-" + strings.Repeat("9", 10_000)
			x.w.Header().Set("Apim-Request-Id", id)
			x.w.Header().Set("Request-Id", id)
			write(x, 400, "application/json", x.d.errorBody("bad \x1b[31mred\x1b[0m \u202etxt.exe "+strings.Repeat("x", 100_000)))
		}},
	{name: "gzip that is not gzip", modes: gen, want: []llm.Code{llm.CodeUnavailable, llm.CodeUnknown},
		serve: func(x *exchange) {
			x.w.Header().Set("Content-Encoding", "gzip")
			write(x, 200, "application/json", x.d.ok)
		}},
}

// A target is one provider as a client reaches it.
type target struct {
	name  string
	model string
	d     dialect
	new   func(url string) (llm.Provider, error)
}

var targets = []target{
	{"azure-foundry", "azure-gpt-4o-mini", chat, func(url string) (llm.Provider, error) {
		return azurefoundry.New(azurefoundry.Config{Endpoint: url, APIKey: key, MaxResponseBytes: limit, Logger: quiet})
	}},
	{"openai", "gpt-4o-mini", chat, func(url string) (llm.Provider, error) {
		return openai.New(openai.Config{APIKey: key, BaseURL: url + "/v1", MaxResponseBytes: limit})
	}},
	{"anthropic", "claude-sonnet-4-5", messages, func(url string) (llm.Provider, error) {
		return anthropic.New(anthropic.Config{APIKey: key, BaseURL: url, MaxResponseBytes: limit})
	}},
}

// TestHostileServers drives every target through every case, in each of
// its modes, one at a time (the goroutine count is the process's).
func TestHostileServers(t *testing.T) {
	if testing.Short() {
		t.Skip("the hostile-server suite waits out timeouts")
	}
	for _, tg := range targets {
		for _, c := range cases {
			for _, m := range []mode{gen, stream} {
				if c.modes&m == 0 {
					continue
				}
				name := fmt.Sprintf("%s/%s/%s", tg.name, c.name, map[mode]string{gen: "Generate", stream: "Stream"}[m])
				t.Run(name, func(t *testing.T) { runCase(t, tg, c, m) })
			}
		}
	}
}

func runCase(t *testing.T, tg target, c hostileCase, m mode) {
	before := runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocBefore := ms.TotalAlloc

	var otherHits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		io.WriteString(w, tg.d.ok)
	}))
	quit := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var req struct {
			Stream bool `json:"stream"`
		}
		json.Unmarshal(body, &req)
		x := &exchange{w: w, r: r, d: tg.d, stream: req.Stream, quit: quit, other: other.URL}
		x.key = cmpOr(r.Header.Get("Api-Key"), r.Header.Get("X-Api-Key"), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		c.serve(x)
	}))

	p, err := tg.new(srv.URL)
	require.NoError(t, err)
	client, err := llm.NewClient(tg.model, llm.WithProviderInstance(p), llm.WithLogger(quiet),
		llm.WithMaxAttempts(2), llm.WithRetryBackoff(5*time.Millisecond, 20*time.Millisecond),
		llm.WithRequestTimeout(timeout), llm.WithStreamIdleTimeout(timeout),
		llm.WithMaxRequestsPerMinute(-1), llm.WithMaxTokensPerMinute(-1))
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	conv := conversation.New().User("hello")
	var o outcome
	if m == gen {
		o.resp, o.err = client.Generate(ctx, conv)
	} else {
		for ch, err := range client.Stream(ctx, conv) {
			if err != nil {
				o.err = err
				break
			}
			o.chunks = append(o.chunks, ch)
		}
	}
	ctxErr := ctx.Err()
	cancel()
	o.otherHits = otherHits.Load()

	// Tear down, then check that nothing is left running.
	close(quit)
	if cl, ok := p.(llm.Closer); ok {
		cl.Close()
	}
	srv.CloseClientConnections()
	srv.Close()
	other.Close()

	require.NoError(t, ctxErr, "the call reached the caller's deadline: it should have ended by itself")
	if c.ok {
		require.NoError(t, o.err)
	} else {
		require.Error(t, o.err, "a hostile reply was accepted")
		var le *llm.Error
		require.ErrorAs(t, o.err, &le, "not a typed error: %T %v", o.err, o.err)
		assert.Contains(t, c.want, le.Code, "code %q: %v", le.Code, o.err)
		assert.LessOrEqual(t, len(le.Message), 4096+len("…")+200, "messages are bounded")
	}
	noSecret(t, &o)
	if c.check != nil {
		c.check(t, &o)
	}

	runtime.ReadMemStats(&ms)
	assert.Less(t, ms.TotalAlloc-allocBefore, uint64(allocBound), "allocated %d MiB", (ms.TotalAlloc-allocBefore)>>20)
	checkGoroutines(t, before)
}

// noSecret fails when the key appears in anything the call returned.
func noSecret(t *testing.T, o *outcome) {
	t.Helper()
	var b strings.Builder
	if o.err != nil {
		b.WriteString(o.err.Error())
		var le *llm.Error
		if errors.As(o.err, &le) {
			fmt.Fprint(&b, le.RequestID, le.Header)
			for e := le.Err; e != nil; e = errors.Unwrap(e) {
				b.WriteString(e.Error())
			}
		}
	}
	if o.resp != nil {
		j, _ := json.Marshal(o.resp)
		b.Write(j)
		fmt.Fprint(&b, o.resp.Header)
	}
	for _, c := range o.chunks {
		j, _ := json.Marshal(c)
		b.Write(j)
		fmt.Fprint(&b, c.Header)
	}
	assert.NotContains(t, b.String(), key, "the key came out")
}

// checkGoroutines waits for the goroutine count to come back to before
// (connections closing, handlers returning), and fails with the stacks of
// those left when it does not.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	var n int
	for range 500 {
		if n = runtime.NumGoroutine(); n <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	t.Errorf("%d goroutines left behind (%d before):\n%s", n-before, before, buf)
}

func cmpOr(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
