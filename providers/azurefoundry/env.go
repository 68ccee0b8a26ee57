package azurefoundry

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvEndpoint            = "AZURE_OPENAI_ENDPOINT"
	EnvResource            = "AZURE_OPENAI_RESOURCE"
	EnvAPIKey              = "AZURE_OPENAI_API_KEY"
	EnvADToken             = "AZURE_OPENAI_AD_TOKEN"
	EnvUseEntraID          = "AZURE_OPENAI_USE_ENTRA_ID"
	EnvTokenScope          = "AZURE_OPENAI_TOKEN_SCOPE"
	EnvAPIVersion          = "AZURE_API_VERSION"
	EnvDeploymentType      = "AZURE_OPENAI_DEPLOYMENT_TYPE"
	EnvRegions             = "AZURE_OPENAI_REGIONS"
	EnvRegionWeights       = "AZURE_REGION_WEIGHTS"
	EnvAllowCustomEndpoint = "AZURE_OPENAI_ALLOW_CUSTOM_ENDPOINT"
	// EnvDeploymentPrefix + EnvKey(modelID) names a model's deployment,
	// e.g. AZURE_DEPLOYMENT_AZURE_GPT_4O.
	EnvDeploymentPrefix = "AZURE_DEPLOYMENT_"
	// EnvBatchDeploymentPrefix + EnvKey(modelID) names the batch
	// deployment taking a model's batch jobs (Config.BatchDeployments),
	// e.g. AZURE_BATCH_DEPLOYMENT_AZURE_GPT_4O=gpt-4o-batch.
	EnvBatchDeploymentPrefix = "AZURE_BATCH_DEPLOYMENT_"
	// EnvBatchDeploymentType is Config.BatchDeploymentType:
	// global-batch or data-zone-batch.
	EnvBatchDeploymentType = "AZURE_OPENAI_BATCH_DEPLOYMENT_TYPE"
)

// apiVersionVars are read in this order; the first set one wins. The last
// two are the names the Azure OpenAI SDKs for other languages read.
var apiVersionVars = [...]string{EnvAPIVersion, "AZURE_OPENAI_API_VERSION", "OPENAI_API_VERSION"}

// newDefaultCredential is azidentity.NewDefaultAzureCredential, replaceable
// in tests.
var newDefaultCredential = func() (*azidentity.DefaultAzureCredential, error) {
	return azidentity.NewDefaultAzureCredential(nil)
}

// ConfigFromEnv builds a Config from the environment:
//
//	AZURE_OPENAI_ENDPOINT               resource URL (wins over AZURE_OPENAI_RESOURCE)
//	AZURE_OPENAI_RESOURCE               resource name → https://{name}.openai.azure.com
//	AZURE_OPENAI_API_KEY                API key, sent as api-key
//	AZURE_OPENAI_AD_TOKEN               fixed Entra ID token, sent as Authorization: Bearer
//	AZURE_OPENAI_USE_ENTRA_ID=1         Entra ID through azidentity.DefaultAzureCredential
//	                                    (environment, workload identity, managed identity, Azure CLI, …)
//	AZURE_OPENAI_TOKEN_SCOPE            Entra ID scope (default https://cognitiveservices.azure.com/.default)
//	AZURE_API_VERSION                   v1 (default), preview, or a dated version such as 2024-10-21;
//	                                    AZURE_OPENAI_API_VERSION and OPENAI_API_VERSION are read too
//	AZURE_DEPLOYMENT_<ID>               deployment of model <ID> (upper case, non-alphanumerics as _),
//	                                    e.g. AZURE_DEPLOYMENT_AZURE_GPT_4O=prod-gpt4o
//	AZURE_OPENAI_DEPLOYMENT_TYPE        global-standard (default), data-zone, standard, global-batch, data-zone-batch
//	AZURE_BATCH_DEPLOYMENT_<ID>         the Global Batch deployment taking model <ID>'s batch jobs
//	AZURE_OPENAI_BATCH_DEPLOYMENT_TYPE  global-batch (default) or data-zone-batch: the batch price
//	AZURE_OPENAI_REGIONS                comma-separated region names, e.g. eastus,westus
//	AZURE_REGION_WEIGHTS                comma-separated weights in the same order, e.g. 0.7,0.3
//	AZURE_OPENAI_ENDPOINT_<REGION>      endpoint of a region (AZURE_OPENAI_RESOURCE_<REGION> also works)
//	AZURE_OPENAI_API_KEY_<REGION>       key of a region (default: AZURE_OPENAI_API_KEY)
//	AZURE_OPENAI_ALLOW_CUSTOM_ENDPOINT=1  allow non-Azure hosts (API Management gateways)
//
// It fails on malformed values and on a key given together with Entra ID.
// A missing endpoint is not an error here (New reports it), so that models
// registered with their own APIBase work without one.
//
// Its errors are *llm.Error with llm.CodeConfiguration.
func ConfigFromEnv() (Config, error) {
	c, err := configFromEnv()
	if err != nil {
		return Config{}, configError("", err)
	}
	return c, nil
}

func configFromEnv() (Config, error) {
	var c Config
	c.Endpoint = strings.TrimSpace(os.Getenv(EnvEndpoint))
	c.Resource = strings.TrimSpace(os.Getenv(EnvResource))
	if c.Resource != "" && c.Endpoint == "" {
		if err := ValidateResourceName(c.Resource); err != nil {
			return Config{}, fmt.Errorf("azurefoundry: %s: %w", EnvResource, err)
		}
	}
	if key := os.Getenv(EnvAPIKey); key != "" {
		c.APIKey, c.keySource = key, EnvAPIKey
	}
	if tok := os.Getenv(EnvADToken); tok != "" {
		c.ADToken, c.tokenSource = tok, EnvADToken
	}
	c.TokenScope = strings.TrimSpace(os.Getenv(EnvTokenScope))
	for _, name := range apiVersionVars {
		if v := strings.TrimSpace(os.Getenv(name)); v != "" {
			if _, _, err := parseAPIVersion(v); err != nil {
				return Config{}, fmt.Errorf("azurefoundry: %s: %w", name, err)
			}
			c.APIVersion = v
			break
		}
	}
	var err error
	if c.AllowCustomEndpoint, err = envBool(EnvAllowCustomEndpoint); err != nil {
		return Config{}, err
	}
	useEntra, err := envBool(EnvUseEntraID)
	if err != nil {
		return Config{}, err
	}
	if v := os.Getenv(EnvDeploymentType); v != "" {
		if c.DeploymentType, err = ParseDeploymentType(v); err != nil {
			return Config{}, fmt.Errorf("azurefoundry: %s: %w", EnvDeploymentType, err)
		}
	}
	if v := os.Getenv(EnvBatchDeploymentType); v != "" {
		if c.BatchDeploymentType, err = ParseDeploymentType(v); err != nil {
			return Config{}, fmt.Errorf("azurefoundry: %s: %w", EnvBatchDeploymentType, err)
		}
		if !c.BatchDeploymentType.IsBatch() {
			return Config{}, fmt.Errorf("azurefoundry: %s=%s is not a batch SKU: want global-batch or data-zone-batch", EnvBatchDeploymentType, v)
		}
	}
	if useEntra {
		if c.APIKey != "" {
			return Config{}, fmt.Errorf("azurefoundry: both %s and %s=1 are set; unset one: a request carries an API key or an Entra ID token, not both", EnvAPIKey, EnvUseEntraID)
		}
		if c.ADToken != "" {
			return Config{}, fmt.Errorf("azurefoundry: both %s and %s=1 are set; unset one", EnvADToken, EnvUseEntraID)
		}
		cred, err := newDefaultCredential()
		if err != nil {
			return Config{}, fmt.Errorf("azurefoundry: %s=1 but azidentity.DefaultAzureCredential is unavailable: %w", EnvUseEntraID, err)
		}
		c.Credential, c.tokenSource = cred, "DefaultAzureCredential"
	}
	if err := checkAuth("", c.APIKey, c.ADToken, c.Credential != nil); err != nil {
		return Config{}, fmt.Errorf("azurefoundry: %w", err)
	}
	if c.Regions, err = regionsFromEnv(); err != nil {
		return Config{}, err
	}
	c.envDeployments = deploymentsFromEnv(os.Environ())
	c.envBatchDeploys = prefixedEnv(os.Environ(), EnvBatchDeploymentPrefix)
	return c, nil
}

// regionsFromEnv reads AZURE_OPENAI_REGIONS and its companions.
func regionsFromEnv() ([]Region, error) {
	list := strings.TrimSpace(os.Getenv(EnvRegions))
	if list == "" {
		if os.Getenv(EnvRegionWeights) != "" {
			return nil, fmt.Errorf("azurefoundry: %s is set but %s is not; list the regions, e.g. %s=eastus,westus", EnvRegionWeights, EnvRegions, EnvRegions)
		}
		return nil, nil
	}
	names := parseRegionList(list)
	weights, err := parseWeights(os.Getenv(EnvRegionWeights), names)
	if err != nil {
		return nil, err
	}
	regions := make([]Region, len(names))
	for i, name := range names {
		sfx := envSuffix(name)
		r := Region{Name: name, Endpoint: strings.TrimSpace(os.Getenv(EnvEndpoint + "_" + sfx))}
		if key := os.Getenv(EnvAPIKey + "_" + sfx); key != "" {
			r.APIKey, r.keySource = key, EnvAPIKey+"_"+sfx
		}
		if r.Endpoint == "" {
			if res := strings.TrimSpace(os.Getenv(EnvResource + "_" + sfx)); res != "" {
				ep, err := resourceEndpoint(res)
				if err != nil {
					return nil, fmt.Errorf("azurefoundry: %s_%s: %w", EnvResource, sfx, err)
				}
				r.Endpoint = ep
			}
		}
		if r.Endpoint == "" {
			return nil, fmt.Errorf("azurefoundry: region %q is listed in %s but %s_%s is not set", name, EnvRegions, EnvEndpoint, sfx)
		}
		if weights != nil {
			r.Weight = weights[i]
			if r.Weight == 0 {
				return nil, fmt.Errorf("azurefoundry: region %q has weight 0 in %s; remove it from %s instead", name, EnvRegionWeights, EnvRegions)
			}
		}
		regions[i] = r
	}
	return regions, nil
}

// parseRegionList splits AZURE_OPENAI_REGIONS: names separated by commas,
// blanks ignored.
func parseRegionList(list string) []string {
	var names []string
	for n := range strings.SplitSeq(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// parseWeights parses AZURE_REGION_WEIGHTS for the regions names: one
// finite, non-negative number per region; nil when ws is blank.
func parseWeights(ws string, names []string) ([]float64, error) {
	if ws = strings.TrimSpace(ws); ws == "" {
		return nil, nil
	}
	parts := strings.Split(ws, ",")
	if len(parts) != len(names) {
		return nil, fmt.Errorf("azurefoundry: %s has %d weights for the %d regions of %s; give one weight per region", EnvRegionWeights, len(parts), len(names), EnvRegions)
	}
	weights := make([]float64, 0, len(parts))
	for i, p := range parts {
		w, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("azurefoundry: %s: weight %q of region %s is not a non-negative number", EnvRegionWeights, p, names[i])
		}
		weights = append(weights, w)
	}
	return weights, nil
}

// deploymentsFromEnv collects AZURE_DEPLOYMENT_<ID>=name pairs by <ID>.
func deploymentsFromEnv(environ []string) map[string]string {
	var out map[string]string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvDeploymentPrefix) || strings.TrimSpace(v) == "" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[strings.TrimPrefix(k, EnvDeploymentPrefix)] = strings.TrimSpace(v)
	}
	return out
}

// EnvKey returns the form a model ID takes in environment variable names:
// upper case with every character other than A–Z and 0–9 replaced by "_"
// ("azure-gpt-4.1" → "AZURE_GPT_4_1").
func EnvKey(modelID string) string { return envSuffix(modelID) }

func envSuffix(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		default:
			b[i] = '_'
		}
	}
	return string(b)
}

func envBool(name string) (bool, error) {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		switch strings.ToLower(v) {
		case "yes", "on":
			return true, nil
		case "no", "off":
			return false, nil
		}
		return false, fmt.Errorf("azurefoundry: %s=%q is not a boolean (use 1 or 0)", name, v)
	}
	return b, nil
}

// prefixedEnv collects prefix<KEY>=value pairs of environ by <KEY>.
func prefixedEnv(environ []string, prefix string) map[string]string {
	var out map[string]string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, prefix) || strings.TrimSpace(v) == "" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[strings.TrimPrefix(k, prefix)] = strings.TrimSpace(v)
	}
	return out
}
