package azurefoundry

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// TestRegisteredProvider exercises the path users take: the package's init
// registered "azure-foundry", and the first client opens it from the
// environment. The registered provider opens once per process, so this is
// the only test in the package that uses it; the others build their own
// with New or NewFromEnv. Its emulator lives as long as the process, as the
// registered provider does (go test -count=N runs the test N times).
var registeredEmulator = sync.OnceValue(func() *azuretest.Server {
	return azuretest.NewServer(azuretest.WithAPIKeys("registered-key"))
})

func TestRegisteredProvider(t *testing.T) {
	if !slices.Contains(llm.Providers(), ProviderName) {
		t.Fatalf("%q not registered: %v", ProviderName, llm.Providers())
	}
	srv := registeredEmulator()
	clearAzureEnv(t)
	t.Setenv(EnvEndpoint, srv.URL)
	t.Setenv(EnvAPIKey, "registered-key")

	c, err := llm.NewClient("azure-gpt-4o", llm.WithLogger(quietLogger))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Generate(context.Background(), conversation.New().User("Hello!"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Completion != azuretest.ExpectedReply("Hello!") || resp.Cost <= 0 || resp.Provider != ProviderName {
		t.Errorf("resp = %q cost %g provider %s", resp.Completion, resp.Cost, resp.Provider)
	}
	p, err := llm.OpenProvider(ProviderName)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*Provider); !ok {
		t.Errorf("registered provider is %T", p)
	}
}
