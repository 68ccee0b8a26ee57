package azurefoundry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestEchoedCredentialsAreRedacted: a server echoing the api-key or the
// Entra ID token (static, or from a credential) in its headers and body
// fields gets it into no error, response or chunk.
func TestEchoedCredentialsAreRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := r.Header.Get("Api-Key") + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
		for _, h := range []string{"Apim-Request-Id", "X-Request-Id", "X-Ms-Region"} {
			w.Header().Set(h, k)
		}
		var req struct {
			Stream   bool `json:"stream"`
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		switch {
		case req.Messages[0].Content == "fail":
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"error":{"code":%s,"message":%s}}`, q(k), q("invalid credential "+k))
		case req.Stream:
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: {\"model\":%s,\"choices\":[{\"index\":0,\"delta\":{\"content\":%s},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", q(k), q("k="+k))
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"model":%s,"choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}]}`, q(k), q("k="+k))
		}
	}))
	defer srv.Close()
	for name, cfg := range map[string]Config{
		"api-key":          {APIKey: "azure-key-0123456789abcdef"},
		"Entra ID token":   {ADToken: "entra-static-token-0123456789"},
		"Entra credential": {Credential: &fakeCredential{clock: newFakeClock(), life: time.Hour}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Endpoint, cfg.Logger = srv.URL, quietLogger
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			m := lookup(t, "azure-gpt-4o")
			secret := cfg.APIKey + cfg.ADToken
			if secret == "" {
				secret = "tok-1" // the fake credential's first token
			}
			var out []string
			resp, err := p.Generate(context.Background(), hello(m))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(resp)
			out = append(out, string(b), fmt.Sprint(resp.Header))
			if resp.Completion != "k=[REDACTED]" {
				t.Errorf("Completion = %q", resp.Completion)
			}
			chunks, _, err := collect(p.Stream(context.Background(), hello(m)))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range chunks {
				b, _ := json.Marshal(c)
				out = append(out, string(b), fmt.Sprint(c.Header))
			}
			req := hello(m)
			req.Messages[0].Parts[0].Text = "fail"
			_, err = p.Generate(context.Background(), req)
			e := asLLMError(t, err)
			out = append(out, err.Error(), fmt.Sprintf("%+v", e.Err), fmt.Sprint(e.Header), e.RequestID)
			for _, s := range out {
				if strings.Contains(s, secret) {
					t.Fatalf("%q leaked: %s", secret, s)
				}
			}
		})
	}
}
