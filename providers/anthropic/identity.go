package anthropic

import (
	"strings"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

var _ llm.CacheIdentity = (*Provider)(nil)

// CacheIdentity implements llm.CacheIdentity: the base URL m's calls go to
// (the provider's, or the model's own APIBase), the anthropic-version
// header and the name sent on the wire (for Azure, the deployment). The
// engine mixes it into its cache key, so that a request sent to another
// server or deployment is not answered from the cache of this one.
func (p *Provider) CacheIdentity(m registry.Model) string {
	return strings.Join([]string{p.name, p.baseOf(m), p.version, p.wireName(m)}, "\x1f")
}

// baseOf returns the base URL m's calls go to, lower-case: the provider's,
// or the model's own APIBase (New only).
func (p *Provider) baseOf(m registry.Model) string {
	base := p.def.base
	if p.custom && m.APIBase != "" {
		if b, err := normalizeBaseURL(m.APIBase); err == nil {
			base = b
		} else {
			base = m.APIBase
		}
	}
	return strings.ToLower(base)
}
