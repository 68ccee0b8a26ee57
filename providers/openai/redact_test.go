package openai_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

// echoServer is a hostile server: it puts the credential it receives (the
// bearer token or the api-key) in every header and every body field it
// sends, for the reply shape named by the request's model.
func echoServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") + r.Header.Get("Api-Key")
		var req struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		for _, h := range []string{"Apim-Request-Id", "X-Request-Id", "X-Ms-Region", "X-Ratelimit-Remaining-Requests", "Retry-After", "X-Echo"} {
			w.Header().Set(h, "id-"+k)
		}
		w.Header().Set("X-Echo-"+k, "1")
		q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
		filter := `{"hate":{"filtered":false,"severity":` + q(k) + `},` +
			`"protected_material_code":{"filtered":false,"detected":true,"citation":{"URL":` + q("https://x/"+k) + `,"license":` + q(k) + `}},` +
			`"custom_blocklists":[{"filtered":false,"id":` + q(k) + `}],"error":{"code":` + q(k) + `,"message":` + q("filter "+k) + `}}`
		apiError := `{"error":{"message":` + q("bad key "+k) + `,"type":` + q(k) + `,"param":` + q(k) + `,"code":` + q(k) +
			`,"innererror":{"code":` + q(k) + `}}}`
		switch req.Model {
		case "ok":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"model":%s,"choices":[{"index":0,"message":{"role":"assistant","content":%s,"refusal":%s,
				"tool_calls":[{"id":%s,"type":"function","function":{"name":%s,"arguments":%s}}]},
				"finish_reason":%s,"content_filter_results":%s}],"prompt_filter_results":[{"prompt_index":0,"content_filter_results":%s}],
				"usage":{"prompt_tokens":1,"completion_tokens":1}}`,
				q(k), q("your key is "+k), q(k), q(k), q(k), q(`{"k":"`+k+`"}`), q(k), filter, filter)
		case "stream", "stream-error", "stream-malformed", "stream-cut":
			w.Header().Set("Content-Type", "text/event-stream")
			ev := func(s string) { fmt.Fprintf(w, "data: %s\n\n", s) }
			ev(`{"choices":[],"prompt_filter_results":[{"prompt_index":0,"content_filter_results":` + filter + `}]}`)
			ev(`{"model":` + q(k) + `,"choices":[{"index":0,"delta":{"content":` + q("key "+k) + `,"refusal":` + q(k) +
				`,"tool_calls":[{"index":0,"id":` + q(k) + `,"function":{"name":` + q(k) + `,"arguments":` + q(k) + `}}]},"content_filter_results":` + filter + `}]}`)
			switch req.Model {
			case "stream-error":
				ev(apiError)
				return
			case "stream-malformed":
				ev(`{"choices":[` + k)
				return
			case "stream-cut":
				return
			}
			ev(`{"choices":[{"index":0,"delta":{},"finish_reason":` + q(k) + `}]}`)
			ev(`{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)
			ev("[DONE]")
		case "html":
			w.WriteHeader(502)
			fmt.Fprintf(w, "<html>proxy error for key %s</html>", k)
		case "429":
			w.Header().Set("Retry-After", "0.001")
			w.WriteHeader(429)
			w.Write([]byte(apiError))
		default: // "400", "500"
			status := 400
			fmt.Sscan(req.Model, &status)
			w.WriteHeader(status)
			w.Write([]byte(apiError))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestEchoedSecretsAreRedacted: whatever field a server echoes the key
// in, it reaches no error text, no Response or Chunk (as JSON, as headers)
// and no log line of the Client.
func TestEchoedSecretsAreRedacted(t *testing.T) {
	const key = "sk-echoed-0123456789abcdef"
	srv := echoServer(t)
	p, err := openai.New(openai.Config{APIKey: key, BaseURL: srv.URL + "/v1"})
	require.NoError(t, err)
	var logs bytes.Buffer

	var out []string
	record := func(v ...any) {
		for _, x := range v {
			switch x := x.(type) {
			case *llm.Response:
				if x != nil {
					b, _ := json.Marshal(x)
					out = append(out, string(b), fmt.Sprintf("%+v", *x), fmt.Sprint(x.Header))
				}
			case *llm.Chunk:
				if x != nil {
					b, _ := json.Marshal(x)
					out = append(out, string(b), fmt.Sprintf("%+v", *x), fmt.Sprint(x.Header),
						fmt.Sprintf("%+v %+v", x.ContentFilter, x.PromptFilter))
				}
			case error:
				var le *llm.Error
				require.ErrorAs(t, x, &le)
				b, _ := json.Marshal(le)
				out = append(out, x.Error(), fmt.Sprintf("%+v", x), string(b), fmt.Sprint(le.Header), le.RequestID,
					fmt.Sprintf("%+v", le.ContentFilter), fmt.Sprintf("%+v", le.Err))
			case llm.Stats:
				out = append(out, fmt.Sprintf("%+v", x))
			}
		}
	}
	for _, wire := range []string{"ok", "400", "429", "500", "html", "stream", "stream-error", "stream-malformed", "stream-cut"} {
		m := model(wire)
		req := &llm.Request{Model: m, Messages: conversation.New().User("hi").Messages()}
		if strings.HasPrefix(wire, "stream") {
			var sawText bool
			for ch, err := range p.Stream(t.Context(), req) {
				record(ch, err)
				if ch != nil && ch.Text != "" {
					sawText = true
					assert.Equal(t, "key [REDACTED]", ch.Text, "the secret is replaced, the rest kept")
				}
			}
			assert.True(t, sawText, wire)
			continue
		}
		resp, err := p.Generate(t.Context(), req)
		record(resp, err)
		if wire == "ok" {
			require.NoError(t, err)
			assert.Equal(t, "your key is [REDACTED]", resp.Completion)
			assert.Equal(t, "id-[REDACTED]", resp.RequestID)
		} else {
			require.Error(t, err, wire)
		}
	}
	// Through the Client: retries and cooldowns log request IDs.
	for _, wire := range []string{"ok", "429", "500", "400"} {
		id := "echo-test-" + wire
		registry.Register(registry.Model{ID: id, Provider: openai.ProviderName, Name: wire}) // an error: registered by an earlier run
		c, err := llm.NewClient(id, llm.WithProviderInstance(p), llm.WithMaxAttempts(2),
			llm.WithRetryBackoff(time.Millisecond, time.Millisecond),
			llm.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		require.NoError(t, err)
		resp, err := c.Generate(t.Context(), conversation.New().User("hi"))
		record(resp, err)
		var st llm.Stats = c.Stats()
		record(st)
	}
	out = append(out, logs.String())
	require.NotEmpty(t, logs.String(), "the Client logged something to check")
	for _, s := range out {
		require.NotContains(t, s, key)
	}
}
