package openai_test

import (
	"testing"

	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/providers/providertest"
	"github.com/deluge-go/deluge/registry"
)

const (
	testKey   = "sk-test-0123456789abcdef"
	wrongKey  = "sk-wrong-9876543210fedcba"
	fakeModel = "fake-model"
)

// TestConformance runs the provider conformance suite against the fake
// OpenAI server, in every condition the fake supports.
func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.HarnessFunc(func(t *testing.T, c providertest.Condition) (providertest.Target, bool) {
		srv := newFakeOpenAI(t, testKey, fakeModel, c)
		key := testKey
		if c == providertest.BadKey {
			key = wrongKey
		}
		p, err := openai.New(openai.Config{APIKey: key, BaseURL: srv.URL + "/v1", HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		m := registry.Model{ID: "test-" + fakeModel, Provider: openai.ProviderName, Name: fakeModel}
		if c == providertest.UnknownModel {
			m.Name = "no-such-model"
		}
		return providertest.Target{Provider: p, Model: m, Backend: srv, Secrets: []string{testKey, wrongKey}}, true
	}))
}
