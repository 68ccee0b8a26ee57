package azurefoundry

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/registry"
)

// Claude on Azure AI Foundry: Claude deployments of a Foundry resource
// answer Anthropic's Messages API at {endpoint}/anthropic/v1/messages, with
// the anthropic-version header, the resource key in x-api-key or an Entra
// ID token as a bearer (Microsoft Learn, "Deploy and use Claude models in
// Microsoft Foundry": base URL https://<resource>.services.ai.azure.com/anthropic,
// scope https://cognitiveservices.azure.com/.default), and the deployment
// name as the body's "model". This package has no serializer for it: each
// target configures a providers/anthropic Provider with that URL and
// credential, as it configures providers/openai for the OpenAI routes. A
// model is sent there when its APISpec is registry.APISpecAnthropicMessages
// (the azure-claude-* catalog entries).

// claudePath is the Anthropic API root on a Foundry resource.
const claudePath = "/anthropic"

// wireProvider is what a target's serializers offer.
type wireProvider interface {
	llm.Provider
	llm.Streamer
}

// isClaude reports whether m is served by the Messages API route.
func isClaude(m registry.Model) bool { return m.APISpec == registry.APISpecAnthropicMessages }

// wire returns the serializer serving m at this target.
func (t *target) wire(m registry.Model) wireProvider {
	if isClaude(m) && t.claude != nil {
		return t.claude
	}
	return t.oai
}

// newClaude builds the Messages API serializer of a target: the resource's
// /anthropic root, the target's credential, its deployment names. Built
// with the target, it costs nothing until a Claude model is called.
func (t *target) newClaude(client *http.Client, secrets []string) *anthropic.Provider {
	if t.ep.serverless {
		return nil // a serverless endpoint serves its one model over chat completions
	}
	p, err := anthropic.NewEndpoint(anthropic.Endpoint{
		Name:         ProviderName,
		BaseURL:      t.ep.base + claudePath,
		Authenticate: t.claudeAuth,
		HTTPClient:   client,
		WireName:     t.deployment,
		Redact:       secrets,
		// Replies are bounded by the same limit on every route.
		MaxResponseBytes: t.p.maxBody,
	})
	if err != nil {
		// The base URL was validated by parseEndpoint: a bug, reported
		// per call rather than by a panic.
		t.err = fmt.Errorf("building the Claude client for %s: %w", t.ep.base, err)
		return nil
	}
	return p
}

// claudeAuth sets the target's credential the way the Claude route takes
// it: the key in x-api-key (not api-key), a token as a bearer.
func (t *target) claudeAuth(r *http.Request) error {
	switch t.auth.kind {
	case authKey:
		r.Header["X-Api-Key"] = []string{t.auth.key}
	case authToken:
		tok, err := t.auth.tokens.token(r.Context())
		if err != nil {
			return err
		}
		r.Header["Authorization"] = []string{"Bearer " + tok}
	}
	return nil
}

// wireError rewrites a serializer's error in Azure's terms: azureError,
// except for the routes it does not describe (a Claude deployment, a
// serverless endpoint), whose "not found" says what to check there.
func (t *target) wireError(err error, m registry.Model) error {
	var e *llm.Error
	if !errors.As(err, &e) || e.Code != llm.CodeNotFound || !(isClaude(m) || t.ep.serverless) {
		return t.azureError(err, m)
	}
	server := e.Message
	switch {
	case t.ep.serverless:
		e.Message = fmt.Sprintf("serverless endpoint '%s' has no such route (POST %s): check the model's APIBase, which must be the endpoint URL the portal shows (https://<name>.<region>.models.ai.azure.com).",
			t.ep.resource, serverlessRoute) + azureSaid(server)
	default:
		e.Message = fmt.Sprintf("Claude deployment '%s' not found in resource '%s' (POST %s/v1/messages). Verify the deployment name in the Foundry portal "+
			"and map model %s to it with %s%s=<deployment> or Config.Deployments; Claude is deployed on Foundry resources (*.services.ai.azure.com).",
			t.deployment(m), t.ep.resource, claudePath, m.ID, EnvDeploymentPrefix, EnvKey(m.ID)) + azureSaid(server)
	}
	e.Message = t.redact(e.Message)
	return e
}
