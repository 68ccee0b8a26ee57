package azurefoundry

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/internal/httpguard"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

// configError is the error for a configuration that cannot work: what
// New, NewFromEnv and ConfigFromEnv return, and what calls get when routed
// to an endpoint that was never configured. Nothing was sent; the message
// names the setting to change.
func configError(model string, err error) *llm.Error {
	return &llm.Error{Code: llm.CodeConfiguration, Provider: ProviderName, Model: model,
		Message: strings.TrimPrefix(err.Error(), "azurefoundry: "), Err: err}
}

// azureError rewrites the message of an error from the openai provider so
// it says, in Azure's terms, what to fix: which key or identity, which
// deployment in which resource. Code, StatusCode, RetryAfter, RequestID,
// Header, ContentFilter and the wrapped cause are kept. Errors of other
// types pass through unchanged.
func (t *target) azureError(err error, m registry.Model) error {
	var e *llm.Error
	if !errors.As(err, &e) {
		return err
	}
	if errors.Is(e.Err, errTokenUnavailable) {
		e.Code = llm.CodeAuthentication
		e.Message = t.tokenFailureMessage(e.Err)
		return e
	}
	server := strings.TrimSpace(e.Message)
	deployment := t.deployment(m)
	res := t.ep.resource
	if errors.Is(e.Err, openai.ErrRedirect) {
		e.Message = fmt.Sprintf("Azure resource '%s': %s. Azure inference routes never redirect: check %s (the resource URL, e.g. https://my-resource.openai.azure.com, "+
			"or the model's APIBase) and any proxy in between.", res, strings.TrimRight(server, "."), EnvEndpoint)
		e.Message = t.redact(e.Message)
		return e
	}
	switch e.Code {
	case llm.CodeAuthentication:
		e.Message = t.authMessage() + azureSaid(server)
	case llm.CodePermissionDenied:
		e.Message = fmt.Sprintf("Azure denied access to resource '%s' (HTTP 403): the identity or key may lack a role such as "+
			"'Cognitive Services OpenAI User', or the resource's network rules (firewall, private endpoint) block this client.", res) + azureSaid(server)
	case llm.CodeNotFound:
		if isDeploymentNotFound(e) {
			e.Message = fmt.Sprintf("Azure deployment '%s' not found in resource '%s'. Verify the deployment name in the Azure AI Foundry portal (Deployments) "+
				"and map model %s to it with %s%s=<deployment> or Config.Deployments; a new deployment can take a few minutes to become available.",
				deployment, res, m.ID, EnvDeploymentPrefix, EnvKey(m.ID)) + azureSaid(server)
		} else {
			e.Message = fmt.Sprintf("Azure resource '%s' has no such route (%s): check %s (the resource URL, e.g. https://my-resource.openai.azure.com) "+
				"and the API version %q.", res, t.routeDescription(deployment), EnvEndpoint, t.apiVersionName()) + azureSaid(server)
		}
	case llm.CodeQuotaExceeded:
		e.Message = fmt.Sprintf("Azure quota exceeded. Consider increasing quota or using a different region (deployment '%s' in resource '%s').", deployment, res) +
			azureSaid(server)
	case llm.CodeRateLimited:
		e.Message = fmt.Sprintf("Azure rate limit reached for deployment '%s' in resource '%s'.", deployment, res) + azureSaid(server)
	case llm.CodeContentFiltered:
		e.Message = contentFilterMessage(e.ContentFilter, server)
	case llm.CodeInvalidRequest:
		if isAPIVersionError(server) {
			// Every call will fail the same way until the setting changes.
			e.Code = llm.CodeConfiguration
			e.Message = server + t.apiVersionAdvice(m, deployment)
			break
		}
		if t.tier.IsBatch() && strings.EqualFold(azureCode(e), "OperationNotSupported") {
			// Azure serves batch deployments through batch jobs only.
			e.Code = llm.CodeConfiguration
			e.Message = fmt.Sprintf("%s (deployment '%s' is declared a %s deployment (%s): Azure serves those only through batch jobs; "+
				"send synchronous calls to a standard deployment, or declare the type the deployment really has)", server, deployment, t.tier, EnvDeploymentType)
			break
		}
		e.Message = t.invalidRequestMessage(e, server, deployment, m)
	case llm.CodeUnavailable:
		e.Message = fmt.Sprintf("Azure resource '%s' unavailable: %s", res, server)
	}
	e.Message = t.redact(e.Message)
	return e
}

// azureSaid appends the server's own words, which name details the
// rewritten message cannot know (a subscription state, a region).
func azureSaid(server string) string {
	if server == "" {
		return ""
	}
	return " Azure said: " + server
}

// contentFilterMessage lists the categories that fired, e.g.
// "Content filtered by Azure: violence (medium)".
func contentFilterMessage(f *llm.ContentFilterResults, server string) string {
	if fired := f.Fired(); len(fired) > 0 {
		return "Content filtered by Azure: " + strings.Join(fired, ", ") + ". The prompt was blocked by the deployment's content filter; it is not retried."
	}
	return "Content filtered by Azure (no category reported)." + azureSaid(server)
}

func (t *target) authMessage() string {
	res := t.ep.resource
	switch t.auth.kind {
	case authKey:
		return fmt.Sprintf("Azure OpenAI API key invalid. Check %s: it must be a key of resource '%s' (Keys and Endpoint in the Azure portal), and the endpoint must be that resource's.",
			t.auth.source, res)
	case authToken:
		if t.auth.static {
			return fmt.Sprintf("Azure OpenAI rejected the Entra ID token for resource '%s'. %s may have expired or be for another audience: get a fresh one "+
				"(az account get-access-token --resource https://cognitiveservices.azure.com), or set %s=1 to have tokens refreshed automatically.",
				res, t.auth.source, EnvUseEntraID)
		}
		return fmt.Sprintf("Azure OpenAI rejected the Entra ID token for resource '%s'. Check that the identity has the 'Cognitive Services OpenAI User' role "+
			"on the resource and that the token scope is %s (%s).", res, t.scope, EnvTokenScope)
	}
	return fmt.Sprintf("Azure resource '%s' requires authentication: set %s, or use Entra ID with %s=1.", res, EnvAPIKey, EnvUseEntraID)
}

func (t *target) tokenFailureMessage(err error) string {
	var te *tokenError
	detail := err.Error()
	if errors.As(err, &te) {
		detail = te.err.Error()
	}
	return fmt.Sprintf("Could not get an Entra ID token for resource '%s' (scope %s): %s. Check the credential: az login, the managed identity, "+
		"or the workload identity settings (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE).", t.ep.resource, t.scope, detail)
}

func (t *target) invalidRequestMessage(e *llm.Error, server, deployment string, m registry.Model) string {
	code := strings.ToLower(azureCode(e))
	if (code == "unsupported_parameter" || code == "unsupported_value") && !m.Reasoning {
		return server + fmt.Sprintf(" (deployment '%s' looks like a reasoning model: register model %s with Reasoning: true so deluge sends max_completion_tokens and omits temperature and top_p)",
			deployment, m.ID)
	}
	return server
}

// isAPIVersionError tells a 400 about the api-version ("API version not
// supported", "Model o1 is enabled only for api versions 2024-12-01-preview
// and later") from other bad requests.
func isAPIVersionError(server string) bool {
	l := strings.ToLower(server)
	return strings.Contains(l, "api version") || strings.Contains(l, "api-version")
}

// Dated API versions the advice proposes: the latest GA one, and the
// latest dated preview, the first that serves every reasoning model
// (they need 2024-12-01-preview or later).
const (
	latestGAVersion      = "2024-10-21"
	latestPreviewVersion = "2025-04-01-preview"
)

// apiVersionAdvice proposes API versions to use instead of the one that
// failed: v1 first (it needs no version bumps), then a dated version that
// serves the model; never the version in use.
func (t *target) apiVersionAdvice(m registry.Model, deployment string) string {
	cur := t.apiVersionName()
	reasoning := m.Reasoning || isReasoningName(deployment)
	var try []string
	if cur != APIVersionV1 {
		try = append(try, APIVersionV1+" (recommended)")
	}
	dated := latestGAVersion
	if reasoning || cur == latestGAVersion {
		dated = latestPreviewVersion
	}
	if dated != cur {
		try = append(try, "a dated version the resource supports such as "+dated)
	}
	advice := fmt.Sprintf(" (the API version is %q", cur)
	if len(try) > 0 {
		advice += fmt.Sprintf(": set %s to %s", EnvAPIVersion, strings.Join(try, ", or to "))
	}
	if reasoning {
		advice += "; reasoning models need 2024-12-01-preview or later on the dated route"
	}
	return advice + ")"
}

// isReasoningName reports whether a deployment name looks like a
// reasoning model's (the prefixes go-openai and Azure's docs use).
func isReasoningName(name string) bool {
	l := strings.ToLower(name)
	for _, p := range [...]string{"o1", "o3", "o4", "gpt-5"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// isDeploymentNotFound tells Azure's "deployment does not exist" 404 from
// a 404 for the route itself (a wrong endpoint path or API version).
func isDeploymentNotFound(e *llm.Error) bool {
	code := strings.ToLower(azureCode(e))
	if code == "deploymentnotfound" || code == "model_not_found" {
		return true
	}
	return e.StatusCode == http.StatusNotFound && strings.Contains(strings.ToLower(e.Message), "deployment")
}

// azureCode returns the error.code of the body go-openai parsed, as text.
func azureCode(e *llm.Error) string {
	var apiErr *goopenai.APIError
	if errors.As(e.Err, &apiErr) && apiErr.Code != nil {
		return fmt.Sprint(apiErr.Code)
	}
	return ""
}

func (t *target) routeDescription(deployment string) string {
	if t.mode == modeClassic {
		return "POST /openai/deployments/" + deployment + "/chat/completions?api-version=" + t.apiVersion
	}
	if t.apiVersion != "" {
		return "POST /openai/v1/chat/completions?api-version=" + t.apiVersion
	}
	return "POST /openai/v1/chat/completions"
}

func (t *target) apiVersionName() string {
	if t.mode == modeV1 && t.apiVersion == "" {
		return APIVersionV1
	}
	return t.apiVersion
}

// redact removes the target's secrets from s: the key, and the current
// token, in case a server or a proxy echoes them.
func (t *target) redact(s string) string {
	sec := httpguard.Secrets(nil).Add(t.auth.key)
	if c, ok := t.auth.tokens.(*tokenCache); ok {
		if cur := c.cur.Load(); cur != nil {
			sec = sec.Add(cur.value)
		}
	}
	if st, ok := t.auth.tokens.(staticToken); ok {
		sec = sec.Add(string(st))
	}
	return sec.Clean(s)
}
