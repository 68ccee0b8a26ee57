package azurefoundry

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// TestWireRequest asserts the exact request for every URL family and
// authentication kind.
func TestWireRequest(t *testing.T) {
	clock := newFakeClock()
	cred := &fakeCredential{clock: clock, life: time.Hour}
	tests := []struct {
		name       string
		cfg        Config
		model      string
		wantPath   string
		wantQuery  string
		wantKey    string // api-key header; "" means absent
		wantBearer string // Authorization; "" means absent
		wantModel  string // body "model"
	}{
		{
			name:     "v1 default with key",
			cfg:      Config{Endpoint: testEndpoint, APIKey: "secret-key-1"},
			model:    "azure-gpt-4o",
			wantPath: "/openai/v1/chat/completions", wantKey: "secret-key-1", wantModel: "gpt-4o",
		},
		{
			name:     "v1 explicit, endpoint pasted with /openai/v1/",
			cfg:      Config{Endpoint: testEndpoint + "/openai/v1/", APIKey: "secret-key-1", APIVersion: "v1"},
			model:    "azure-gpt-4.1",
			wantPath: "/openai/v1/chat/completions", wantKey: "secret-key-1", wantModel: "gpt-4.1",
		},
		{
			name:     "v1 preview",
			cfg:      Config{Endpoint: testEndpoint, APIKey: "secret-key-1", APIVersion: "preview"},
			model:    "azure-gpt-4o-mini",
			wantPath: "/openai/v1/chat/completions", wantQuery: "api-version=preview", wantKey: "secret-key-1", wantModel: "gpt-4o-mini",
		},
		{
			name:     "classic GA with key",
			cfg:      Config{Endpoint: testEndpoint, APIKey: "secret-key-1", APIVersion: "2024-10-21"},
			model:    "azure-gpt-4o",
			wantPath: "/openai/deployments/gpt-4o/chat/completions", wantQuery: "api-version=2024-10-21", wantKey: "secret-key-1", wantModel: "gpt-4o",
		},
		{
			// go-openai's default mapper would strip the dot of 3.5
			// names; this provider never rewrites.
			name:     "classic preview keeps names",
			cfg:      Config{Endpoint: testEndpoint, APIKey: "secret-key-1", APIVersion: "2025-04-01-preview"},
			model:    "azure-gpt-4.1-nano",
			wantPath: "/openai/deployments/gpt-4.1-nano/chat/completions", wantQuery: "api-version=2025-04-01-preview", wantKey: "secret-key-1", wantModel: "gpt-4.1-nano",
		},
		{
			name:     "resource shorthand",
			cfg:      Config{Resource: "my-resource", APIKey: "secret-key-1"},
			model:    "azure-gpt-35-turbo",
			wantPath: "/openai/v1/chat/completions", wantKey: "secret-key-1", wantModel: "gpt-35-turbo",
		},
		{
			name:     "v1 static Entra token",
			cfg:      Config{Endpoint: testEndpoint, ADToken: "static-token-xyz"},
			model:    "azure-gpt-4o",
			wantPath: "/openai/v1/chat/completions", wantBearer: "Bearer static-token-xyz", wantModel: "gpt-4o",
		},
		{
			// go-openai sets an (empty) api-key for its Azure API type;
			// the doer must remove it.
			name:     "classic static Entra token",
			cfg:      Config{Endpoint: testEndpoint, ADToken: "static-token-xyz", APIVersion: "2024-10-21"},
			model:    "azure-gpt-4o",
			wantPath: "/openai/deployments/gpt-4o/chat/completions", wantQuery: "api-version=2024-10-21", wantBearer: "Bearer static-token-xyz", wantModel: "gpt-4o",
		},
		{
			name:     "classic credential",
			cfg:      Config{Endpoint: testEndpoint, Credential: cred, APIVersion: "2024-10-21"},
			model:    "azure-o3-mini",
			wantPath: "/openai/deployments/o3-mini/chat/completions", wantQuery: "api-version=2024-10-21", wantBearer: "Bearer tok-1", wantModel: "o3-mini",
		},
		{
			name:     "foundry model on v1",
			cfg:      Config{Endpoint: "https://my-project.services.ai.azure.com", APIKey: "secret-key-1"},
			model:    "azure-deepseek-r1",
			wantPath: "/openai/v1/chat/completions", wantKey: "secret-key-1", wantModel: "DeepSeek-R1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMock(t, okReply)
			p := newTestProvider(t, tc.cfg, m)
			p.now = clock.Now
			resp, err := p.Generate(context.Background(), hello(lookup(t, tc.model)))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Completion != "Hi!" {
				t.Errorf("Completion = %q", resp.Completion)
			}
			got := m.Last(t)
			if got.Method != "POST" || got.Path != tc.wantPath || got.Query != tc.wantQuery {
				t.Errorf("request = %s %s?%s, want POST %s?%s", got.Method, got.Path, got.Query, tc.wantPath, tc.wantQuery)
			}
			if v, ok := got.Header["Api-Key"]; tc.wantKey == "" && ok {
				t.Errorf("api-key header present (%q), want none", v)
			} else if tc.wantKey != "" && got.Header.Get("api-key") != tc.wantKey {
				t.Errorf("api-key = %q, want %q", got.Header.Get("api-key"), tc.wantKey)
			}
			if v, ok := got.Header["Authorization"]; tc.wantBearer == "" && ok {
				t.Errorf("Authorization present (%q), want none", v)
			} else if got.Header.Get("Authorization") != tc.wantBearer {
				t.Errorf("Authorization = %q, want %q", got.Header.Get("Authorization"), tc.wantBearer)
			}
			if got.Body["model"] != tc.wantModel {
				t.Errorf("body model = %v, want %q", got.Body["model"], tc.wantModel)
			}
		})
	}
}

// TestWireEscapesDeployment checks that deployment names are escaped once
// in classic paths and sent verbatim in v1 bodies.
func TestWireEscapesDeployment(t *testing.T) {
	for _, tc := range []struct{ deployment, wantPath string }{
		{"my deployment", "/openai/deployments/my%20deployment/chat/completions"},
		{"dep#1", "/openai/deployments/dep%231/chat/completions"},
		{"a/b?c", "/openai/deployments/a%2Fb%3Fc/chat/completions"},
		{"already%20escaped", "/openai/deployments/already%2520escaped/chat/completions"},
	} {
		t.Run(tc.deployment, func(t *testing.T) {
			m := newMock(t, okReply)
			p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "k", APIVersion: "2024-10-21",
				Deployments: map[string]string{"azure-gpt-4o": tc.deployment}}, m)
			if _, err := p.Generate(context.Background(), hello(lookup(t, "azure-gpt-4o"))); err != nil {
				t.Fatal(err)
			}
			if got := m.Last(t).Path; got != tc.wantPath {
				t.Errorf("path = %s, want %s", got, tc.wantPath)
			}

			m = newMock(t, okReply)
			p = newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "k",
				Deployments: map[string]string{"azure-gpt-4o": tc.deployment}}, m)
			if _, err := p.Generate(context.Background(), hello(lookup(t, "azure-gpt-4o"))); err != nil {
				t.Fatal(err)
			}
			if got := m.Last(t).Body["model"]; got != tc.deployment {
				t.Errorf("v1 body model = %v, want %q", got, tc.deployment)
			}
		})
	}
}

// TestDeploymentPrecedence: region override > Config.Deployments >
// AZURE_DEPLOYMENT_<ID> > model Name.
func TestDeploymentPrecedence(t *testing.T) {
	t.Setenv("AZURE_DEPLOYMENT_AZURE_GPT_4O", "from-env")
	t.Setenv("AZURE_DEPLOYMENT_AZURE_GPT_4_1", "env-41")
	t.Setenv(EnvEndpoint, testEndpoint)
	t.Setenv(EnvAPIKey, "k")
	cfg, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Deployments = map[string]string{"azure-gpt-4o": "from-config"}
	m := newMock(t, okReply)
	p := newTestProvider(t, cfg, m)

	for id, want := range map[string]string{
		"azure-gpt-4o":      "from-config",
		"azure-gpt-4.1":     "env-41",
		"azure-gpt-4o-mini": "gpt-4o-mini",
	} {
		if _, err := p.Generate(context.Background(), hello(lookup(t, id))); err != nil {
			t.Fatal(err)
		}
		if got := m.Last(t).Body["model"]; got != want {
			t.Errorf("%s: deployment = %v, want %q", id, got, want)
		}
		if got := p.Deployment(lookup(t, id)); got != want {
			t.Errorf("Deployment(%s) = %q, want %q", id, got, want)
		}
	}

	cfg.Regions = []Region{{Name: "eastus", Endpoint: "https://east.openai.azure.com", Deployments: map[string]string{"azure-gpt-4o": "east-4o"}}}
	m = newMock(t, okReply)
	p = newTestProvider(t, cfg, m)
	if _, err := p.Generate(context.Background(), hello(lookup(t, "azure-gpt-4o"))); err != nil {
		t.Fatal(err)
	}
	if got := m.Last(t); got.Body["model"] != "east-4o" || !strings.HasPrefix(got.URL, "https://east.openai.azure.com/") {
		t.Errorf("region request = %s model %v, want east endpoint and east-4o", got.URL, got.Body["model"])
	}
}

// TestCustomModel serves a hand-registered model from its APIBase, with
// its own key when it names one.
func TestCustomModel(t *testing.T) {
	t.Setenv("MY_OTHER_AZURE_KEY", "other-key-123")
	custom := registry.Model{ID: "my-gpt4o-wire", Provider: ProviderName, Name: "my-deployment",
		APIBase: "https://other-resource.openai.azure.com", InputCost: 5, OutputCost: 15}
	withKey := custom
	withKey.ID, withKey.APIKeyEnvVar = "my-gpt4o-wire-key", "MY_OTHER_AZURE_KEY"

	m := newMock(t, okReply)
	p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "default-key", APIVersion: "2024-10-21", DeploymentType: DataZone}, m)

	resp, err := p.Generate(context.Background(), hello(custom))
	if err != nil {
		t.Fatal(err)
	}
	got := m.Last(t)
	if want := "https://other-resource.openai.azure.com/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21"; got.URL != want {
		t.Errorf("URL = %s, want %s", got.URL, want)
	}
	if got.Header.Get("api-key") != "default-key" {
		t.Errorf("api-key = %q, want the default key", got.Header.Get("api-key"))
	}
	// A custom model is priced as registered: no deployment-type scaling.
	if want := (10*5.0 + 2*15.0) / 1e6; !near(resp.Cost, want) {
		t.Errorf("Cost = %g, want %g", resp.Cost, want)
	}
	if resp.Model != custom.ID {
		t.Errorf("Model = %q, want %q", resp.Model, custom.ID)
	}

	if _, err := p.Generate(context.Background(), hello(withKey)); err != nil {
		t.Fatal(err)
	}
	if got := m.Last(t).Header.Get("api-key"); got != "other-key-123" {
		t.Errorf("api-key = %q, want the model's own key", got)
	}

	// An unsafe APIBase is refused before anything is sent.
	bad := custom
	bad.ID, bad.APIBase = "my-bad", "http://evil.example.com"
	n := m.Count()
	_, err = p.Generate(context.Background(), hello(bad))
	if e := asLLMError(t, err); e.Code != llm.CodeConfiguration || !strings.Contains(e.Message, "https") {
		t.Errorf("bad APIBase: %v", err)
	}
	if m.Count() != n {
		t.Error("a request was sent to an unsafe APIBase")
	}
}

// TestReasoningWire: reasoning deployments get max_completion_tokens and
// no sampling parameters they reject.
func TestReasoningWire(t *testing.T) {
	m := newMock(t, okReply)
	p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: "k"}, m)
	temp := 0.2
	req := &llm.Request{Model: lookup(t, "azure-o3-mini"), Messages: conversation.New().User("x").Messages(),
		Sampling: llm.Sampling{MaxNewTokens: 100, Temperature: &temp}}
	if _, err := p.Generate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	body := m.Last(t).Body
	if body["max_completion_tokens"] != float64(100) {
		t.Errorf("max_completion_tokens = %v, want 100", body["max_completion_tokens"])
	}
	for _, k := range []string{"max_tokens", "temperature", "top_p"} {
		if _, ok := body[k]; ok {
			t.Errorf("%s sent to a reasoning deployment", k)
		}
	}
}

func near(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-12+1e-9*b
}
