package azurefoundry

import (
	"testing"

	"github.com/deluge-go/deluge/internal/azureharness"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/providers/providertest"
)

const (
	conformanceKey = "conformance-key-0123456789"
	wrongKey       = "wrong-key-9876543210"
)

// TestConformance runs the provider conformance suite against the Azure
// emulator, on both URL families, through the region router with one
// region, and with two regions between which a call fails over.
func TestConformance(t *testing.T) {
	for _, v := range []struct {
		name    string
		version string
		regions int // 0: a single endpoint, no router
	}{
		{"v1", "", 0},
		{"classic", "2024-10-21", 0},
		{"region", "", 1},
		{"two-regions", "", 2},
	} {
		t.Run(v.name, func(t *testing.T) {
			h := providertest.HarnessFunc(func(t *testing.T, c providertest.Condition) (providertest.Target, bool) {
				return emulatorTarget(t, c, v.version, v.regions)
			})
			// Chat completions (the model's APISpec) and the Responses API.
			providertest.Run(t, providertest.WithAPIs(h, llm.APIAuto, llm.APIResponses))
		})
	}
}

// emulatorTarget wires the provider to one emulator per region (one in
// all without regions) in condition c. With two regions, FailingOver
// makes the first region answer 503 and the router try it first.
func emulatorTarget(t *testing.T, c providertest.Condition, version string, regions int) (providertest.Target, bool) {
	if c == providertest.FailingOver && regions < 2 {
		return providertest.Target{}, false
	}
	backend := make(azureharness.Backend, max(regions, 1))
	for i := range backend {
		opts := azureharness.Options(c, azuretest.WithAPIKeys(conformanceKey),
			azuretest.WithDeployment("gpt-4o", ""), azuretest.WithDeployment("text-embedding-3-small", ""))
		if c == providertest.FailingOver && i == 0 {
			opts = append(opts, azuretest.WithFaults(azuretest.Faults{Rate503: 1}))
		}
		backend[i] = azuretest.NewServer(opts...)
		t.Cleanup(backend[i].Close)
	}

	key := conformanceKey
	if c == providertest.BadKey {
		key = wrongKey
	}
	srv := backend[0]
	cfg := Config{Endpoint: srv.URL, APIKey: key, APIVersion: version, HTTPClient: srv.Client(), Logger: quietLogger}
	if regions > 0 {
		cfg = Config{APIKey: key, APIVersion: version, HTTPClient: srv.Client(), Logger: quietLogger}
		for i, s := range backend {
			cfg.Regions = append(cfg.Regions, Region{Name: []string{"eastus", "westus"}[i], Endpoint: s.URL})
		}
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c == providertest.FailingOver {
		p.rand = func() float64 { return 0 } // the first region in rotation: the failing one
	}
	t.Cleanup(func() { p.Close() })
	m, em := lookup(t, "azure-gpt-4o"), lookup(t, "azure-text-embedding-3-small")
	if c == providertest.UnknownModel {
		m.Name, em.Name = "no-such-deployment", "no-such-embeddings"
	}
	return providertest.Target{Provider: p, Model: m, EmbeddingModel: em, Backend: backend, Secrets: []string{conformanceKey, wrongKey}}, true
}
