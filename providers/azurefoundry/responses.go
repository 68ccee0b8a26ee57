package azurefoundry

import (
	"context"
	"fmt"
	"strings"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// The Responses API on Azure: POST {endpoint}/openai/v1/responses on the v1
// family and POST {endpoint}/openai/responses?api-version=… (2025-03-01-preview
// or later) on the classic one, the deployment name as the body's model on
// both (Microsoft Learn, "Azure OpenAI Responses API"; the api-version
// lifecycle page). This package has no serializer for it: each target's
// openai.Provider speaks it, configured with the target's base URL,
// credential and, on the classic family, the api-version below. A model is
// sent there when its APISpec is registry.APISpecResponses (the
// Responses-only catalog entries: azure-gpt-5-codex, azure-o3-pro, …) or
// the call asks for it (llm.WithAPI(llm.APIResponses),
// llm.WithPreviousResponse, llm.WithBackground). Claude deployments and
// serverless endpoints do not serve it.

// MinResponsesAPIVersion is the first dated api-version of the classic
// family that serves the Responses API.
const MinResponsesAPIVersion = "2025-03-01-preview"

// ResponsesAPIVersion is the api-version the classic family's Responses
// API calls use when the configured one predates MinResponsesAPIVersion
// (a provider configured with 2024-10-21 for chat still reaches
// responses-only models): the last dated preview.
const ResponsesAPIVersion = "2025-04-01-preview"

// responsesVersion is the api-version of the classic Responses API route
// for a configured dated version.
func responsesVersion(configured string) string {
	date, _ := strings.CutSuffix(configured, "-preview")
	if date >= strings.TrimSuffix(MinResponsesAPIVersion, "-preview") {
		return configured
	}
	return ResponsesAPIVersion
}

// checkResponses refuses a Responses API call a target cannot serve, with
// nothing sent.
func (t *target) checkResponses(req *llm.Request, m registry.Model) error {
	if isClaude(m) || !req.UsesResponses() || !t.ep.serverless {
		return nil
	}
	return &llm.Error{Code: llm.CodeInvalidRequest, Provider: ProviderName, Model: m.ID,
		Message: fmt.Sprintf("serverless endpoint '%s' serves chat completions only, not the Responses API: leave out WithAPI(llm.APIResponses), WithPreviousResponse and WithBackground for model %s", t.ep.resource, m.ID)}
}

var _ llm.Poller = (*Provider)(nil)

// Poll fetches a background response (llm.Poller) from the endpoint that
// created it: pending.Region names the region, when there are regions.
func (p *Provider) Poll(ctx context.Context, req *llm.Request, pending *llm.Response) (*llm.Response, error) {
	t, inner, err := p.storedTarget(req, pending)
	if err != nil {
		return nil, err
	}
	if err := t.ready(ctx, req.Model); err != nil {
		return nil, err
	}
	resp, err := t.oai.Poll(ctx, inner, pending)
	if err != nil {
		return nil, t.wireError(err, req.Model)
	}
	resp.Cost = routedCost(req.Model, resp.ServedModel, resp.Usage, t.tier)
	if t.region != "" {
		resp.Region = t.region
	}
	return resp, nil
}

// Cancel cancels a background response (llm.Poller) on the endpoint that
// created it.
func (p *Provider) Cancel(ctx context.Context, req *llm.Request, pending *llm.Response) error {
	t, inner, err := p.storedTarget(req, pending)
	if err != nil {
		return err
	}
	if err := t.ready(ctx, req.Model); err != nil {
		return err
	}
	if err := t.oai.Cancel(ctx, inner, pending); err != nil {
		return t.wireError(err, req.Model)
	}
	return nil
}

// storedTarget returns the target holding a stored response: the region
// that answered, or the single endpoint.
func (p *Provider) storedTarget(req *llm.Request, pending *llm.Response) (*target, *llm.Request, error) {
	if req == nil || pending == nil {
		return nil, nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: ProviderName, Message: "nil request or response"}
	}
	t, inner, err := p.route(req)
	if err != nil {
		return nil, nil, err
	}
	if t == nil {
		for _, r := range p.regions {
			if r.region == pending.Region {
				t = r
				break
			}
		}
		if t == nil {
			return nil, nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: ProviderName, Model: req.Model.ID,
				Message: fmt.Sprintf("response %s names region %q, which is not configured: it can only be read from the region that created it", pending.ResponseID, pending.Region)}
		}
	}
	if t.oai == nil || isClaude(req.Model) || t.ep.serverless {
		return nil, nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: ProviderName, Model: req.Model.ID,
			Message: "this endpoint does not serve the Responses API, so it has no background responses"}
	}
	return t, inner, nil
}
