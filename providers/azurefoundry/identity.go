package azurefoundry

import (
	"slices"
	"strings"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

var _ llm.CacheIdentity = (*Provider)(nil)

// CacheIdentity implements llm.CacheIdentity: where and how m's calls are
// served, so that the engine's cache never answers a request with a reply
// from another resource, region set, deployment or API. It lists, for each
// endpoint m may be sent to (the resource, every region, or the model's own
// APIBase), the endpoint URL, the deployment serving m there, the route
// (chat completions, Claude's Messages API, a serverless endpoint), the
// API version and the deployment type (which sets the price). Weights and
// credentials are left out: they change neither the answer nor the
// resource that bills it.
func (p *Provider) CacheIdentity(m registry.Model) string {
	var targets []*target
	switch {
	case m.APIBase != "" || m.APIKeyEnvVar != "":
		t, err := p.customTarget(m)
		if err != nil {
			// The call will fail the same way; key it apart all the same.
			return "azure-foundry|custom|" + m.APIBase
		}
		targets = []*target{t}
	case len(p.regions) > 0:
		targets = p.regions
	case p.def != nil:
		targets = []*target{p.def}
	default:
		return "azure-foundry|unconfigured"
	}
	lines := make([]string, 0, len(targets))
	for _, t := range targets {
		route := "chat"
		switch {
		case t.ep.serverless:
			route = "serverless"
		case isClaude(m) && t.claude != nil:
			route = "anthropic-messages"
		}
		lines = append(lines, strings.Join([]string{
			strings.ToLower(t.ep.base), t.region, t.deployment(m), route, modeName(t.mode), t.apiVersion, string(t.tier),
		}, "\x1f"))
	}
	slices.Sort(lines)
	return "azure-foundry\x1e" + strings.Join(lines, "\x1e")
}

func modeName(m apiMode) string {
	if m == modeClassic {
		return "classic"
	}
	return "v1"
}
