package azuretest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestModelRouter(t *testing.T) {
	s := NewServer(WithModelRouter("model-router"), WithDeployment("gpt-4o", ""))
	defer s.Close()
	seen := map[string]bool{}
	for _, prompt := range []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"} {
		want := RoutedModel(prompt)
		for range 2 { // the choice is the same every time
			_, got := do(t, s.Client(), http.MethodPost, classicURL(s, "model-router", "2024-10-21"), userBody(prompt, ""), nil)
			c := decodeCompletion(t, got)
			assert.Equal(t, want, c.Model, prompt)
			assert.Equal(t, ExpectedReply(prompt), *c.Choices[0].Message.Content)
		}
		seen[want] = true
	}
	assert.Greater(t, len(seen), 1, "eight prompts reach more than one model")

	// Streamed chunks name the routed model too.
	_, got := do(t, s.Client(), http.MethodPost, classicURL(s, "model-router", "2024-10-21"), userBody("alpha", `"stream":true`), nil)
	events := sseEvents(t, got)
	require.NotEmpty(t, events)
	for _, e := range events {
		if e == "[DONE]" || strings.Contains(e, `"model":""`) { // Azure's first chunk (prompt filter results) has no model
			continue
		}
		assert.Contains(t, e, `"model":"`+RoutedModel("alpha")+`"`)
	}

	// Other deployments are unaffected; the router lists as model-router.
	_, got = do(t, s.Client(), http.MethodPost, classicURL(s, "gpt-4o", "2024-10-21"), userBody("alpha", ""), nil)
	assert.Equal(t, "gpt-4o-2024-11-20", decodeCompletion(t, got).Model)
	assert.Equal(t, RouterModel, s.Deployments()["model-router"])

	// A router with its own models picks among them.
	assert.Equal(t, "m1", RoutedModel("anything", "m1"))
}
