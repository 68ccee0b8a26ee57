package azurefoundry

import (
	"strings"

	goopenai "github.com/sashabaranov/go-openai"
)

// Serverless (models-as-a-service) endpoints: partner models deployed
// before Foundry resources existed each have an endpoint of their own,
// https://{name}.{region}.models.ai.azure.com (earlier
// {name}.{region}.inference.ai.azure.com), serving one model at
// {endpoint}/chat/completions: no /openai prefix, no deployment in the path,
// the key in api-key (or as a bearer token), OpenAI-shaped bodies without
// content-filter annotations, and non-OpenAI 401 bodies
// ({"statusCode":401,"message":…}). A model whose APIBase is such a host
// is sent there through the shared OpenAI serializer; so is every call when
// AZURE_OPENAI_ENDPOINT names one.

// serverlessHostSuffixes are the host families of serverless endpoints.
var serverlessHostSuffixes = [...]string{
	".models.ai.azure.com",
	".inference.ai.azure.com",
}

// ServerlessAPIVersion is the api-version sent to serverless endpoints: the
// Azure AI Model Inference API version of the recorded serverless traffic
// (fixtures/azure/modelinference_serverless_*), sent by the Azure AI
// Inference SDKs; serverless endpoints also answer without one.
const ServerlessAPIVersion = "2024-05-01-preview"

// serverlessRoute is the route a serverless endpoint serves, for messages.
const serverlessRoute = "/chat/completions?api-version=" + ServerlessAPIVersion

// isServerlessHost reports whether host is a serverless endpoint.
func isServerlessHost(host string) bool {
	for _, s := range serverlessHostSuffixes {
		if strings.HasSuffix(host, s) && len(host) > len(s) {
			return true
		}
	}
	return false
}

// configureServerless points a target's go-openai configuration at a
// serverless endpoint: {endpoint}/chat/completions?api-version=….
func (t *target) configureServerless(cc *goopenai.ClientConfig) {
	cc.BaseURL = strings.TrimSuffix(t.ep.base, "/chat/completions")
	cc.APIType = goopenai.APITypeOpenAI
	cc.APIVersion = ServerlessAPIVersion
}
