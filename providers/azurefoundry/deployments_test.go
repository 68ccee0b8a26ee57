package azurefoundry

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestDeploymentEnvAliases: the design plan's form AZURE_DEPLOYMENT_GPT4O
// names the deployment of the catalog model azure-gpt-4o; the ID form wins
// over it; a variable naming no model is reported, with the closest model,
// through the provider's logger.
func TestDeploymentEnvAliases(t *testing.T) {
	clearAzureEnv(t)
	t.Setenv(EnvEndpoint, testEndpoint)
	t.Setenv(EnvAPIKey, "k")
	for k, v := range map[string]string{
		"AZURE_DEPLOYMENT_GPT4O":                "production-gpt4o-deployment",
		"AZURE_DEPLOYMENT_GPT4O_MINI":           "production-gpt4o-mini-deployment",
		"AZURE_DEPLOYMENT_GPT_4_1":              "alias-41",
		"AZURE_DEPLOYMENT_AZURE_GPT_4_1":        "exact-41", // the ID form wins
		"AZURE_DEPLOYMENT_O3_MINI":              "o3-mini-prod",
		"AZURE_DEPLOYMENT_GPT4O_MNI":            "typo",
		"AZURE_DEPLOYMENT_NAME":                 "single",
		"AZURE_DEPLOYMENT_COMPLETELY_UNRELATED": "x",
	} {
		t.Setenv(k, v)
	}
	cfg, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	m := newMock(t, okReply)
	p := newTestProvider(t, cfg, m)

	for id, want := range map[string]string{
		"azure-gpt-4o":      "production-gpt4o-deployment",
		"azure-gpt-4o-mini": "production-gpt4o-mini-deployment",
		"azure-gpt-4.1":     "exact-41",
		"azure-o3-mini":     "o3-mini-prod",
		"azure-o3":          "o3",
	} {
		if got := p.Deployment(lookup(t, id)); got != want {
			t.Errorf("Deployment(%s) = %q, want %q", id, got, want)
		}
	}
	if _, err := p.Generate(context.Background(), hello(lookup(t, "azure-gpt-4o"))); err != nil {
		t.Fatal(err)
	}
	if got := m.Last(t).Body["model"]; got != "production-gpt4o-deployment" {
		t.Errorf("wire model = %v", got)
	}

	out := logs.String()
	for _, want := range []string{
		"AZURE_DEPLOYMENT_GPT4O_MNI names no model and is ignored; the closest model is azure-gpt-4o-mini: use AZURE_DEPLOYMENT_AZURE_GPT_4O_MINI",
		"AZURE_DEPLOYMENT_NAME names no model and is ignored: deployments are named per model",
		"AZURE_DEPLOYMENT_COMPLETELY_UNRELATED names no model and is ignored; list the model IDs with 'deluge models'",
		"AZURE_DEPLOYMENT_GPT_4_1 is ignored: AZURE_DEPLOYMENT_AZURE_GPT_4_1 also names the deployment of model azure-gpt-4.1",
		"level=WARN",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	for _, quiet := range []string{"AZURE_DEPLOYMENT_GPT4O ", "AZURE_DEPLOYMENT_GPT4O_MINI ", "AZURE_DEPLOYMENT_O3_MINI "} {
		if strings.Contains(out, quiet) {
			t.Errorf("a matching variable was warned about (%s):\n%s", quiet, out)
		}
	}
}

// TestCatalogAliasesAreUnambiguous: no two catalog models share a compact
// form, so an alias names one model.
func TestCatalogAliasesAreUnambiguous(t *testing.T) {
	seen := map[string]string{}
	for _, m := range catalog {
		for _, k := range []string{compactKey(m.Name), compactKey(m.ID)} {
			if other, ok := seen[k]; ok && other != m.ID {
				t.Errorf("%s and %s share the alias %s", m.ID, other, k)
			}
			seen[k] = m.ID
		}
	}
}
