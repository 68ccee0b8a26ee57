package openai

import (
	"net/url"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

var _ llm.QuotaKeyer = (*Provider)(nil)

// QuotaKey implements llm.QuotaKeyer. OpenAI sets its rate limits per
// organization, and within it per project, and per model (OpenAI's rate
// limits guide: limits "are defined at the organization level and at the
// project level" and "vary by the model being used"), so the key names the
// server, the account and the model: the base URL m's calls go to, the
// organization billed (Config.Organization, as sent in OpenAI-Organization)
// and the variable of a model's own key (another account) when set, and
// the name sent on the wire, e.g. "https://api.openai.com/v1#gpt-4o" or
// "https://api.openai.com/v1?org=org-123#gpt-4o". Models registered under
// other IDs for the same wire model pace together; the same name on another
// server (a gateway, a local vLLM) paces apart. The key holds no
// credential, so keys of different organizations without an organization
// set pace as one account, the cautious reading; model families OpenAI
// lists under one shared limit pace apart.
func (p *Provider) QuotaKey(m registry.Model) string {
	cc, base := p.configOf(m)
	q := url.Values{}
	if cc.OrgID != "" {
		q.Set("org", cc.OrgID)
	}
	if m.APIKeyEnvVar != "" {
		q.Set("key", m.APIKeyEnvVar)
	}
	if len(q) > 0 {
		base += "?" + q.Encode()
	}
	return base + "#" + p.wireName(m)
}
