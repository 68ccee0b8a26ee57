package azurefoundry

import (
	"strings"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

var _ llm.QuotaKeyer = (*Provider)(nil)

// QuotaKey implements llm.QuotaKeyer. Azure enforces its RPM and TPM
// limits per deployment of a resource, so the key is the endpoint and the
// deployment name the model is sent to, such as
// "https://my-resource.openai.azure.com#gpt-4o"; with regions, each
// region's, in the configured order, joined by commas (the provider
// spreads a model's calls over them). The endpoint carries no credentials
// (see Config.Endpoint). It returns "" for a model it cannot route (the
// client then keys the model by its ID, and the call reports the error).
func (p *Provider) QuotaKey(m registry.Model) string {
	t, _, err := p.route(&llm.Request{Model: m})
	if err != nil {
		return ""
	}
	if t != nil {
		return t.ep.base + "#" + t.deployment(m)
	}
	var b strings.Builder
	for i, r := range p.regions {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(r.ep.base + "#" + r.deployment(m))
	}
	return b.String()
}
