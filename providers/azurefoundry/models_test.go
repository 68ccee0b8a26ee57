package azurefoundry

import (
	"strings"
	"testing"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

func TestCatalog(t *testing.T) {
	want := []string{
		"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5-chat",
		"gpt-5.1", "o1", "o3", "o3-mini", "o4-mini", "gpt-4-turbo", "gpt-4", "gpt-35-turbo",
		"DeepSeek-R1", "DeepSeek-V3.1", "Llama-3.3-70B-Instruct", "Llama-4-Maverick-17B-128E-Instruct-FP8", "Mistral-Large-3",
		"grok-4", "gpt-oss-120b", "Phi-4",
	}
	responsesOnly := []string{"gpt-5-pro", "gpt-5-codex", "gpt-5.1-codex", "gpt-5.1-codex-mini", "o3-pro", "codex-mini"}
	embeddings := []string{"text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002"}
	byName := map[string]registry.Model{}
	for _, m := range Models() {
		byName[m.Name] = m
	}
	for _, name := range want {
		m, ok := byName[name]
		if !ok {
			t.Errorf("catalog lacks %s", name)
			continue
		}
		reg, err := registry.Lookup(ModelID(name))
		if err != nil {
			t.Errorf("%s not registered: %v", ModelID(name), err)
			continue
		}
		if reg.ID != m.ID || reg.Provider != ProviderName || reg.Name != name || reg.BaseModel == "" || reg.APISpec != registry.APISpecChat {
			t.Errorf("%s registered as %+v", name, reg)
		}
		if !strings.HasPrefix(m.ID, "azure-") || m.ID != strings.ToLower(m.ID) {
			t.Errorf("ID %q: want azure-<name> in lower case", m.ID)
		}
		if m.InputCost <= 0 || m.OutputCost <= 0 || m.CachedInputCost > m.InputCost || m.ContextWindow <= 0 ||
			m.MaxOutputTokens <= 0 || m.MaxOutputTokens > m.ContextWindow {
			t.Errorf("%s: implausible prices or limits: %+v", name, m)
		}
	}
	for _, name := range responsesOnly {
		m, ok := byName[name]
		if !ok || m.APISpec != registry.APISpecResponses || !m.Reasoning || !m.SupportsResponses || m.InputCost <= 0 || m.OutputCost <= 0 ||
			m.CachedInputCost > m.InputCost || m.MaxOutputTokens <= 0 || m.MaxOutputTokens > m.ContextWindow {
			t.Errorf("responses-only %s: %+v", name, m)
		}
	}
	for _, name := range embeddings {
		m, ok := byName[name]
		if !ok || m.APISpec != registry.APISpecEmbeddings || m.InputCost <= 0 || m.OutputCost != 0 || m.Dimensions <= 0 ||
			m.MaxInputs != 2048 || m.ContextWindow != 8192 {
			t.Errorf("embeddings %s: %+v", name, m)
		}
	}
	if got, want := len(byName), len(want)+len(responsesOnly)+len(embeddings)+len(claudeCatalog)+1; got != want { // Claude: claude_test.go; the router: router_test.go
		t.Errorf("catalog has %d models, test lists %d: update one", got, want)
	}
	// Spot checks against the sourced prices (Global Standard, USD/1M).
	for id, p := range map[string][3]float64{
		"azure-gpt-4o":      {2.50, 1.25, 10},
		"azure-gpt-4.1":     {2, 0.50, 8},
		"azure-gpt-5":       {1.25, 0.125, 10},
		"azure-o3":          {2, 0.50, 8},
		"azure-deepseek-r1": {1.35, 0, 5.40},
		"azure-grok-4":      {3, 0, 15},
		// Responses-only and embeddings models.
		"azure-gpt-5-codex":            {1.25, 0.125, 10},
		"azure-gpt-5-pro":              {15, 0, 120},
		"azure-o3-pro":                 {20, 0, 80},
		"azure-codex-mini":             {1.50, 0.375, 6},
		"azure-text-embedding-3-small": {0.02, 0, 0},
		"azure-text-embedding-3-large": {0.13, 0, 0},
		"azure-text-embedding-ada-002": {0.10, 0, 0},
	} {
		m := lookup(t, id)
		if m.InputCost != p[0] || m.CachedInputCost != p[1] || m.OutputCost != p[2] {
			t.Errorf("%s prices = %v/%v/%v, want %v", id, m.InputCost, m.CachedInputCost, m.OutputCost, p)
		}
	}
	if !lookup(t, "azure-o3-mini").Reasoning || lookup(t, "azure-gpt-4o").Reasoning || lookup(t, "azure-o3-mini").SupportsImages {
		t.Error("capability flags wrong")
	}
	if !lookup(t, "azure-gpt-4o").SupportsResponses || lookup(t, "azure-deepseek-r1").SupportsResponses || lookup(t, "azure-gpt-35-turbo").SupportsResponses {
		t.Error("SupportsResponses wrong")
	}
	if lookup(t, "azure-text-embedding-ada-002").SupportsDimensions || !lookup(t, "azure-text-embedding-3-large").SupportsDimensions ||
		lookup(t, "azure-text-embedding-3-large").Dimensions != 3072 {
		t.Error("embedding dimensions wrong")
	}
}

// TestCatalogTwins: WithProvider("azure-foundry") finds the Azure twin of
// an OpenAI model by BaseModel, Azure's gpt-35-turbo spelling included.
func TestCatalogTwins(t *testing.T) {
	for base, want := range map[string]string{
		"gpt-4o": "azure-gpt-4o", "gpt-4.1-mini": "azure-gpt-4.1-mini", "o3": "azure-o3", "gpt-3.5-turbo": "azure-gpt-35-turbo",
		"o3-pro": "azure-o3-pro", "codex-mini-latest": "azure-codex-mini", "text-embedding-3-small": "azure-text-embedding-3-small",
	} {
		m, ok := registry.ForProvider(ProviderName, base)
		if !ok || m.ID != want {
			t.Errorf("ForProvider(%q) = %q, %v; want %q", base, m.ID, ok, want)
		}
	}
}

func TestCost(t *testing.T) {
	m := lookup(t, "azure-gpt-4o")
	u := llm.Usage{InputTokens: 1_000_000, CachedInputTokens: 200_000, OutputTokens: 100_000}
	base := 0.8*2.50 + 0.2*1.25 + 0.1*10
	// A synchronous call to a batch-type deployment is not discounted;
	// BatchCost is the batch job's price.
	for typ, mult := range map[DeploymentType][2]float64{
		GlobalStandard: {1, 0.5}, DataZone: {1.1, 0.55}, GlobalBatch: {1, 0.5}, DataZoneBatch: {1.1, 0.55},
	} {
		if got := cost(m, u, typ); !near(got, base*mult[0]) {
			t.Errorf("%s: cost = %g, want %g", typ, got, base*mult[0])
		}
		if got := BatchCost(m, u, typ); !near(got, base*mult[1]) {
			t.Errorf("%s: BatchCost = %g, want %g", typ, got, base*mult[1])
		}
	}
	// A model registered with its own prices is not scaled, except by the
	// batch discount.
	own := m
	own.InputCost = 1
	if got, want := cost(own, u, DataZone), u.Cost(own); !near(got, want) {
		t.Errorf("own prices: cost = %g, want %g", got, want)
	}
	if got, want := BatchCost(own, u, DataZone), u.Cost(own)/2; !near(got, want) {
		t.Errorf("own prices: BatchCost = %g, want %g", got, want)
	}
}

func TestEnvKey(t *testing.T) {
	for in, want := range map[string]string{
		"azure-gpt-4o": "AZURE_GPT_4O", "azure-gpt-4.1-mini": "AZURE_GPT_4_1_MINI", "my.model/x": "MY_MODEL_X", "eastus": "EASTUS",
	} {
		if got := EnvKey(in); got != want {
			t.Errorf("EnvKey(%q) = %q, want %q", in, got, want)
		}
	}
}
