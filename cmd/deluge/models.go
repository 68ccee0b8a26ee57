package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

func newModelsCmd(a *app) *cobra.Command {
	var (
		provider string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List the models deluge knows, with prices and capabilities",
		Long: `List the registered models: the ID to pass to -m, the provider serving it, the
name sent on the wire (for Azure: the deployment name), prices in USD per
million tokens, context window, maximum output and capabilities.`,
		Example: `  deluge models
  deluge models --provider azure-foundry
  deluge models --json | jq -r '.[].id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			models := registry.Models()
			if provider != "" {
				models = slices.DeleteFunc(models, func(m registry.Model) bool { return m.Provider != provider })
				if len(models) == 0 {
					return usageErrorf("no models for provider %q; providers: %s", provider, strings.Join(knownProviders(), ", "))
				}
			}
			if asJSON {
				enc := json.NewEncoder(a.ui.stdout)
				enc.SetIndent("", "  ")
				if models == nil {
					models = []registry.Model{}
				}
				return enc.Encode(models)
			}
			return writeModelTable(a.ui, models)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&provider, "provider", "p", "", "list only the models of this provider (e.g. azure-foundry, openai)")
	f.BoolVar(&asJSON, "json", false, "print a JSON array of models instead of a table")
	return cmd
}

func writeModelTable(u *ui, models []registry.Model) error {
	tw := tabwriter.NewWriter(u.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPROVIDER\tWIRE NAME\tIN $/1M\tCACHED $/1M\tOUT $/1M\tCONTEXT\tMAX OUT\tCAPABILITIES")
	for _, m := range models {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			m.ID, m.Provider, m.Name,
			price(m.InputCost), price(m.CachedInputCost), price(m.OutputCost),
			tokens(m.ContextWindow), tokens(m.MaxOutputTokens), capabilities(m))
	}
	return tw.Flush()
}

func price(v float64) string {
	if v == 0 {
		return "-"
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".")
}

func tokens(n int) string {
	switch {
	case n == 0:
		return "-"
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return groupDigits(n)
}

func capabilities(m registry.Model) string {
	var c []string
	for _, f := range []struct {
		on   bool
		name string
	}{
		{m.SupportsJSON, "json"}, {m.SupportsImages, "images"}, {m.SupportsTools, "tools"},
		{m.SupportsLogprobs, "logprobs"}, {m.SupportsResponses, "responses"}, {m.Reasoning, "reasoning"},
		{m.Router, "router"},
	} {
		if f.on {
			c = append(c, f.name)
		}
	}
	switch m.APISpec {
	case registry.APISpecResponses:
		c = append(c, "responses-only")
	case registry.APISpecEmbeddings:
		c = append(c, fmt.Sprintf("embeddings:%d", m.Dimensions))
	}
	if len(m.Regions) > 0 {
		c = append(c, fmt.Sprintf("regions:%d", len(m.Regions)))
	}
	if len(c) == 0 {
		return "-"
	}
	return strings.Join(c, ",")
}

// knownProviders lists the providers that are registered or serve models.
func knownProviders() []string {
	names := llm.Providers()
	for _, m := range registry.Models() {
		if !slices.Contains(names, m.Provider) {
			names = append(names, m.Provider)
		}
	}
	slices.Sort(names)
	return names
}

// lookupModel resolves a model ID given on the command line or in an input
// line, switching it to provider when one is given (--provider). The error
// names close matches and says where to find the list.
func lookupModel(id, provider string) (registry.Model, error) {
	m, err := registry.Lookup(id)
	if err != nil {
		msg := fmt.Sprintf("unknown model %q", id)
		if near := registry.Suggest(id, 3); len(near) > 0 {
			msg += fmt.Sprintf(" (did you mean %s?)", quoteList(near))
		}
		return registry.Model{}, fmt.Errorf("%s; run 'deluge models' for the list", msg)
	}
	if provider == "" || provider == m.Provider {
		return m, nil
	}
	base := m.BaseModel
	if base == "" {
		base = m.ID
	}
	if !slices.Contains(knownProviders(), provider) {
		return registry.Model{}, fmt.Errorf("unknown provider %q; providers: %s", provider, strings.Join(knownProviders(), ", "))
	}
	// As llm.WithProvider resolves it: the provider's catalog entry, never
	// a model registered for the same base model that happens to be named
	// shorter.
	other, err := registry.Twin(provider, base)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return registry.Model{}, fmt.Errorf("provider %q has no model with base model %q (for %q); run 'deluge models --provider %s'", provider, base, id, provider)
	case err != nil:
		return registry.Model{}, fmt.Errorf("--provider %s for %q: %v", provider, id, err)
	}
	return other, nil
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
