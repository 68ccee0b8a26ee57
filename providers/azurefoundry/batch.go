package azurefoundry

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/openai"
	"github.com/deluge-go/deluge/registry"
)

// Azure OpenAI batch jobs (Global Batch and Data Zone Batch deployments)
// through package batch. The wire is the openai package's files and
// batches client (openai.NewBatchService); this file gives it the
// resource's URL family, api-version, credentials, Azure's limits, the
// batch price and Azure's advice.

// Limits of an Azure batch input file (Microsoft Learn, "Global batch
// limits": "Maximum input file size 200 MB", "Maximum requests per file
// 100,000"). 200 MB is read as 200,000,000 bytes, the stricter of its two
// readings. (The v1 REST reference repeats OpenAI's "up to 50,000
// requests"; the limits table and the too_many_tasks error, "exceeds the
// maximum allowed value of 100,000", say 100,000.)
const (
	BatchMaxLines = 100_000
	BatchMaxBytes = 200_000_000
)

// minBatchAPIVersion is the first dated api-version with files of purpose
// "batch" and the batches routes.
const minBatchAPIVersion = "2024-07-01-preview"

var _ batch.Provider = (*Provider)(nil)

// BatchService implements batch.Provider: the files and batch jobs of the
// resource serving m (the default endpoint, or the model's APIBase), on
// the configured URL family — v1 ({endpoint}/openai/v1/files,
// /openai/v1/batches) or a dated api-version ({endpoint}/openai/files,
// /openai/batches?api-version=…, from 2024-07-01-preview) — with its
// api-key or Entra ID token. The lines carry the batch deployment: name
// when given, else Config.BatchDeployments, AZURE_BATCH_DEPLOYMENT_<ID>,
// then the model's deployment. A request goes to chat completions or to
// the Responses API as a synchronous call would (the model's APISpec
// "responses", llm.WithAPI), in files and jobs of its own; on the classic
// family the Responses API needs MinResponsesAPIVersion (a Responses-only
// model uses ResponsesAPIVersion when the configured one is older, as its
// synchronous calls do). Results are priced with BatchCost at the batch
// SKU's rate (Config.BatchDeploymentType). Embeddings models are refused:
// Azure's batch jobs do not take embeddings.
//
// Batch jobs run in one resource: with regions configured, give the model
// an APIBase (or configure a provider without regions) for its batch jobs.
func (p *Provider) BatchService(m registry.Model, name string) (batch.Service, error) {
	switch m.APISpec {
	case registry.APISpecAnthropicMessages:
		return nil, configError(m.ID, fmt.Errorf("model %s is a Claude deployment: Azure's batch jobs run Azure OpenAI models only; send its prompts with llm.Client.Process (deluge run)", m.ID))
	case registry.APISpecEmbeddings:
		// Microsoft Learn, batch how-to, FAQ: "Can I use the batch API
		// for embeddings models? This is currently not supported."
		return nil, configError(m.ID, fmt.Errorf("model %s is an embeddings model, and Azure's batch jobs do not take embeddings (Microsoft Learn, batch FAQ); "+
			"compute them with llm.Client.Embed or EmbedSeq (deluge embed)", m.ID))
	}
	var t *target
	switch {
	case m.APIBase != "" || m.APIKeyEnvVar != "":
		var err error
		if t, err = p.customTarget(m); err != nil {
			return nil, err
		}
	case len(p.regions) > 0:
		return nil, configError(m.ID, fmt.Errorf("batch jobs run in one Azure resource, and %d regions are configured: give model %s an APIBase (the resource with its batch deployment), or use a provider without regions (unset %s)",
			len(p.regions), m.ID, EnvRegions))
	case p.def == nil:
		return nil, configError(m.ID, p.defErr)
	default:
		t = p.def
	}
	if t.err != nil {
		return nil, &llm.Error{Code: llm.CodeAuthentication, Provider: ProviderName, Model: m.ID, Message: t.err.Error(), Err: t.err}
	}
	if t.ep.serverless {
		return nil, configError(m.ID, fmt.Errorf("%s is a serverless endpoint: it has no files or batch jobs; batch jobs need an Azure OpenAI resource (https://<resource>.openai.azure.com)", t.ep.base))
	}
	deployment := name
	if deployment == "" {
		deployment = p.batchDeployment(t, m)
	}
	tier := p.batchTier
	if tier == "" {
		tier = GlobalBatch
		if t.tier.IsBatch() {
			tier = t.tier
		}
	}
	cfg := openai.BatchConfig{
		Name:             ProviderName,
		Model:            m,
		WireName:         deployment,
		Doer:             authDoer{auth: t.auth, next: t.batchHTTPClient()},
		MaxResponseBytes: p.maxBody,
		Endpoint:         "/chat/completions",
		Limits:           batch.Limits{MaxLines: BatchMaxLines, MaxBytes: BatchMaxBytes},
		DottedExpiry:     true,
		Cost:             func(m registry.Model, u llm.Usage) float64 { return BatchCost(m, u, tier) },
		Hint:             noHint,
		JobHint:          func(code string) string { return t.batchJobHint(code, deployment) },
		Rewrite:          func(e *llm.Error) *llm.Error { return t.batchError(e, m, deployment) },
	}
	if a := t.auth; a.key != "" {
		cfg.Redact = append(cfg.Redact, a.key)
	}
	if st, ok := t.auth.tokens.(staticToken); ok {
		cfg.Redact = append(cfg.Redact, string(st))
	}
	// Responses API lines: "url": "/v1/responses" in Microsoft's input
	// examples (REST and Python, on both families); the job's endpoint
	// "/v1/responses", a value of the v1 reference's endpoint enum. (The
	// Python how-to passes "/chat/completions" for a file of Responses
	// lines, noting that "the system will read your input file to
	// determine if the chat completions or responses API is needed"; the
	// endpoint that matches the lines is right under either reading.)
	cfg.ResponsesLineURL, cfg.ResponsesEndpoint = "/v1/responses", "/v1/responses"
	if t.mode == modeClassic {
		if t.apiVersion < minBatchAPIVersion {
			return nil, configError(m.ID, fmt.Errorf("API version %s has no batch jobs (they came with %s): use %s=%s (recommended) or a dated version from %s",
				t.apiVersion, minBatchAPIVersion, EnvAPIVersion, APIVersionV1, minBatchAPIVersion))
		}
		version := t.apiVersion
		if !servesResponses(version) {
			if m.APISpec == registry.APISpecResponses {
				// As its synchronous calls do (responsesVersion), a
				// Responses-only model's batch jobs use a version that
				// has the Responses API.
				version = responsesVersion(version)
			} else {
				cfg.NoResponses = fmt.Sprintf("API version %s predates the Responses API (%s): batch jobs of Responses API requests (llm.WithAPI(llm.APIResponses)) need %s=%s (recommended) or a dated version from %s",
					version, MinResponsesAPIVersion, EnvAPIVersion, APIVersionV1, MinResponsesAPIVersion)
			}
		}
		// Microsoft's Python example on a dated version: "url":
		// "/chat/completions".
		cfg.BaseURL, cfg.APIVersion, cfg.LineURL = t.ep.base+"/openai", version, "/chat/completions"
	} else {
		// Microsoft's REST example on v1: "url": "/v1/chat/completions",
		// the job's endpoint "/chat/completions".
		cfg.BaseURL, cfg.APIVersion, cfg.LineURL = t.ep.base+"/openai/v1", t.apiVersion, "/v1/chat/completions"
	}
	return openai.NewBatchService(cfg)
}

// servesResponses reports whether a dated api-version of the classic
// family serves the Responses API (from MinResponsesAPIVersion).
func servesResponses(version string) bool {
	return responsesVersion(version) == version
}

// batchDeployment is the deployment taking m's batch jobs.
func (p *Provider) batchDeployment(t *target, m registry.Model) string {
	if d := p.batchDeps[m.ID]; d != "" {
		return d
	}
	if d := p.batchEnv[EnvKey(m.ID)]; d != "" {
		return d
	}
	return t.deployment(m)
}

// BatchDeployment returns the deployment the provider's batch jobs for m
// name (see BatchService), without regions or a name given.
func (p *Provider) BatchDeployment(m registry.Model) string {
	if p.def != nil {
		return p.batchDeployment(p.def, m)
	}
	if d := p.batchDeps[m.ID]; d != "" {
		return d
	}
	if d := p.batchEnv[EnvKey(m.ID)]; d != "" {
		return d
	}
	return p.deployment(m)
}

// batchHTTPClient is the target's HTTP client, following no redirect.
func (t *target) batchHTTPClient() *http.Client {
	if c := t.p.httpClient; c != nil {
		return openai.RefuseRedirects(c)
	}
	if t.transport != nil {
		return openai.RefuseRedirects(&http.Client{Transport: t.transport})
	}
	return openai.RefuseRedirects(nil)
}

// batchJobHint is Azure's advice for a failed job's error code.
func (t *target) batchJobHint(code, deployment string) string {
	res := t.ep.resource
	switch code {
	case "token_limit_exceeded":
		return fmt.Sprintf("the enqueued tokens of deployment '%s' (resource '%s') are at its batch quota until running jobs end: wait for them, raise the deployment's quota "+
			"(Azure AI Foundry portal, Quotas; dynamic quota helps), or submit fewer lines at a time; then submit again", deployment, res)
	case "invalid_request":
		return fmt.Sprintf("deployment '%s' must be a Global Batch or Data Zone Batch deployment (Azure's SKU globalbatch): deploy the model with the Global-Batch type "+
			"and name it with %s<MODEL ID>=<deployment> (or deluge batch submit --deployment); a line with an unexpected schema fails the same way", deployment, EnvBatchDeploymentPrefix)
	case "model_not_found":
		return fmt.Sprintf("resource '%s' has no deployment '%s': check its name in the Azure AI Foundry portal (Deployments), and %s<MODEL ID>", res, deployment, EnvBatchDeploymentPrefix)
	case "too_many_tasks":
		return fmt.Sprintf("Azure takes at most %d requests per file: lower the lines per file (batch.WithFileLimits) and submit again", BatchMaxLines)
	}
	return ""
}

// batchError restates a files or batches error in Azure's terms: which
// credential, which resource, which deployment.
func (t *target) batchError(e *llm.Error, m registry.Model, deployment string) *llm.Error {
	res := t.ep.resource
	switch {
	case errors.Is(e.Err, openai.ErrRedirect), errors.Is(e.Err, errTokenUnavailable),
		e.Code == llm.CodeAuthentication, e.Code == llm.CodePermissionDenied:
		if err, ok := t.azureError(e, m).(*llm.Error); ok {
			e = err
		}
	case e.Code == llm.CodeNotFound:
		e.Message = fmt.Sprintf("Azure resource '%s' has no such file or batch job, or no batch route at API version %q: %s", res, t.apiVersionName(), strings.TrimSpace(e.Message))
	case e.Code == llm.CodeContentFiltered:
		e.Message = contentFilterMessage(e.ContentFilter, e.Message)
	case e.Code == llm.CodeInvalidRequest && isAPIVersionError(e.Message):
		e.Code = llm.CodeConfiguration
		e.Message += fmt.Sprintf(" (the API version is %q: batch jobs need %s, or a dated version from %s)", t.apiVersionName(), APIVersionV1, minBatchAPIVersion)
	default:
		if !strings.Contains(e.Message, res) {
			e.Message = strings.TrimRight(e.Message, " ") + fmt.Sprintf(" (Azure resource '%s', deployment '%s')", res, deployment)
		}
	}
	e.Message = t.redact(e.Message)
	return e
}
