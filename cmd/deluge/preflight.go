package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/anthropic"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

// checkProviders makes sure, without any network I/O, that the providers
// of models are registered and configured, so that a run without
// credentials stops before reading its input instead of writing one error
// per prompt.
func checkProviders(models []registry.Model) error {
	for _, m := range models {
		if !slices.Contains(llm.Providers(), m.Provider) {
			_, err := llm.OpenProvider(m.Provider) // explains: "forgotten import?"
			return fmt.Errorf("model %q: %w", m.ID, err)
		}
		if err := preflight(m); err != nil {
			return fmt.Errorf("model %q: %v\n%s", m.ID, err, credentialsHint(m.Provider))
		}
		if _, err := llm.OpenProvider(m.Provider); err != nil {
			return fmt.Errorf("%v\n%s", err, credentialsHint(m.Provider))
		}
	}
	return nil
}

// preflight applies the strict configuration checks of the providers the
// CLI knows. The registered providers are lenient (a missing endpoint is
// reported by each call, so that models with their own APIBase work); a
// model without an APIBase needs the provider's own endpoint and
// credentials.
func preflight(m registry.Model) error {
	if m.APIBase != "" {
		return nil
	}
	switch m.Provider {
	case azurefoundry.ProviderName:
		cfg, err := azurefoundry.ConfigFromEnv()
		if err != nil {
			return err
		}
		p, err := azurefoundry.New(cfg)
		if err != nil {
			return err
		}
		return p.Close()
	case openai.ProviderName:
		cfg := openai.ConfigFromEnv()
		if cfg.APIKey == "" && (cfg.BaseURL == "" || cfg.BaseURL == openai.DefaultBaseURL) {
			return errors.New("no OpenAI API key: " + openai.EnvAPIKey + " is not set")
		}
	case anthropic.ProviderName:
		p, err := anthropic.New(anthropic.ConfigFromEnv())
		if err != nil {
			return err
		}
		return p.Close()
	}
	return nil
}

// credentialsHint says how to configure a provider: it asks to set only the
// variables that are unset, and to check those that are.
func credentialsHint(provider string) string {
	switch provider {
	case azurefoundry.ProviderName:
		cred := firstSet(azurefoundry.EnvAPIKey, azurefoundry.EnvADToken, azurefoundry.EnvUseEntraID)
		endpoint := firstSet(azurefoundry.EnvEndpoint, azurefoundry.EnvResource, azurefoundry.EnvRegions)
		var set, unset []string
		if cred != "" {
			set = append(set, cred)
		} else {
			unset = append(unset, azurefoundry.EnvAPIKey)
		}
		if endpoint != "" {
			set = append(set, endpoint)
		} else {
			unset = append(unset, azurefoundry.EnvEndpoint+" (e.g. https://my-resource.openai.azure.com)")
		}
		if len(unset) == 0 {
			return strings.Join(set, " and ") + " are set: check the value the message names. 'deluge demo' shows deluge at work without credentials."
		}
		return "Set " + strings.Join(unset, " and ") + ", or use --provider openai with OPENAI_API_KEY. 'deluge demo' shows deluge at work without credentials."
	case openai.ProviderName:
		if os.Getenv(openai.EnvAPIKey) != "" {
			return "OPENAI_API_KEY is set: check its value (and OPENAI_BASE_URL), or use --provider azure-foundry."
		}
		return "Set OPENAI_API_KEY, or use --provider azure-foundry with AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT."
	case anthropic.ProviderName:
		return "Set ANTHROPIC_API_KEY, or use --provider azure-foundry for Claude deployed in Azure AI Foundry (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY)."
	case "":
		return "Check the provider's credentials and endpoint."
	}
	return fmt.Sprintf("Check the credentials and endpoint of provider %q, or choose another with --provider.", provider)
}

// firstSet returns the first of the variables that is set, or "".
func firstSet(vars ...string) string {
	for _, v := range vars {
		if strings.TrimSpace(os.Getenv(v)) != "" {
			return v
		}
	}
	return ""
}

// notFoundHint says what to do when a model or deployment does not exist.
func notFoundHint(err error) string {
	var le *llm.Error
	if errors.As(err, &le) && le.Provider == azurefoundry.ProviderName && le.Model != "" {
		return fmt.Sprintf("The Azure deployment does not exist. Deployments are assumed to be named like the model "+
			"(%q for %s); for another name set %s%s=<deployment name>.",
			wireName(le.Model), le.Model, azurefoundry.EnvDeploymentPrefix, azurefoundry.EnvKey(le.Model))
	}
	return "Check the model ID ('deluge models') and that your account can use it."
}

// wireName is the registered wire name of a model ID, or the ID.
func wireName(id string) string {
	if m, err := registry.Lookup(id); err == nil {
		return m.Name
	}
	return id
}
