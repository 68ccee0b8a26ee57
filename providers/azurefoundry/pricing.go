package azurefoundry

import (
	"fmt"
	"strings"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// DeploymentType is the Azure deployment SKU a resource's deployments use.
// Azure prices the same model differently per SKU; the catalog holds Global
// Standard prices and the provider scales them by the SKU's multiplier, so
// Response.Cost is what the call costs on the user's bill.
type DeploymentType string

// Deployment types. The zero value means GlobalStandard.
const (
	// GlobalStandard is pay-as-you-go with traffic routed to any Azure
	// region. The catalog prices are Global Standard list prices.
	GlobalStandard DeploymentType = "global-standard"
	// DataZone keeps processing inside a data zone (US or EU) at about 10%
	// above the Global Standard price.
	DataZone DeploymentType = "data-zone"
	// Standard is a regional pay-as-you-go deployment, priced like DataZone
	// for current models.
	Standard DeploymentType = "standard"
	// GlobalBatch is the Global Batch SKU: half the Global Standard price.
	GlobalBatch DeploymentType = "global-batch"
	// DataZoneBatch is the Data Zone Batch SKU: half the Data Zone price.
	DataZoneBatch DeploymentType = "data-zone-batch"
)

// Multiplier returns the factor applied to Global Standard prices.
func (t DeploymentType) Multiplier() float64 {
	switch t {
	case DataZone, Standard:
		return 1.10
	case GlobalBatch:
		return 0.5
	case DataZoneBatch:
		return 0.55
	}
	return 1
}

// String returns the canonical name ("global-standard" for the zero value).
func (t DeploymentType) String() string {
	if t == "" {
		return string(GlobalStandard)
	}
	return string(t)
}

// ParseDeploymentType parses a deployment type as written in
// AZURE_OPENAI_DEPLOYMENT_TYPE. Case, spaces, dashes and underscores are
// ignored, so "GlobalStandard", "global_standard" and "Global Standard" all
// parse; "regional" is an alias of Standard and "batch" of GlobalBatch.
func ParseDeploymentType(s string) (DeploymentType, error) {
	norm := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(s)))
	switch norm {
	case "", "globalstandard", "global":
		return GlobalStandard, nil
	case "datazone", "datazonestandard":
		return DataZone, nil
	case "standard", "regional", "regionalstandard":
		return Standard, nil
	case "globalbatch", "batch":
		return GlobalBatch, nil
	case "datazonebatch":
		return DataZoneBatch, nil
	}
	return "", fmt.Errorf("unknown deployment type %q (want global-standard, data-zone, standard, global-batch or data-zone-batch)", s)
}

func (t DeploymentType) valid() bool {
	switch t {
	case "", GlobalStandard, DataZone, Standard, GlobalBatch, DataZoneBatch:
		return true
	}
	return false
}

// cost prices u for model m served by a deployment of type t. Only
// catalog models are scaled: a model the user registered carries the
// prices the user pays.
func cost(m registry.Model, u llm.Usage, t DeploymentType) float64 {
	c := u.Cost(m)
	if isCatalogModel(m) {
		c *= t.Multiplier()
	}
	return c
}
