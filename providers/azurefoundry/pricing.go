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
	// GlobalBatch is the Global Batch SKU: batch jobs at half the Global
	// Standard price. Azure serves it only through batch jobs (a
	// synchronous chat completion is refused with 400 OperationNotSupported);
	// a synchronous call that does succeed (the deployment was in fact a
	// standard one) is priced at the Global Standard rate.
	GlobalBatch DeploymentType = "global-batch"
	// DataZoneBatch is the Data Zone Batch SKU: batch jobs at half the Data
	// Zone price; synchronous calls as for GlobalBatch, at the Data Zone
	// rate.
	DataZoneBatch DeploymentType = "data-zone-batch"
)

// Multiplier returns the factor applied to Global Standard prices for a
// synchronous call (Generate, Stream). The batch SKUs get no discount
// here: Azure's batch price applies to batch jobs only (see
// BatchMultiplier).
func (t DeploymentType) Multiplier() float64 {
	switch t {
	case DataZone, Standard, DataZoneBatch:
		return 1.10
	}
	return 1
}

// BatchMultiplier returns the factor applied to Global Standard prices for
// the requests of a batch job: half the synchronous rate of the same data
// boundary (0.5 for the global types, 0.55 for the data-zone and regional
// ones), whatever SKU the deployment was declared with.
func (t DeploymentType) BatchMultiplier() float64 { return t.Multiplier() / 2 }

// IsBatch reports whether t is one of the batch SKUs.
func (t DeploymentType) IsBatch() bool { return t == GlobalBatch || t == DataZoneBatch }

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

// cost prices u for a synchronous call to model m served by a deployment
// of type t. Only catalog models are scaled: a model the user registered
// carries the prices the user pays.
func cost(m registry.Model, u llm.Usage, t DeploymentType) float64 {
	c := u.Cost(m)
	if isCatalogModel(m) {
		c *= t.Multiplier()
	}
	return c
}

// routedCost prices u for a synchronous call to model m that served
// reports came from: for a model router (registry.Model.Router), the
// router's fee plus the chosen model's price (registry.Routed), each
// scaled as cost scales it; for any other model, cost. A chosen model the
// registry does not know adds nothing.
func routedCost(m registry.Model, served string, u llm.Usage, t DeploymentType) float64 {
	c := cost(m, u, t)
	if m.Router {
		if r, ok := registry.Routed(m, served); ok {
			c += cost(r, u, t)
		}
	}
	return c
}

// BatchCost prices u for one request of an Azure batch job to model m on a
// deployment of type t: catalog models at t.BatchMultiplier() times their
// Global Standard prices; a model the user registered at half its own
// prices (Azure's batch rate is half the synchronous one).
func BatchCost(m registry.Model, u llm.Usage, t DeploymentType) float64 {
	c := u.Cost(m)
	if isCatalogModel(m) {
		return c * t.BatchMultiplier()
	}
	return c / 2
}
