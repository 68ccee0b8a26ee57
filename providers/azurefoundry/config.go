package azurefoundry

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/deluge-go/deluge/internal/httpguard"
)

// Config configures the Azure provider. Build one by hand, or with
// ConfigFromEnv, and pass it to New.
//
// Endpoint: Endpoint (a full URL) wins over Resource (a bare resource name,
// expanded to https://{Resource}.openai.azure.com). With Regions, each
// region names its own endpoint and the top-level one is not used.
//
// Authentication: exactly one of APIKey (sent as the api-key header),
// ADToken (a fixed Entra ID token) or Credential (any azcore
// TokenCredential, e.g. azidentity.DefaultAzureCredential; tokens are
// cached and refreshed before expiry). A key together with a token or
// credential is an error. A region without credentials of its own uses
// these.
type Config struct {
	// Endpoint is the resource URL, e.g. https://my-resource.openai.azure.com
	// (a pasted /openai or /openai/v1 suffix is ignored). It must use HTTPS
	// and an Azure host unless AllowCustomEndpoint is set; loopback
	// addresses (the azuretest emulator) may use plain HTTP.
	Endpoint string
	// Resource is the resource name, used when Endpoint is empty.
	Resource string
	// APIVersion is "v1" (the default: {endpoint}/openai/v1/…, deployment
	// name as the body's model), "preview" (v1 with ?api-version=preview),
	// or a dated version such as "2024-10-21" or "2025-04-01-preview"
	// ({endpoint}/openai/deployments/{deployment}/…?api-version=…).
	APIVersion string

	// APIKey is the resource key (Keys and Endpoint in the Azure portal).
	APIKey string
	// ADToken is a fixed Microsoft Entra ID access token. It is not
	// refreshed; prefer Credential for long-running programs.
	ADToken string
	// Credential supplies Entra ID tokens for TokenScope.
	Credential azcore.TokenCredential
	// TokenScope is the Entra ID scope; DefaultTokenScope when empty.
	// Sovereign clouds need their own (e.g.
	// https://cognitiveservices.azure.us/.default).
	TokenScope string

	// Deployments maps model IDs to deployment names, for deployments not
	// named like the model (e.g. {"azure-gpt-4o": "prod-gpt4o"}). It takes
	// precedence over AZURE_DEPLOYMENT_<ID> variables and the model's
	// default name.
	Deployments map[string]string

	// Regions spreads requests over several resources by weight, failing
	// over on 429, 5xx and connection errors. Empty means one endpoint.
	Regions []Region

	// DeploymentType is the SKU of the deployments (GlobalStandard when
	// empty); it scales catalog prices so Response.Cost matches the bill.
	DeploymentType DeploymentType

	// BatchDeployments maps model IDs to the Global Batch or Data Zone
	// Batch deployments that take their batch jobs (package batch), e.g.
	// {"azure-gpt-4o": "gpt-4o-batch"}; it wins over
	// AZURE_BATCH_DEPLOYMENT_<ID>. A model without one submits to its
	// synchronous deployment (Deployments), which suits a resource whose
	// deployments are all batch ones (DeploymentType GlobalBatch).
	BatchDeployments map[string]string
	// BatchDeploymentType is the SKU of the batch deployments, GlobalBatch
	// or DataZoneBatch; it sets the batch price (half the Global Standard,
	// or the Data Zone, rate). Empty means DeploymentType when that is a
	// batch SKU, else GlobalBatch.
	BatchDeploymentType DeploymentType

	// HTTPClient sends the requests. When nil the provider builds one
	// transport per endpoint with a connection pool sized for high
	// concurrency. No overall timeout is set: the llm.Client bounds each
	// attempt with its context.
	HTTPClient *http.Client

	// MaxResponseBytes bounds a reply body and each line of a stream;
	// openai.DefaultMaxResponseBytes (64 MiB, far above any real reply)
	// when 0 or less. A larger reply fails with openai.ErrResponseTooLarge
	// (llm.CodeConfiguration) without being read whole.
	MaxResponseBytes int64

	// AllowCustomEndpoint permits endpoints outside the Azure host
	// suffixes, such as API Management gateways. Credentials are sent to
	// them, so set it only for hosts you trust.
	AllowCustomEndpoint bool

	// Logger receives region cooldown and token refresh events;
	// slog.Default() when nil.
	Logger *slog.Logger

	// envDeployments holds AZURE_DEPLOYMENT_<ID> values by <ID> (set by
	// ConfigFromEnv), consulted after Deployments; envBatchDeploys the
	// AZURE_BATCH_DEPLOYMENT_<ID> ones, after BatchDeployments.
	envDeployments  map[string]string
	envBatchDeploys map[string]string
	// sources names where the credentials came from, for messages.
	keySource, tokenSource string
}

// Region is one regional resource serving the same deployments.
type Region struct {
	// Name identifies the region in Response.Region and logs
	// (e.g. "eastus").
	Name string
	// Endpoint is the region's resource URL (required).
	Endpoint string
	// APIKey, ADToken and Credential authenticate to this region; when all
	// are empty the Config's credentials are used.
	APIKey     string
	ADToken    string
	Credential azcore.TokenCredential
	// Weight is the share of traffic the region gets; 0 means 1.
	Weight float64
	// Deployments overrides deployment names in this region, by model ID.
	Deployments map[string]string
	// DeploymentType overrides the Config's for this region's prices.
	DeploymentType DeploymentType

	// keySource names the variable the key came from (ConfigFromEnv).
	keySource string
}

const redacted = httpguard.Redacted

// String describes c without revealing keys or tokens.
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("azurefoundry.Config{")
	fmt.Fprintf(&b, "Endpoint: %q", c.Endpoint)
	if c.Resource != "" {
		fmt.Fprintf(&b, ", Resource: %q", c.Resource)
	}
	v := c.APIVersion
	if v == "" {
		v = APIVersionV1
	}
	fmt.Fprintf(&b, ", APIVersion: %q, Auth: %s", v, authSummary(c.APIKey, c.ADToken, c.Credential != nil))
	if c.TokenScope != "" {
		fmt.Fprintf(&b, ", TokenScope: %q", c.TokenScope)
	}
	if n := len(c.Deployments) + len(c.envDeployments); n > 0 {
		fmt.Fprintf(&b, ", Deployments: %d", n)
	}
	if len(c.Regions) > 0 {
		b.WriteString(", Regions: [")
		for i, r := range c.Regions {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(r.String())
		}
		b.WriteByte(']')
	}
	fmt.Fprintf(&b, ", DeploymentType: %s", c.DeploymentType)
	if c.AllowCustomEndpoint {
		b.WriteString(", AllowCustomEndpoint: true")
	}
	b.WriteByte('}')
	return b.String()
}

// GoString is String, so that %#v does not print secrets either.
func (c Config) GoString() string { return c.String() }

// LogValue makes slog log c without secrets.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// String describes r without revealing keys or tokens.
func (r Region) String() string {
	w := r.Weight
	if w == 0 {
		w = 1
	}
	s := fmt.Sprintf("Region{Name: %q, Endpoint: %q, Weight: %s", r.Name, r.Endpoint, strconv.FormatFloat(w, 'g', -1, 64))
	if r.APIKey != "" || r.ADToken != "" || r.Credential != nil {
		s += ", Auth: " + authSummary(r.APIKey, r.ADToken, r.Credential != nil)
	}
	if len(r.Deployments) > 0 {
		s += fmt.Sprintf(", Deployments: %d", len(r.Deployments))
	}
	if r.DeploymentType != "" {
		s += ", DeploymentType: " + r.DeploymentType.String()
	}
	return s + "}"
}

// GoString is String, so that %#v does not print secrets either.
func (r Region) GoString() string { return r.String() }

// LogValue makes slog log r without secrets.
func (r Region) LogValue() slog.Value { return slog.StringValue(r.String()) }

func authSummary(key, token string, cred bool) string {
	var parts []string
	if key != "" {
		parts = append(parts, "api-key "+redacted)
	}
	if token != "" {
		parts = append(parts, "Entra ID token "+redacted)
	}
	if cred {
		parts = append(parts, "Entra ID credential")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " + ")
}

// validate checks what can be checked without building clients; the
// errors say what to change.
func (c *Config) validate() error {
	if _, _, err := parseAPIVersion(c.APIVersion); err != nil {
		return err
	}
	if err := checkAuth("", c.APIKey, c.ADToken, c.Credential != nil); err != nil {
		return err
	}
	if !c.DeploymentType.valid() {
		return fmt.Errorf("unknown DeploymentType %q (want global-standard, data-zone, standard, global-batch or data-zone-batch)", string(c.DeploymentType))
	}
	if c.BatchDeploymentType != "" && !c.BatchDeploymentType.IsBatch() {
		return fmt.Errorf("BatchDeploymentType %q is not a batch SKU (want global-batch or data-zone-batch)", string(c.BatchDeploymentType))
	}
	seen := map[string]bool{}
	for i, r := range c.Regions {
		if strings.TrimSpace(r.Name) == "" {
			return fmt.Errorf("region %d has no Name", i)
		}
		if seen[r.Name] {
			return fmt.Errorf("region %q is listed twice", r.Name)
		}
		seen[r.Name] = true
		if r.Endpoint == "" {
			return fmt.Errorf("region %q has no Endpoint (with environment variables: set AZURE_OPENAI_ENDPOINT_%s)", r.Name, envSuffix(r.Name))
		}
		if r.Weight < 0 || math.IsNaN(r.Weight) || math.IsInf(r.Weight, 0) {
			return fmt.Errorf("region %q has weight %v; weights must be finite and non-negative", r.Name, r.Weight)
		}
		if err := checkAuth(r.Name, r.APIKey, r.ADToken, r.Credential != nil); err != nil {
			return err
		}
		if !r.DeploymentType.valid() {
			return fmt.Errorf("region %q: unknown DeploymentType %q", r.Name, string(r.DeploymentType))
		}
	}
	return nil
}

// checkAuth rejects ambiguous credentials: a request must carry a key or a
// token, never both, and the configuration must say which.
func checkAuth(region, key, token string, cred bool) error {
	n := 0
	for _, set := range []bool{key != "", token != "", cred} {
		if set {
			n++
		}
	}
	if n <= 1 {
		return nil
	}
	where := "the configuration"
	if region != "" {
		where = "region " + strconv.Quote(region)
	}
	return fmt.Errorf("%s sets more than one credential (%s); use an API key (AZURE_OPENAI_API_KEY) or Entra ID (AZURE_OPENAI_AD_TOKEN, AZURE_OPENAI_USE_ENTRA_ID=1, Config.Credential), not both",
		where, authSummary(key, token, cred))
}
