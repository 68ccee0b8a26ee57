package azuretest

import "hash/fnv"

// DefaultRouterModels are the models a router deployment chooses from
// unless WithModelRouter names others: the underlying models of Azure's
// model router version 2025-05-19 (Microsoft Learn, "Model router for
// Microsoft Foundry", supported models), as a response's "model" field
// names them.
var DefaultRouterModels = []string{
	"gpt-4.1-nano-2025-04-14",
	"gpt-4.1-mini-2025-04-14",
	"gpt-4.1-2025-04-14",
	"o4-mini-2025-04-16",
}

// WithModelRouter adds a model-router deployment: like Azure's model
// router, it answers every chat completion with the model it chose, named
// in the reply's "model" field (and each stream chunk's). The emulator
// chooses deterministically per prompt: the FNV-1a hash of the last user
// message's text picks one of models (DefaultRouterModels when none are
// given), so a test knows which model answers a prompt (RoutedModel).
// Sampling parameters are accepted whatever model is chosen, as Azure's
// router drops those a reasoning model rejects.
func WithModelRouter(name string, models ...string) Option {
	return func(c *config) {
		if len(models) == 0 {
			models = DefaultRouterModels
		}
		if c.routers == nil {
			c.routers = map[string][]string{}
		}
		c.routers[name] = append([]string(nil), models...)
		WithDeployment(name, RouterModel)(c)
	}
}

// RouterModel is the underlying model name a router deployment is listed
// with (Azure lists model-router with its version, 2025-11-18 the latest).
const RouterModel = "model-router-2025-11-18"

// RoutedModel returns the model a router deployment choosing among models
// (DefaultRouterModels when none are given) answers prompt with: the
// choice WithModelRouter's deployment makes for a request whose last user
// message is prompt.
func RoutedModel(prompt string, models ...string) string {
	if len(models) == 0 {
		models = DefaultRouterModels
	}
	h := fnv.New32a()
	h.Write([]byte(prompt))
	return models[h.Sum32()%uint32(len(models))]
}

// servedModel is the model that answers req on d: d's own, or for a
// router the one it picks for the prompt.
func (d *deployment) servedModel(req *chatRequest) string {
	if len(d.routes) == 0 {
		return d.model
	}
	return RoutedModel(req.lastUserText(), d.routes...)
}
