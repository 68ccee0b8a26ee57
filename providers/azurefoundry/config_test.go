package azurefoundry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/deluge-go/deluge/llm"
)

// clearAzureEnv unsets every variable the package reads, so tests do not
// depend on the developer's environment.
func clearAzureEnv(t *testing.T) {
	t.Helper()
	for _, v := range []string{EnvEndpoint, EnvResource, EnvAPIKey, EnvADToken, EnvUseEntraID, EnvTokenScope, EnvAPIVersion,
		"AZURE_OPENAI_API_VERSION", "OPENAI_API_VERSION", EnvDeploymentType, EnvRegions, EnvRegionWeights, EnvAllowCustomEndpoint} {
		t.Setenv(v, "")
	}
}

func TestParseEndpoint(t *testing.T) {
	for _, tc := range []struct {
		in, wantBase, wantResource string
		custom                     bool
		wantErr                    string
	}{
		{in: "https://my-resource.openai.azure.com", wantBase: "https://my-resource.openai.azure.com", wantResource: "my-resource"},
		{in: "https://my-resource.openai.azure.com/", wantBase: "https://my-resource.openai.azure.com", wantResource: "my-resource"},
		{in: "https://my-resource.openai.azure.com/openai", wantBase: "https://my-resource.openai.azure.com", wantResource: "my-resource"},
		{in: "https://my-resource.openai.azure.com/openai/v1/", wantBase: "https://my-resource.openai.azure.com", wantResource: "my-resource"},
		{in: "https://Res.CognitiveServices.Azure.com", wantBase: "https://Res.CognitiveServices.Azure.com", wantResource: "res"},
		{in: "https://proj.services.ai.azure.com", wantBase: "https://proj.services.ai.azure.com", wantResource: "proj"},
		{in: "http://127.0.0.1:8080", wantBase: "http://127.0.0.1:8080", wantResource: "127.0.0.1"},
		{in: "http://localhost:8080/", wantBase: "http://localhost:8080", wantResource: "localhost"},
		{in: "http://[::1]:9000", wantBase: "http://[::1]:9000", wantResource: "::1"},
		{in: "http://127.0.0.2:8080", wantBase: "http://127.0.0.2:8080", wantResource: "127.0.0.2"},
		{in: "http://[::ffff:127.0.0.1]:8080", wantBase: "http://[::ffff:127.0.0.1]:8080", wantResource: "::ffff:127.0.0.1"},
		{in: "http://LocalHost:8080", wantBase: "http://LocalHost:8080", wantResource: "localhost"},
		// Only "localhost" itself and literal loopback addresses are
		// loopback: other names are resolved, and may resolve anywhere.
		{in: "http://app.localhost:8080", wantErr: "must use https"},
		{in: "http://localhost.evil.example:8080", wantErr: "must use https"},
		{in: "http://127.0.0.1.nip.io:8080", wantErr: "must use https"},
		{in: "http://[::2]:8080", wantErr: "must use https"},
		{in: "https://app.localhost", wantErr: "not an Azure OpenAI host"},
		{in: "https://apim.contoso.com/aoai", custom: true, wantBase: "https://apim.contoso.com/aoai", wantResource: "apim.contoso.com"},
		{in: "https://apim.contoso.com/aoai", wantErr: "AZURE_OPENAI_ALLOW_CUSTOM_ENDPOINT"},
		{in: "https://openai.azure.com.evil.com", wantErr: "not an Azure OpenAI host"},
		{in: "https://.openai.azure.com", wantErr: "not an Azure OpenAI host"},
		{in: "http://my-resource.openai.azure.com", wantErr: "must use https"},
		{in: "http://apim.contoso.com", custom: true, wantErr: "must use https"},
		{in: "https://user:pw@my-resource.openai.azure.com", wantErr: "must not contain credentials"},
		{in: "https://my-resource.openai.azure.com?api-version=2024-10-21", wantErr: "query"},
		{in: "my-resource.openai.azure.com", wantErr: "not an absolute URL"},
		{in: "", wantErr: "empty"},
	} {
		ep, err := parseEndpoint(tc.in, tc.custom)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseEndpoint(%q) err = %v, want %q", tc.in, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "pw") {
				t.Errorf("error reveals the URL password: %v", err)
			}
			continue
		}
		if err != nil || ep.base != tc.wantBase || ep.resource != tc.wantResource {
			t.Errorf("parseEndpoint(%q) = %+v, %v; want base %q resource %q", tc.in, ep, err, tc.wantBase, tc.wantResource)
		}
	}
}

func TestValidateResourceName(t *testing.T) {
	for _, ok := range []string{"ab", "my-resource", "My-Resource-01", "0a", strings.Repeat("a", 64), "a-b-c"} {
		if err := ValidateResourceName(ok); err != nil {
			t.Errorf("ValidateResourceName(%q) = %v, want nil", ok, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "empty resource name"},
		{"a", "has 1 characters"},
		{strings.Repeat("a", 65), "has 65 characters"},
		{"my_res!", `contains '_'`},
		{"my res", `contains ' '`},
		{"my-resource.openai.azure.com", `contains '.'`},
		{"https://x", `contains ':'`},
		{"résumé", `contains 'é'`},
		{"-abc", "starts or ends with a hyphen"},
		{"abc-", "starts or ends with a hyphen"},
	} {
		err := ValidateResourceName(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "2 to 64 letters, digits and hyphens") {
			t.Errorf("ValidateResourceName(%q) = %v, want %q and the rule", tc.in, err, tc.want)
		}
	}
	// Nothing is sent to a host built from an invalid name.
	if _, err := New(Config{Resource: "my_res!", APIKey: "k"}); err == nil || !strings.Contains(err.Error(), "AZURE_OPENAI_ENDPOINT") {
		t.Errorf("New with a bad resource: %v", err)
	}
}

func TestParseAPIVersion(t *testing.T) {
	for _, tc := range []struct {
		in      string
		mode    apiMode
		query   string
		wantErr bool
	}{
		{"", modeV1, "", false},
		{"v1", modeV1, "", false},
		{"preview", modeV1, "preview", false},
		{"2024-10-21", modeClassic, "2024-10-21", false},
		{"2025-04-01-preview", modeClassic, "2025-04-01-preview", false},
		{" 2024-10-21 ", modeClassic, "2024-10-21", false},
		{"2024-13-01", 0, "", true},
		{"2024-10-21-beta", 0, "", true},
		{"latest", 0, "", true},
		{"2024/10/21", 0, "", true},
	} {
		mode, q, err := parseAPIVersion(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && (mode != tc.mode || q != tc.query)) {
			t.Errorf("parseAPIVersion(%q) = %v, %q, %v", tc.in, mode, q, err)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	clearAzureEnv(t)
	t.Setenv(EnvEndpoint, "https://full.openai.azure.com")
	t.Setenv(EnvResource, "shorthand")
	t.Setenv(EnvAPIKey, "env-key-123456")
	t.Setenv("OPENAI_API_VERSION", "2024-10-21")
	t.Setenv("AZURE_OPENAI_API_VERSION", "2025-04-01-preview")
	t.Setenv(EnvDeploymentType, "DataZone")
	t.Setenv("AZURE_DEPLOYMENT_AZURE_GPT_4O", "prod-4o")
	cfg, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.APIVersion != "2025-04-01-preview" {
		t.Errorf("APIVersion = %q: AZURE_OPENAI_API_VERSION must win over OPENAI_API_VERSION", cfg.APIVersion)
	}
	if cfg.DeploymentType != DataZone || cfg.APIKey != "env-key-123456" {
		t.Errorf("cfg = %v", cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.def.ep.base != "https://full.openai.azure.com" {
		t.Errorf("endpoint = %q: AZURE_OPENAI_ENDPOINT must win over AZURE_OPENAI_RESOURCE", p.def.ep.base)
	}
	if got := p.Deployment(lookup(t, "azure-gpt-4o")); got != "prod-4o" {
		t.Errorf("deployment = %q", got)
	}
	if !strings.Contains(p.def.authMessage(), EnvAPIKey) {
		t.Errorf("401 message does not name %s: %s", EnvAPIKey, p.def.authMessage())
	}

	t.Setenv(EnvAPIVersion, "v1")
	t.Setenv(EnvEndpoint, "")
	cfg, err = ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	p, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.def.ep.base != "https://shorthand.openai.azure.com" || p.mode != modeV1 {
		t.Errorf("resource shorthand: %q mode %v", p.def.ep.base, p.mode)
	}
}

func TestConfigFromEnvRegions(t *testing.T) {
	clearAzureEnv(t)
	t.Setenv(EnvAPIKey, "shared")
	t.Setenv(EnvRegions, "eastus, west-us")
	t.Setenv(EnvRegionWeights, "0.7,0.3")
	t.Setenv("AZURE_OPENAI_ENDPOINT_EASTUS", "https://east.openai.azure.com")
	t.Setenv("AZURE_OPENAI_API_KEY_EASTUS", "east-key")
	t.Setenv("AZURE_OPENAI_RESOURCE_WEST_US", "west")
	cfg, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Regions) != 2 {
		t.Fatalf("regions = %v", cfg.Regions)
	}
	e, w := cfg.Regions[0], cfg.Regions[1]
	if e.Name != "eastus" || e.Endpoint != "https://east.openai.azure.com" || e.APIKey != "east-key" || e.Weight != 0.7 {
		t.Errorf("eastus = %+v", e)
	}
	if w.Name != "west-us" || w.Endpoint != "https://west.openai.azure.com" || w.APIKey != "" || w.Weight != 0.3 {
		t.Errorf("west-us = %+v", w)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.regions[1].auth.key != "shared" || p.regions[0].auth.source != "AZURE_OPENAI_API_KEY_EASTUS" {
		t.Errorf("region auth: %+v / %+v", p.regions[0].auth.source, p.regions[1].auth.key)
	}

	for _, tc := range []struct{ regions, weights, want string }{
		{"eastus", "0.5,0.5", "one weight per region"},
		{"eastus,westus", "1,x", "not a non-negative number"},
		{"", "1", "AZURE_OPENAI_REGIONS"},
		{"northeurope", "", "AZURE_OPENAI_ENDPOINT_NORTHEUROPE"},
		{"eastus", "0", "weight 0"},
		{"eastus,westus", "1,NaN", "not a non-negative number"},
		{"eastus,westus", "1,+Inf", "not a non-negative number"},
		{"eastus,westus", "1,-1", "not a non-negative number"},
	} {
		t.Setenv(EnvRegions, tc.regions)
		t.Setenv(EnvRegionWeights, tc.weights)
		_, err := ConfigFromEnv()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("regions %q weights %q: err = %v, want %q", tc.regions, tc.weights, err, tc.want)
		}
		if !errors.Is(err, llm.ErrConfiguration) {
			t.Errorf("regions %q weights %q: code %q, want configuration", tc.regions, tc.weights, llm.CodeOf(err))
		}
	}
}

func TestConfigFromEnvErrors(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvAPIKey: "k", EnvADToken: "t"}, "more than one credential"},
		{map[string]string{EnvAPIKey: "k", EnvUseEntraID: "1"}, "not both"},
		{map[string]string{EnvADToken: "t", EnvUseEntraID: "true"}, "unset one"},
		{map[string]string{EnvUseEntraID: "maybe"}, "not a boolean"},
		{map[string]string{EnvAllowCustomEndpoint: "sure"}, "not a boolean"},
		{map[string]string{EnvAPIVersion: "2024-10"}, "AZURE_API_VERSION"},
		{map[string]string{"OPENAI_API_VERSION": "latest"}, "OPENAI_API_VERSION"},
		{map[string]string{EnvDeploymentType: "provisioned"}, "unknown deployment type"},
		{map[string]string{EnvResource: "my_res!"}, `AZURE_OPENAI_RESOURCE: resource name "my_res!" contains '_'`},
		{map[string]string{EnvRegions: "eastus", "AZURE_OPENAI_RESOURCE_EASTUS": "-east"}, "AZURE_OPENAI_RESOURCE_EASTUS: resource name \"-east\" starts or ends with a hyphen"},
	} {
		clearAzureEnv(t)
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		_, err := ConfigFromEnv()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v: err = %v, want %q", tc.env, err, tc.want)
		}
		if llm.CodeOf(err) != llm.CodeConfiguration {
			t.Errorf("env %v: code %q, want %q", tc.env, llm.CodeOf(err), llm.CodeConfiguration)
		}
		if err != nil && strings.Contains(err.Error(), "=k") {
			t.Errorf("error reveals a key: %v", err)
		}
	}
}

func TestConfigFromEnvEntraID(t *testing.T) {
	clearAzureEnv(t)
	t.Setenv(EnvEndpoint, testEndpoint)
	t.Setenv(EnvUseEntraID, "1")
	cfg, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Credential.(*azidentity.DefaultAzureCredential); !ok {
		t.Fatalf("Credential = %T, want *azidentity.DefaultAzureCredential", cfg.Credential)
	}

	// A credential that cannot be built is a configuration error.
	defer func(f func() (*azidentity.DefaultAzureCredential, error)) { newDefaultCredential = f }(newDefaultCredential)
	newDefaultCredential = func() (*azidentity.DefaultAzureCredential, error) { return nil, errors.New("no tenant") }
	if _, err := ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), "no tenant") {
		t.Errorf("err = %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no endpoint", Config{APIKey: "k"}, "AZURE_OPENAI_ENDPOINT"},
		{"no credentials", Config{Endpoint: testEndpoint}, "no credentials"},
		{"key and credential", Config{Endpoint: testEndpoint, APIKey: "k", Credential: &fakeCredential{clock: newFakeClock()}}, "more than one credential"},
		{"bad version", Config{Endpoint: testEndpoint, APIKey: "k", APIVersion: "2024"}, "not valid"},
		{"bad resource", Config{Resource: "my-resource.openai.azure.com", APIKey: "k"}, `resource name "my-resource.openai.azure.com" contains '.'`},
		{"custom host", Config{Endpoint: "https://gateway.example.com", APIKey: "k"}, "AllowCustomEndpoint"},
		{"plain http", Config{Endpoint: "http://my-resource.openai.azure.com", APIKey: "k"}, "https"},
		{"deployment type", Config{Endpoint: testEndpoint, APIKey: "k", DeploymentType: "ptu"}, "DeploymentType"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if !errors.Is(err, llm.ErrConfiguration) {
				t.Errorf("code %q, want %q", llm.CodeOf(err), llm.CodeConfiguration)
			}
		})
	}
	// Loopback needs no credentials (the emulator), and a custom host is
	// accepted when allowed.
	if _, err := New(Config{Endpoint: "http://127.0.0.1:1"}); err != nil {
		t.Errorf("loopback without credentials: %v", err)
	}
	if _, err := New(Config{Endpoint: "https://gateway.example.com", APIKey: "k", AllowCustomEndpoint: true}); err != nil {
		t.Errorf("allowed custom host: %v", err)
	}
}

// TestNewFromEnvLenient: the registered opener does not fail without an
// endpoint; calls say what to set.
func TestNewFromEnvLenient(t *testing.T) {
	clearAzureEnv(t)
	p, err := NewFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Generate(context.Background(), hello(lookup(t, "azure-gpt-4o")))
	if e := asLLMError(t, err); e.Code != llm.CodeConfiguration || !strings.Contains(e.Message, EnvEndpoint) {
		t.Errorf("err = %v", err)
	}
	t.Setenv(EnvEndpoint, testEndpoint)
	p, err = NewFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Generate(context.Background(), hello(lookup(t, "azure-gpt-4o")))
	if e := asLLMError(t, err); !errors.Is(err, llm.ErrAuthentication) || !strings.Contains(e.Message, EnvAPIKey) {
		t.Errorf("err = %v", err)
	}
}

// TestConfigRedaction: no way of printing or logging a Config reveals a
// secret.
func TestConfigRedaction(t *testing.T) {
	cfg := Config{
		Endpoint: testEndpoint, APIKey: "super-secret-key", APIVersion: "2024-10-21",
		Deployments: map[string]string{"azure-gpt-4o": "d"},
		Regions: []Region{
			{Name: "eastus", Endpoint: "https://e.openai.azure.com", APIKey: "region-secret-key", Weight: 2},
			{Name: "westus", Endpoint: "https://w.openai.azure.com", ADToken: "region-secret-token"},
		},
		DeploymentType: DataZone,
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg, "region", cfg.Regions[0])
	outputs := []string{
		cfg.String(), cfg.GoString(), fmt.Sprint(cfg), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s", cfg),
		fmt.Sprintf("%v", &cfg), fmt.Sprintf("%+v", cfg.Regions), fmt.Sprintf("%#v", cfg.Regions[1]), logged.String(),
	}
	for _, out := range outputs {
		for _, secret := range []string{"super-secret-key", "region-secret-key", "region-secret-token"} {
			if strings.Contains(out, secret) {
				t.Errorf("output reveals %q: %s", secret, out)
			}
		}
	}
	s := cfg.String()
	for _, want := range []string{testEndpoint, "2024-10-21", "api-key [REDACTED]", "eastus", "data-zone", "Entra ID token [REDACTED]"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q: %s", want, s)
		}
	}
}

// TestErrorsNeverRevealKey: a server echoing the key does not get it into
// the error.
func TestErrorsNeverRevealKey(t *testing.T) {
	const key = "echoed-secret-key-42"
	m := newMock(t, func(*http.Request) *http.Response {
		return jsonResponse(401, `{"error":{"code":"401","message":"bad key `+key+`"}}`, nil)
	})
	p := newTestProvider(t, Config{Endpoint: testEndpoint, APIKey: key}, m)
	_, err := p.Generate(context.Background(), hello(lookup(t, "azure-gpt-4o")))
	if err == nil || strings.Contains(err.Error(), key) || strings.Contains(fmt.Sprintf("%+v", err), key) {
		t.Errorf("err = %v", err)
	}
	var e *llm.Error
	if errors.As(err, &e) && e.Err != nil && strings.Contains(e.Err.Error(), key) {
		t.Errorf("wrapped error reveals the key: %v", e.Err)
	}
}

func TestDeploymentTypes(t *testing.T) {
	for in, want := range map[string]DeploymentType{
		"": GlobalStandard, "Global Standard": GlobalStandard, "GlobalStandard": GlobalStandard, "data_zone": DataZone,
		"DataZoneStandard": DataZone, "regional": Standard, "batch": GlobalBatch, "Global-Batch": GlobalBatch, "datazone batch": DataZoneBatch,
	} {
		if got, err := ParseDeploymentType(in); err != nil || got != want {
			t.Errorf("ParseDeploymentType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// Synchronous calls are never priced at the batch rate; batch jobs are.
	for typ, mult := range map[DeploymentType][2]float64{
		"": {1, 0.5}, GlobalStandard: {1, 0.5}, DataZone: {1.1, 0.55}, Standard: {1.1, 0.55},
		GlobalBatch: {1, 0.5}, DataZoneBatch: {1.1, 0.55},
	} {
		if got := typ.Multiplier(); got != mult[0] {
			t.Errorf("%s.Multiplier() = %v, want %v", typ, got, mult[0])
		}
		if got := typ.BatchMultiplier(); got != mult[1] {
			t.Errorf("%s.BatchMultiplier() = %v, want %v", typ, got, mult[1])
		}
		if typ.IsBatch() != (typ == GlobalBatch || typ == DataZoneBatch) {
			t.Errorf("%s.IsBatch() = %v", typ, typ.IsBatch())
		}
	}
}
