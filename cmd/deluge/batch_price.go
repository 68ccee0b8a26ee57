package main

import (
	"fmt"
	"os"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/providers/azurefoundry"
	"github.com/deluge-go/deluge/registry"
)

// batchPrice prices a request of in prompt and out completion tokens on
// the batch route, as the provider's batch service prices its results:
// Azure's with BatchCost at the batch SKU's rate, others at half the
// catalog price (OpenAI's batch discount).
func batchPrice(m registry.Model, in, out int) float64 {
	u := llm.Usage{InputTokens: in, OutputTokens: out}
	if m.Provider == azurefoundry.ProviderName {
		return azurefoundry.BatchCost(m, u, azureBatchTier())
	}
	return u.Cost(m) / 2
}

// azureBatchTier is the batch SKU the environment declares
// (AZURE_OPENAI_BATCH_DEPLOYMENT_TYPE, else a batch
// AZURE_OPENAI_DEPLOYMENT_TYPE), Global Batch by default, as the provider
// reads it.
func azureBatchTier() azurefoundry.DeploymentType {
	for _, v := range []string{azurefoundry.EnvBatchDeploymentType, azurefoundry.EnvDeploymentType} {
		if t, err := azurefoundry.ParseDeploymentType(os.Getenv(v)); err == nil && t.IsBatch() {
			return t
		}
	}
	return azurefoundry.GlobalBatch
}

// batchRefusal is why 'deluge batch submit' would refuse model m before
// sending anything, for 'deluge estimate --batch', which reads no
// credentials and so cannot ask the provider: nil for a model batch jobs
// can carry.
func batchRefusal(m registry.Model) error {
	switch m.APISpec {
	case registry.APISpecEmbeddings:
		return fmt.Errorf("model %s is an embeddings model, and batch jobs take no embeddings (Azure's batch API has none): estimate without --batch, and compute them with 'deluge embed'", m.ID)
	case registry.APISpecAnthropicMessages:
		return fmt.Errorf("model %s is a Claude model, which deluge's batch jobs do not carry: estimate without --batch, and send its prompts with 'deluge run'", m.ID)
	}
	return nil
}
