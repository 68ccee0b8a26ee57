package providertest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/providers/providertest"
	"github.com/deluge-go/deluge/registry"
)

// A harness answers each Condition with a provider wired to a fresh
// backend, or false when it cannot produce that condition (those cases are
// skipped). In a test file, the whole suite is then one line:
//
//	func TestConformance(t *testing.T) { providertest.Run(t, harness) }
func ExampleHarnessFunc() {
	model := registry.Model{ID: "my-model", Provider: "mine", Name: "my-model"}
	harness := providertest.HarnessFunc(func(t *testing.T, c providertest.Condition) (providertest.Target, bool) {
		fake := llmtest.New()
		switch c {
		case providertest.Healthy:
		case providertest.BadKey:
			fake.Reply = func(_ context.Context, req *llm.Request, _ int) (*llm.Response, error) {
				return nil, llmtest.Error(req, llm.CodeAuthentication, 401, 0)
			}
		default:
			return providertest.Target{}, false
		}
		return providertest.Target{Provider: fake, Model: model, Backend: fake}, true
	})
	for _, c := range []providertest.Condition{providertest.Healthy, providertest.BadKey, providertest.Stalled} {
		_, ok := harness.Target(nil, c)
		fmt.Printf("%s: %v\n", c, ok)
	}
	// Output:
	// Healthy: true
	// BadKey: true
	// Stalled: false
}

// A provider that speaks two wire APIs for a model declares them, and the
// suite runs its request cases on each (the requests carry the API in
// Sampling.API); a target naming an EmbeddingModel also gets the Embed
// cases.
func ExampleWithAPIs() {
	harness := providertest.HarnessFunc(func(t *testing.T, c providertest.Condition) (providertest.Target, bool) {
		fake := llmtest.New()
		return providertest.Target{Provider: fake, Model: registry.Model{ID: "m", Provider: "mine", Name: "m"},
			EmbeddingModel: registry.Model{ID: "e", Provider: "mine", Name: "e", APISpec: registry.APISpecEmbeddings},
			Backend:        fake}, c == providertest.Healthy
	})
	h := providertest.WithAPIs(harness, llm.APIAuto, llm.APIResponses)
	fmt.Println(h.(providertest.APIs).APIs())
	// In a test: providertest.Run(t, h)
	// Output: [auto responses]
}
