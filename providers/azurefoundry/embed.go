package azurefoundry

import (
	"context"
	"fmt"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// Embeddings on Azure: POST {endpoint}/openai/v1/embeddings (the deployment
// as the body's model) or {endpoint}/openai/deployments/{deployment}/embeddings?api-version=…
// on the classic family, through each target's openai.Provider (go-openai's
// CreateEmbeddings), configured as for chat. Regions fail over as for
// Generate; the cost is priced at the deployment type's rates.

var _ llm.Embedder = (*Provider)(nil)

// Embed computes embeddings (llm.Embedder) on the deployment of
// req.Model: one request, or one per region tried when a region answers
// 429, 5xx or nothing (Attempts counts them).
func (p *Provider) Embed(ctx context.Context, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if req == nil {
		return nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: ProviderName, Message: "nil embeddings request"}
	}
	t, inner, err := p.route(&llm.Request{Model: req.Model})
	if err != nil {
		return nil, err
	}
	ireq := *req
	ireq.Model = inner.Model
	if t != nil {
		resp, err := t.embed(ctx, &ireq, req.Model)
		if err == nil {
			resp.Attempts = 1
		}
		return resp, err
	}
	var resp *llm.EmbedResponse
	attempts := 0
	err = p.eachRegion(ctx, req.Model, func(t *target) (bool, error) {
		attempts++
		var err error
		resp, err = t.embed(ctx, &ireq, req.Model)
		return err == nil || !shouldFailOver(ctx, err), err
	})
	if err != nil {
		return nil, err
	}
	resp.Attempts = attempts
	return resp, nil
}

func (t *target) embed(ctx context.Context, req *llm.EmbedRequest, m registry.Model) (*llm.EmbedResponse, error) {
	if isClaude(m) || t.ep.serverless {
		return nil, &llm.Error{Code: llm.CodeInvalidRequest, Provider: ProviderName, Model: m.ID,
			Message: fmt.Sprintf("model %s is served by a route without embeddings (a Claude deployment or a serverless endpoint)", m.ID)}
	}
	if err := t.ready(ctx, m); err != nil {
		return nil, err
	}
	resp, err := t.oai.Embed(ctx, req)
	if err != nil {
		return nil, t.wireError(err, m)
	}
	resp.Cost = cost(m, resp.Usage, t.tier)
	if t.region != "" {
		resp.Region = t.region
	}
	return resp, nil
}
