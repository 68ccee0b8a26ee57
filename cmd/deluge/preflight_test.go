package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/deluge-go/deluge/llm"
)

// TestCredentialsHintNamesOnlyUnsetVariables: the advice never asks to set
// a variable that is already set.
func TestCredentialsHintNamesOnlyUnsetVariables(t *testing.T) {
	for _, v := range []string{"AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN", "AZURE_OPENAI_USE_ENTRA_ID",
		"AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_RESOURCE", "AZURE_OPENAI_REGIONS", "OPENAI_API_KEY"} {
		t.Setenv(v, "")
	}
	assert.Contains(t, credentialsHint("azure-foundry"), "Set AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT")

	t.Setenv("AZURE_OPENAI_API_KEY", "k")
	h := credentialsHint("azure-foundry")
	assert.Contains(t, h, "Set AZURE_OPENAI_ENDPOINT")
	assert.NotContains(t, h, "Set AZURE_OPENAI_API_KEY")

	t.Setenv("AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com")
	h = credentialsHint("azure-foundry")
	assert.NotContains(t, h, "Set ")
	assert.Contains(t, h, "AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT are set")

	t.Setenv("AZURE_OPENAI_API_KEY", "")
	t.Setenv("AZURE_OPENAI_USE_ENTRA_ID", "1")
	assert.Contains(t, credentialsHint("azure-foundry"), "AZURE_OPENAI_USE_ENTRA_ID and AZURE_OPENAI_ENDPOINT are set")

	assert.Contains(t, credentialsHint("openai"), "Set OPENAI_API_KEY")
	t.Setenv("OPENAI_API_KEY", "k")
	assert.NotContains(t, credentialsHint("openai"), "Set OPENAI_API_KEY")
}

// TestRunStopsOnConfigurationErrors: a run whose first requests all fail
// with a configuration error (an endpoint that redirects, an API version
// the resource refuses) stops, as it does for authentication errors.
func TestRunStopsOnConfigurationErrors(t *testing.T) {
	eng := &fakeEngine{concurrency: 1, reply: func(_ context.Context, j *job) (*llm.Response, error) {
		return nil, &llm.Error{Code: llm.CodeConfiguration, Provider: "azure-foundry", StatusCode: 400, Message: "API version not supported"}
	}}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	r := cli{stdin: prompts(100), engine: eng}.run(t, "run", "-m", "clitest-small", "-o", out)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `the first 8 requests all failed with "configuration"`)
	assert.Less(t, len(readResults(t, out)), 20, "the run stopped early")
}
