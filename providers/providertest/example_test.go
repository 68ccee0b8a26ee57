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
