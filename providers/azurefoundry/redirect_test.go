package azurefoundry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
)

// TestRedirectsCarryNoCredentials: Azure's inference routes never redirect.
// An endpoint answering 302/307 (and the other 3xx) to another host over
// plain http gets an error with CodeConfiguration naming
// AZURE_OPENAI_ENDPOINT; neither the api-key nor an Entra ID token reaches
// the other host, and no success is reported, for Generate and Stream, on
// both URL families and with a caller's HTTP client.
func TestRedirectsCarryNoCredentials(t *testing.T) {
	const key = "azure-key-0123456789abcdef"
	const token = "static-entra-token-0123456789"
	var hits atomic.Int64
	var got atomic.Value
	got.Store("")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		got.Store(r.Header.Get("Api-Key") + r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(okBody))
	}))
	defer other.Close()

	auths := map[string]Config{
		"api-key":          {APIKey: key},
		"Entra ID token":   {ADToken: token},
		"Entra credential": {Credential: &fakeCredential{clock: newFakeClock(), life: time.Hour}},
	}
	for _, status := range []int{301, 302, 303, 307, 308} {
		for name, auth := range auths {
			for _, version := range []string{"v1", "2024-10-21"} {
				t.Run(strconv.Itoa(status)+"/"+name+"/"+version, func(t *testing.T) {
					origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						http.Redirect(w, r, other.URL+r.URL.Path, status)
					}))
					defer origin.Close()
					cfg := auth
					cfg.Endpoint, cfg.APIVersion, cfg.Logger = origin.URL, version, quietLogger
					if status == 307 {
						cfg.HTTPClient = &http.Client{} // a caller's client, whose policy would follow
					}
					p, err := New(cfg)
					if err != nil {
						t.Fatal(err)
					}
					defer p.Close()
					resp, err := p.Generate(context.Background(), hello(lookup(t, "azure-gpt-4o")))
					if resp != nil {
						t.Errorf("a redirect produced a response: %+v", resp)
					}
					checkAzureRedirect(t, err, status, other.URL, key, token)

					_, text, err := collect(p.Stream(context.Background(), hello(lookup(t, "azure-gpt-4o"))))
					if text != "" {
						t.Errorf("stream yielded %q", text)
					}
					checkAzureRedirect(t, err, status, other.URL, key, token)
					if n := hits.Load(); n != 0 {
						t.Fatalf("%d requests reached the other host, with credentials %q", n, got.Load())
					}
				})
			}
		}
	}
}

func checkAzureRedirect(t *testing.T, err error, status int, target, key, token string) {
	t.Helper()
	e := asLLMError(t, err)
	if e.Code != llm.CodeConfiguration || !errors.Is(err, openai.ErrRedirect) || e.StatusCode != status {
		t.Errorf("code %q status %d, want configuration %d and ErrRedirect: %v", e.Code, e.StatusCode, status, err)
	}
	for _, w := range []string{"redirecting to " + target, "never redirect", EnvEndpoint} {
		if !strings.Contains(e.Message, w) {
			t.Errorf("message lacks %q: %s", w, e.Message)
		}
	}
	for _, secret := range []string{key, token} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error reveals a secret: %v", err)
		}
	}
}

// TestResponseSizeLimit: Config.MaxResponseBytes bounds Azure replies.
func TestResponseSizeLimit(t *testing.T) {
	big := `{"choices":[{"index":0,"message":{"role":"assistant","content":"` + strings.Repeat("x", 10000) + `"},"finish_reason":"stop"}]}`
	m := newMock(t, func(*http.Request) *http.Response { return jsonResponse(200, big, nil) })
	p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "k", MaxResponseBytes: 4096}, m)
	_, err := p.Generate(context.Background(), hello(lookup(t, "azure-gpt-4o")))
	if e := asLLMError(t, err); e.Code != llm.CodeConfiguration || !errors.Is(err, openai.ErrResponseTooLarge) {
		t.Errorf("err = %v", err)
	}
	p = newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "k"}, m)
	if _, err := p.Generate(context.Background(), hello(lookup(t, "azure-gpt-4o"))); err != nil {
		t.Errorf("within the default limit: %v", err)
	}
}
