package azurefoundry

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/deluge-go/deluge/registry"
)

// AZURE_DEPLOYMENT_<X> variables name deployments. <X> is a model ID in
// environment form (EnvKey: AZURE_DEPLOYMENT_AZURE_GPT_4O for azure-gpt-4o)
// or, for catalog models, the form the project's design plan documents:
// the model name without the "azure-" prefix, with or without underscores
// (AZURE_DEPLOYMENT_GPT4O, AZURE_DEPLOYMENT_GPT4O_MINI,
// AZURE_DEPLOYMENT_GPT_4_1). A variable that names no model is reported
// once, when the provider is built, with the closest model; it is never
// silently ignored.

// envAliases resolves the AZURE_DEPLOYMENT_<X> variables of env (by <X>)
// against the azure-foundry models registered now: it returns the
// deployments given by alias, by model ID, and logs a warning for every
// variable that names no model or loses to another naming the same model.
// Variables naming a model ID exactly need no resolving: deployment reads
// them by EnvKey.
func envAliases(env map[string]string, logger *slog.Logger) map[string]string {
	if len(env) == 0 {
		return nil
	}
	var models []registry.Model
	exact := map[string]string{} // EnvKey(ID) → ID
	for _, m := range registry.Models() {
		if m.Provider == ProviderName {
			models = append(models, m)
			exact[EnvKey(m.ID)] = m.ID
		}
	}
	aliasOf := catalogAliases()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic: the first of two aliases wins
	var out map[string]string
	from := map[string]string{} // model ID → the variable its deployment came from
	for _, k := range keys {
		if id, ok := exact[k]; ok {
			from[id] = EnvDeploymentPrefix + k
		}
	}
	for _, k := range keys {
		if _, ok := exact[k]; ok {
			continue
		}
		name := EnvDeploymentPrefix + k
		id, ok := aliasOf[compactKey(k)]
		if !ok {
			warnOnce(logger, "azurefoundry: "+name+" names no model and is ignored"+closestHint(k, models),
				slog.String("variable", name))
			continue
		}
		if prev, taken := from[id]; taken {
			warnOnce(logger, fmt.Sprintf("azurefoundry: %s is ignored: %s also names the deployment of model %s, and wins", name, prev, id),
				slog.String("variable", name), slog.String("model", id))
			continue
		}
		from[id] = name
		if out == nil {
			out = map[string]string{}
		}
		out[id] = env[k]
	}
	return out
}

// warned remembers the warnings given, per logger, so that a program
// building the provider more than once (the CLI checks the configuration,
// then opens the provider) says each thing once.
var warned sync.Map // warnKey → struct{}

type warnKey struct {
	logger *slog.Logger
	msg    string
}

func warnOnce(logger *slog.Logger, msg string, attrs ...slog.Attr) {
	if _, dup := warned.LoadOrStore(warnKey{logger, msg}, struct{}{}); dup {
		return
	}
	logger.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
}

// catalogAliases maps the compact form (compactKey) of each catalog
// model's name, and of its ID, to the ID.
func catalogAliases() map[string]string {
	out := make(map[string]string, 2*len(catalog))
	for _, m := range catalog {
		out[compactKey(m.Name)] = m.ID
		out[compactKey(m.ID)] = m.ID
	}
	return out
}

// compactKey is s upper case with everything but letters and digits
// removed: "gpt-4o-mini", "GPT4O_MINI" and "GPT_4O_MINI" are all
// "GPT4OMINI".
func compactKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			b.WriteByte(c)
		}
	}
	return b.String()
}

// closestHint names the model whose variable is nearest to the
// AZURE_DEPLOYMENT_<k> given, or says where to find the model IDs.
func closestHint(k string, models []registry.Model) string {
	if k == "NAME" {
		return ": deployments are named per model, with " + EnvDeploymentPrefix + "<MODEL ID>; for example " +
			EnvDeploymentPrefix + EnvKey(ModelID("gpt-4o")) + " (or " + EnvDeploymentPrefix + "GPT4O) for azure-gpt-4o"
	}
	ck := compactKey(k)
	best, bestDist := "", -1
	for _, m := range models {
		for _, form := range []string{compactKey(m.ID), compactKey(strings.TrimPrefix(m.ID, "azure-"))} {
			if d := editDistance(ck, form); bestDist < 0 || d < bestDist || (d == bestDist && m.ID < best) {
				best, bestDist = m.ID, d
			}
		}
	}
	if best == "" || bestDist > max(len(ck)/2, 2) {
		return "; list the model IDs with 'deluge models' and use " + EnvDeploymentPrefix + "<MODEL ID> (upper case, non-alphanumerics as _)"
	}
	return fmt.Sprintf("; the closest model is %s: use %s%s", best, EnvDeploymentPrefix, EnvKey(best))
}

// editDistance is the Levenshtein distance between two ASCII strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
