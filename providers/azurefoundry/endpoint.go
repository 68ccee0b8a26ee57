package azurefoundry

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/deluge-go/deluge/internal/httpguard"
)

// Host suffixes of Azure OpenAI and Azure AI Foundry resources. Any other
// host needs Config.AllowCustomEndpoint, because the provider sends an API
// key or an Entra ID token to it.
var azureHostSuffixes = [...]string{
	".openai.azure.com",
	".cognitiveservices.azure.com",
	".services.ai.azure.com",
}

// APIVersionV1 selects the v1 API (GA since August 2025):
// {endpoint}/openai/v1/chat/completions with the deployment name as "model"
// and no api-version. It is the default.
const APIVersionV1 = "v1"

// APIVersionPreview selects the v1 API with ?api-version=preview, which
// enables preview features on the v1 route.
const APIVersionPreview = "preview"

// endpoint is a validated resource endpoint.
type endpoint struct {
	// base is the URL without a trailing slash or /openai suffix, e.g.
	// "https://my-resource.openai.azure.com" or an APIM gateway prefix.
	base string
	// resource names the resource in messages: the first label of an Azure
	// host ("my-resource"), or the whole host of any other endpoint.
	resource string
	// loopback is set for 127.0.0.0/8, ::1 and localhost (the emulator).
	loopback bool
	// serverless is set for a serverless endpoint (*.models.ai.azure.com),
	// which serves one model at {base}/chat/completions (serverless.go).
	serverless bool
}

// parseEndpoint checks raw against the security rules: HTTPS, and a host
// under one of the Azure suffixes, except that loopback hosts may use plain
// HTTP and any host is accepted with allowCustom. It tolerates a pasted
// "/openai" or "/openai/v1" suffix and trailing slashes.
func parseEndpoint(raw string, allowCustom bool) (endpoint, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return endpoint{}, errors.New("empty endpoint")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return endpoint{}, fmt.Errorf("endpoint %q is not an absolute URL such as https://my-resource.openai.azure.com", raw)
	}
	if u.User != nil {
		// A key in the URL would end up in logs and error messages.
		return endpoint{}, fmt.Errorf("endpoint %q must not contain credentials; set AZURE_OPENAI_API_KEY instead", redactURL(u))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return endpoint{}, fmt.Errorf("endpoint %q must not have a query or fragment; set the api-version with AZURE_API_VERSION", redactURL(u))
	}
	host := strings.ToLower(u.Hostname())
	loop := isLoopback(host)
	if u.Scheme != "https" && !loop {
		return endpoint{}, fmt.Errorf("endpoint %q must use https (plain http is allowed only for loopback addresses such as the azuretest emulator)", s)
	}
	if !loop && !allowCustom && !isAzureHost(host) {
		return endpoint{}, fmt.Errorf("endpoint host %q is not an Azure OpenAI host (*.openai.azure.com, *.cognitiveservices.azure.com, *.services.ai.azure.com) or serverless endpoint (*.models.ai.azure.com); "+
			"to send your credentials to another host such as an API Management gateway, set AZURE_OPENAI_ALLOW_CUSTOM_ENDPOINT=1 (Config.AllowCustomEndpoint)", host)
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	for _, suffix := range [...]string{"/openai/v1", "/openai"} {
		if strings.HasSuffix(path, suffix) {
			path = strings.TrimSuffix(path, suffix)
			break
		}
	}
	ep := endpoint{
		base:       u.Scheme + "://" + u.Host + path,
		resource:   host,
		loopback:   loop,
		serverless: isServerlessHost(host),
	}
	if isAzureHost(host) {
		ep.resource, _, _ = strings.Cut(host, ".")
	}
	return ep, nil
}

// resourceEndpoint expands a resource name into its endpoint, after
// checking it with [ValidateResourceName].
func resourceEndpoint(resource string) (string, error) {
	r := strings.TrimSpace(resource)
	if err := ValidateResourceName(r); err != nil {
		return "", err
	}
	return "https://" + r + ".openai.azure.com", nil
}

// ValidateResourceName checks an Azure OpenAI / AI Services resource name
// (the first label of https://{name}.openai.azure.com) against Azure's
// naming rule for Microsoft.CognitiveServices/accounts: 2 to 64 characters,
// letters, digits and hyphens, starting and ending with a letter or digit.
// The error says what is wrong and that a full URL goes in
// AZURE_OPENAI_ENDPOINT instead.
func ValidateResourceName(name string) error {
	const rule = "Azure resource names are 2 to 64 letters, digits and hyphens, starting and ending with a letter or digit"
	const instead = "; for a full URL set " + EnvEndpoint + " instead"
	shown := name
	if len(shown) > 80 {
		shown = shown[:80] + "…"
	}
	switch {
	case name == "":
		return errors.New("empty resource name: " + rule)
	case len(name) < 2 || len(name) > 64:
		return fmt.Errorf("resource name %q has %d characters: %s%s", shown, len(name), rule, instead)
	case name[0] == '-' || name[len(name)-1] == '-':
		return fmt.Errorf("resource name %q starts or ends with a hyphen: %s", shown, rule)
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return fmt.Errorf("resource name %q contains %q, which is not allowed: %s%s", shown, c, rule, instead)
		}
	}
	return nil
}

func isAzureHost(host string) bool {
	for _, s := range azureHostSuffixes {
		if strings.HasSuffix(host, s) && len(host) > len(s) {
			return true
		}
	}
	return isServerlessHost(host)
}

// isLoopback reports whether host is "localhost" itself or a literal
// loopback address (see httpguard.IsLoopback): names under .localhost get
// no exemption from HTTPS.
func isLoopback(host string) bool { return httpguard.IsLoopback(host) }

func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("REDACTED")
	}
	c.RawQuery = ""
	return c.String()
}

// apiMode is the URL family chosen by the API version.
type apiMode int

const (
	modeV1      apiMode = iota // {endpoint}/openai/v1/…, deployment in the body
	modeClassic                // {endpoint}/openai/deployments/{d}/…?api-version=X
)

// parseAPIVersion validates v and returns the URL family and the
// api-version query value ("" for none). "" means v1.
func parseAPIVersion(v string) (apiMode, string, error) {
	switch v = strings.TrimSpace(v); v {
	case "", APIVersionV1:
		return modeV1, "", nil
	case APIVersionPreview:
		return modeV1, APIVersionPreview, nil
	}
	if isDatedVersion(v) {
		return modeClassic, v, nil
	}
	return 0, "", fmt.Errorf("API version %q is not valid: use %q (the default), %q, or a dated version such as 2024-10-21 or 2025-04-01-preview", v, APIVersionV1, APIVersionPreview)
}

// isDatedVersion reports whether v is YYYY-MM-DD with an optional
// "-preview" suffix.
func isDatedVersion(v string) bool {
	date, _ := strings.CutSuffix(v, "-preview")
	if len(date) != 10 || date[4] != '-' || date[7] != '-' {
		return false
	}
	for i, c := range date {
		if i == 4 || i == 7 {
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	month := (date[5]-'0')*10 + date[6] - '0'
	day := (date[8]-'0')*10 + date[9] - '0'
	return month >= 1 && month <= 12 && day >= 1 && day <= 31
}
