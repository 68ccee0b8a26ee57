package anthropic

import (
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

var _ llm.QuotaKeyer = (*Provider)(nil)

// QuotaKey implements llm.QuotaKeyer. Anthropic sets its rate limits (RPM,
// input and output tokens per minute) per organization and applies them
// separately to each model (Anthropic's rate limits page: limits are set
// "at the organization level", and "applied separately for each model",
// some models sharing one limit as a model group), so the key names the
// server, the account and the model: the base URL m's calls go to, the
// variable of a model's own key (another account) when set, and the name
// sent on the wire, e.g. "https://api.anthropic.com#claude-sonnet-4-5".
// Models registered under other IDs for the same wire model pace together;
// the same name behind another gateway paces apart. The key holds no
// credential, so keys of different organizations on one base URL pace as
// one account, the cautious reading; the models of one model group, and a
// dated ID and its alias, pace apart.
func (p *Provider) QuotaKey(m registry.Model) string {
	key := p.baseOf(m)
	if p.custom && m.APIKeyEnvVar != "" {
		key += "?key=" + m.APIKeyEnvVar
	}
	return key + "#" + p.wireName(m)
}
