package azuretest

import (
	"strings"
	"time"
)

// Deployment SKUs of batch deployments. In the Foundry portal they appear as
// "Global-Batch" and "Data Zone Batch"; their ARM sku names are GlobalBatch
// and DataZoneBatch.
const (
	SKUGlobalBatch   = "GlobalBatch"
	SKUDataZoneBatch = "DataZoneBatch"
)

// BatchTiming paces batch jobs, in real time (not the WithClock clock, which
// only stamps the documents): a batch spends Validating in "validating",
// then PerLine per input line in "in_progress", then Finalizing in
// "finalizing". FileProcessing is how long an uploaded batch file stays
// "pending" before it is "processed". Zero durations mean no wait.
type BatchTiming struct {
	FileProcessing time.Duration
	Validating     time.Duration
	PerLine        time.Duration
	Finalizing     time.Duration
}

// DefaultBatchTiming is short enough for tests and long enough for a client
// to observe each status.
var DefaultBatchTiming = BatchTiming{Validating: 20 * time.Millisecond, Finalizing: 20 * time.Millisecond}

// DefaultBackgroundDelay is how long a background response stays "queued",
// and then "in_progress", unless WithBackgroundTiming says otherwise.
const DefaultBackgroundDelay = 20 * time.Millisecond

// Default limits of the files API (Microsoft Learn, batch how-to: "a max
// limit of 500 batch files per resource when no expiration is set ...
// increased to 10,000 files per resource" with one).
const (
	DefaultMaxFilesWithoutExpiry = 500
	DefaultMaxFilesWithExpiry    = 10000
)

type apiConfig struct {
	skus             map[string]string // deployment → batch SKU
	enqueued         map[string]int64  // deployment → enqueued-token limit
	defaultEnqueued  int64
	batchTiming      BatchTiming
	timingSet        bool
	bgQueued, bgRun  time.Duration
	bgSet            bool
	failFast         *bool
	isoTimestamps    bool
	storageDir       string
	maxFilesNoExpiry int
	maxFilesExpiry   int
	maxBatchBytes    int64 // 0: MaxBatchFileBytes (tests lower it)
	beforeLine       func(batchID string, n int)
}

func (c *apiConfig) setSKU(name, sku string) {
	if c.skus == nil {
		c.skus = make(map[string]string)
	}
	c.skus[name] = sku
}

// WithBatchDeployment adds a Global Batch deployment serving model ("" means
// DefaultModel(name)). It serves batch jobs only: a synchronous chat,
// responses or embeddings request to it gets Azure's 400 OperationNotSupported,
// and a batch file naming a deployment that is not a batch deployment fails
// validation with invalid_request.
func WithBatchDeployment(name, model string) Option {
	return func(c *config) {
		WithDeployment(name, model)(c)
		c.api.setSKU(name, SKUGlobalBatch)
	}
}

// WithDataZoneBatchDeployment adds a Data Zone Batch deployment; it behaves
// as a Global Batch one.
func WithDataZoneBatchDeployment(name, model string) Option {
	return func(c *config) {
		WithDeployment(name, model)(c)
		c.api.setSKU(name, SKUDataZoneBatch)
	}
}

// WithEnqueuedTokenLimit sets the enqueued-token quota of a batch deployment:
// the prompt tokens of its batches that have not reached a terminal state may
// not exceed it (0 is unlimited). See WithBatchFailFast for how an excess is
// reported.
func WithEnqueuedTokenLimit(deployment string, tokens int64) Option {
	return func(c *config) {
		if c.api.enqueued == nil {
			c.api.enqueued = make(map[string]int64)
		}
		c.api.enqueued[deployment] = max(tokens, 0)
	}
}

// WithDefaultEnqueuedTokenLimit sets the enqueued-token quota of the batch
// deployments without their own.
func WithDefaultEnqueuedTokenLimit(tokens int64) Option {
	return func(c *config) { c.api.defaultEnqueued = max(tokens, 0) }
}

// WithBatchTiming replaces DefaultBatchTiming.
func WithBatchTiming(t BatchTiming) Option {
	return func(c *config) { c.api.batchTiming, c.api.timingSet = t, true }
}

// WithBackgroundTiming sets how long a background response stays "queued"
// and then "in_progress" (real time).
func WithBackgroundTiming(queued, inProgress time.Duration) Option {
	return func(c *config) {
		c.api.bgQueued, c.api.bgRun, c.api.bgSet = max(queued, 0), max(inProgress, 0), true
	}
}

// WithBatchFailFast chooses how an enqueued-token excess is reported. With
// fail-fast (the behaviour of the regions Microsoft lists, East US among
// them) POST batches answers 400 token_limit_exceeded at once, and a new
// batch shows "" for its absent file ids. Without it the batch is created
// ("endpoint": null while validating, file ids null) and then fails
// validation with token_limit_exceeded in its errors. The default follows
// the region (WithRegion): fail-fast in australiaeast, eastus, eastus2,
// germanywestcentral, italynorth, northcentralus, polandcentral,
// swedencentral, switzerlandnorth and westus.
func WithBatchFailFast(failFast bool) Option {
	return func(c *config) { c.api.failFast = &failFast }
}

// WithBatchISOTimestamps renders batch timestamps as ISO-8601 strings and
// statuses capitalised ("Validating"), with null request counts until the
// batch runs, as in Microsoft's older REST example
// (aoai_batch_create_validating_iso_timestamps.doc.json), so that a client's
// tolerant parsing can be tested end to end.
func WithBatchISOTimestamps() Option {
	return func(c *config) { c.api.isoTimestamps = true }
}

// WithStorageDir stores uploaded and generated files in dir instead of a
// temporary directory of the handler's own. Close deletes the files it
// stored, not dir.
func WithStorageDir(dir string) Option {
	return func(c *config) { c.api.storageDir = dir }
}

// WithFileLimits sets how many files the resource may hold without an
// expiry and with one (DefaultMaxFilesWithoutExpiry, DefaultMaxFilesWithExpiry);
// an upload beyond gets Azure's 400 quotaExceeded.
func WithFileLimits(withoutExpiry, withExpiry int) Option {
	return func(c *config) { c.api.maxFilesNoExpiry, c.api.maxFilesExpiry = withoutExpiry, withExpiry }
}

// WithBeforeBatchLine calls f before each input line a batch runs, with the
// batch id and the line's ordinal (1 for the first request). It runs on the
// batch's goroutine and may block; a test uses it to act at a known point,
// e.g. ExpireBatch(id) when n is 3 leaves two lines run and the rest
// unrun. A stop requested from f applies to line n.
func WithBeforeBatchLine(f func(batchID string, n int)) Option {
	return func(c *config) { c.api.beforeLine = f }
}

// failFastRegions are the regions with the fail-fast enqueued-token check
// (Microsoft Learn, batch how-to, "Queueing batch jobs").
var failFastRegions = []string{
	"australiaeast", "eastus", "germanywestcentral", "italynorth", "northcentralus",
	"polandcentral", "swedencentral", "switzerlandnorth", "eastus2", "westus",
}

// isFailFastRegion matches a display name ("East US 2") or a region name.
func isFailFastRegion(region string) bool {
	r := strings.ToLower(strings.ReplaceAll(region, " ", ""))
	for _, f := range failFastRegions {
		if r == f {
			return true
		}
	}
	return false
}

// IsEmbeddingModel reports whether model is an embeddings model
// (text-embedding-*): such a deployment serves embeddings and nothing else.
func IsEmbeddingModel(model string) bool {
	return strings.HasPrefix(strings.ToLower(model), "text-embedding")
}
