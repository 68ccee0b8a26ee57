// Package azurefoundry is deluge's provider for Azure OpenAI and Azure AI
// Foundry: the OpenAI models of an Azure resource and the Foundry models
// (DeepSeek, Llama, Mistral, Grok, Phi, gpt-oss) served by the same v1 chat
// completions route, Claude deployments of a Foundry resource (Anthropic's
// Messages API under {endpoint}/anthropic), and partner models on
// serverless endpoints (*.models.ai.azure.com).
//
// Import it for its side effects, as with a database/sql driver:
//
//	import _ "github.com/deluge-go/deluge/providers/azurefoundry"
//
// Its init registers the provider "azure-foundry" and a catalog of models
// with Azure prices ("azure-gpt-4o", "azure-gpt-4.1-mini", "azure-o3",
// "azure-deepseek-r1", the Responses-only "azure-gpt-5-codex" and
// "azure-o3-pro", the embeddings model "azure-text-embedding-3-small", …;
// see Models). The provider reads its configuration
// from the environment the first time a client uses it (ConfigFromEnv):
//
//	export AZURE_OPENAI_ENDPOINT=https://my-resource.openai.azure.com
//	export AZURE_OPENAI_API_KEY=...
//
//	client, err := llm.NewClient("azure-gpt-4o")
//	resp, err := client.Generate(ctx, conversation.New().User("Hello!"))
//
// To configure it in code instead, build a Config, call New and pass the
// provider with llm.WithProviderInstance.
//
// # Wire
//
// The provider has no serializer of its own. Each endpoint is an
// openai.Provider (the go-openai based serializer and parser of
// providers/openai) built once from a go-openai ClientConfig:
//
//   - API version "v1" (the default): base URL {endpoint}/openai/v1, no
//     api-version, the deployment name as the body's "model".
//   - A dated API version (2024-10-21, 2025-04-01-preview, …): go-openai's
//     Azure API type, {endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…,
//     the deployment name path-escaped.
//
// Under go-openai sits an HTTP doer chain: the openai provider's capture
// doer (status, headers, error bodies, content-filter annotations), then
// this package's auth doer, which sets either "api-key" or "Authorization:
// Bearer <token>" (never both, whatever go-openai set), then the endpoint's
// own http.Transport.
//
// # Responses API
//
// Models whose APISpec is registry.APISpecResponses (the catalog's
// Responses-only models: azure-gpt-5-codex, azure-gpt-5-pro, azure-o3-pro,
// azure-codex-mini, azure-gpt-5.1-codex, azure-gpt-5.1-codex-mini), and
// calls that ask for it (llm.WithAPI(llm.APIResponses) on a chat model
// such as azure-gpt-4o, llm.WithPreviousResponse, llm.WithBackground), go
// to the Responses API through the same openai.Provider: POST
// {endpoint}/openai/v1/responses on the v1 family, POST
// {endpoint}/openai/responses?api-version=… on the classic one (the
// configured version when it is MinResponsesAPIVersion or later, else
// ResponsesAPIVersion), the deployment as the body's "model" on both, the
// same credential, regions, pricing and errors. Azure's content_filters are
// mapped to PromptFilter and ContentFilter. The provider is an llm.Poller:
// background responses are polled and cancelled in the region that
// created them (Response.Region). Serverless endpoints do not serve the
// Responses API; a call there is refused without being sent.
//
// # Embeddings
//
// The provider is an llm.Embedder (llm.Client.Embed): POST
// {endpoint}/openai/v1/embeddings (the deployment as the body's model) or
// {endpoint}/openai/deployments/{deployment}/embeddings?api-version=…,
// through the openai.Provider of each endpoint, with region failover and
// deployment-type pricing as for chat. The catalog has
// azure-text-embedding-3-small, -3-large and -ada-002.
//
// # Claude
//
// Models whose APISpec is registry.APISpecAnthropicMessages (the catalog's
// "azure-claude-…" entries) go to POST {endpoint}/anthropic/v1/messages
// with anthropic-version, the key in x-api-key or an Entra ID bearer token,
// and the deployment name as the body's model, through the serializer of
// providers/anthropic (anthropic.NewEndpoint), configured per endpoint as
// the OpenAI one is. Deployment names, regions, cost and errors work as for
// the other models; a missing deployment is reported as "Claude deployment
// 'X' not found in resource 'Y'".
//
// # Serverless endpoints
//
// A model whose APIBase is a serverless endpoint
// (https://{name}.{region}.models.ai.azure.com, or the older
// *.inference.ai.azure.com) is sent to {APIBase}/chat/completions with
// api-version ServerlessAPIVersion and the key in api-key: one model per
// endpoint, no /openai prefix, no deployment in the path.
//
// # Deployments
//
// A model's deployment is, in order: the region's override
// (Region.Deployments), Config.Deployments[modelID], the variable
// AZURE_DEPLOYMENT_<ID> (EnvKey), for catalog models the short form
// AZURE_DEPLOYMENT_GPT4O (the model name without "azure-", with or without
// underscores), and the model's Name, which for the catalog is the model
// name the Azure portal proposes. Names are never rewritten. A variable
// naming no model is reported once through Config.Logger with the closest
// model. A model registered with an APIBase (and optionally an
// APIKeyEnvVar) is served from that endpoint:
//
//	registry.MustRegister(registry.Model{
//		ID: "my-gpt4o", Provider: "azure-foundry", Name: "my-deployment",
//		APIBase: "https://my-resource.openai.azure.com",
//		InputCost: 2.5, OutputCost: 10,
//	})
//
// # Authentication
//
// An API key (AZURE_OPENAI_API_KEY), a fixed Entra ID token
// (AZURE_OPENAI_AD_TOKEN), or any azcore.TokenCredential (Config.Credential;
// AZURE_OPENAI_USE_ENTRA_ID=1 selects azidentity.DefaultAzureCredential).
// Tokens are cached and refreshed ahead of expiry, once for all concurrent
// calls. A key together with a token is a configuration error. Keys and
// tokens never appear in errors, logs or Config.String.
//
// # Regions
//
// Config.Regions (or AZURE_OPENAI_REGIONS) spreads calls over several
// resources by weight. A region answering 429, 5xx or not at all is set
// aside and the call moves to another region at once; Response.Region
// says which served and Response.Attempts counts the HTTP requests. With
// a retry-after the region rests that long (at most two minutes, or until
// a spent daily quota resets); without one it is only avoided while other
// regions are up, and the error's RetryAfter stays 0, so the llm.Client
// retries on its own backoff rather than on a rest made up here.
//
// # Errors and content filtering
//
// Errors are *llm.Error with the sentinel of their code and a message in
// Azure's terms: an invalid key names the variable to check, a missing
// deployment names the deployment and the resource, a prompt rejected by
// the content filter lists the categories that fired ("Content filtered by
// Azure: violence (medium)"). A completion cut by the filter is a response
// with FinishReason "content_filter" and its annotations in
// Response.ContentFilter (llm.WithStrictContentFilter makes it an error).
//
// # Prices
//
// The catalog holds Global Standard prices. Config.DeploymentType
// (AZURE_OPENAI_DEPLOYMENT_TYPE) scales them for Data Zone and regional
// Standard deployments, and the provider sets Response.Cost, and the Cost
// of a stream's usage chunk, accordingly. Batch prices apply to batch jobs
// only (BatchCost, DeploymentType.BatchMultiplier): a synchronous call is
// never priced at the batch rate.
//
// # Batch jobs
//
// The provider implements batch.Provider (package
// github.com/deluge-go/deluge/batch): BatchService gives the files and batch
// jobs of the resource, on both URL families, for Global Batch and Data
// Zone Batch deployments (Config.BatchDeployments,
// AZURE_BATCH_DEPLOYMENT_<ID>), with Azure's limits (BatchMaxLines,
// BatchMaxBytes) and results priced by BatchCost at
// Config.BatchDeploymentType's rate. Requests go in chat completions or
// Responses API lines as their synchronous calls would; embeddings models
// have no batch jobs (Azure takes none). See docs/batch.md.
//
// # Security
//
// Endpoints must be HTTPS on an Azure host (or loopback: localhost and
// literal loopback addresses only), unless AllowCustomEndpoint; resource
// names follow Azure's rule (ValidateResourceName). No redirect is
// followed, for api-keys and Entra ID tokens alike. Secrets a server
// echoes are redacted from errors and results, and a response is bounded
// by Config.MaxResponseBytes; see providers/openai, which does both.
// Configuration errors are *llm.Error with llm.CodeConfiguration.
package azurefoundry
