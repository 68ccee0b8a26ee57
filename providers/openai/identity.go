package openai

import (
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

var _ llm.CacheIdentity = (*Provider)(nil)

// CacheIdentity implements llm.CacheIdentity: the base URL m's calls go to
// (the provider's, or the model's own APIBase), go-openai's API type and
// version (an Azure configuration built with NewFromClientConfig puts the
// deployment and api-version there), the organization billed and the name
// sent on the wire. The engine mixes it into its cache key, so that a
// request sent to another server, account or deployment is not answered
// from the cache of this one. Keys are left out: a rotated key serves the
// same account.
func (p *Provider) CacheIdentity(m registry.Model) string {
	cc, base := p.configOf(m)
	return strings.Join([]string{
		p.name, base, string(cc.APIType), cc.APIVersion, cc.OrgID, p.wireName(m),
	}, "\x1f")
}

// configOf returns the client configuration m's calls use (the provider's,
// or Options.ModelConfig's for a model with its own APIBase or key) and the
// base URL they go to, lower-case and without a trailing slash.
func (p *Provider) configOf(m registry.Model) (goopenai.ClientConfig, string) {
	cc := p.base
	base := p.baseURL
	if p.modelConfig != nil && (m.APIBase != "" || m.APIKeyEnvVar != "") {
		if mc, err := p.modelConfig(m); err == nil {
			cc = mc
			base = mc.BaseURL
		}
	} else if m.APIBase != "" {
		base = m.APIBase
	}
	return cc, strings.ToLower(strings.TrimRight(base, "/"))
}
