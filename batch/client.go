package batch

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// Defaults of the options.
const (
	// DefaultPollInterval is how often Wait asks for the state of the
	// jobs: Microsoft recommends "waiting at least 60 seconds in between
	// each status call".
	DefaultPollInterval = time.Minute
	// DefaultMaxPollInterval caps the interval as it grows while nothing
	// changes, and after failed polls.
	DefaultMaxPollInterval = 10 * time.Minute
	// DefaultFilePollInterval is the first wait for an uploaded file to be
	// processed; it doubles up to 30 s.
	DefaultFilePollInterval = time.Second
	// DefaultMaxAttempts is how many times a request to the files or
	// batch API is tried on a transient failure (429, 5xx, network).
	DefaultMaxAttempts = 5
)

// Client runs prompts through a provider's batch API, on the models,
// conversations and options of an [llm.Client]: the requests of
// [Client.Submit] are those [llm.Client.Process] would send (see
// [llm.Client.Prepare]), serialized by the provider's own serializer.
//
// The flow is Submit (build the input files from the jobs, upload them,
// create one batch job per file), Wait or Refresh (track the jobs), then
// Results or Collect (download the output and error files and yield one
// result per input). Each step reads and updates a [State], which
// [WithJournal] persists, so that every step can run in another process
// and a killed Submit resumes without uploading or creating anything
// twice.
//
// A Client is safe for concurrent use on different States.
type Client struct {
	llm *llm.Client
	o   options

	mu       sync.Mutex
	services map[serviceKey]Service
}

type serviceKey struct{ model, name string }

// An Option configures a [Client].
type Option func(*options)

type options struct {
	name            string
	pollInterval    time.Duration
	maxPollInterval time.Duration
	filePoll        time.Duration
	maxAttempts     int
	backoff         time.Duration
	fileExpiry      time.Duration
	outputExpiry    time.Duration
	quotaWait       time.Duration
	maxLines        int
	maxBytes        int64
	spoolDir        string
	journal         func(*State) error
	logger          *slog.Logger
	err             error
}

func (o *options) fail(format string, args ...any) {
	if o.err == nil {
		o.err = fmt.Errorf("batch: "+format, args...)
	}
}

// New returns a Client for the models of c. Configuration errors (an
// invalid option) are reported by each call.
func New(c *llm.Client, opts ...Option) *Client {
	o := options{
		pollInterval:    DefaultPollInterval,
		maxPollInterval: DefaultMaxPollInterval,
		filePoll:        DefaultFilePollInterval,
		maxAttempts:     DefaultMaxAttempts,
		backoff:         time.Second,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if c == nil {
		o.fail("New(nil): need an *llm.Client")
	}
	return &Client{llm: c, o: o, services: map[serviceKey]Service{}}
}

// WithPollInterval sets how often [Client.Wait] asks for the state of the
// jobs (default [DefaultPollInterval], a minute; an emulator in a test can
// take milliseconds). The interval grows by half while nothing changes,
// and doubles after a failed poll, up to [WithMaxPollInterval].
func WithPollInterval(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			o.fail("WithPollInterval(%v): need a positive duration", d)
			return
		}
		o.pollInterval = d
	}
}

// WithMaxPollInterval caps the poll interval (default
// [DefaultMaxPollInterval]).
func WithMaxPollInterval(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			o.fail("WithMaxPollInterval(%v): need a positive duration", d)
			return
		}
		o.maxPollInterval = d
	}
}

// WithFilePollInterval sets the first wait for an uploaded file to be
// processed (default [DefaultFilePollInterval]); it doubles up to 30
// seconds or the poll interval, whichever is less.
func WithFilePollInterval(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			o.fail("WithFilePollInterval(%v): need a positive duration", d)
			return
		}
		o.filePoll = d
	}
}

// WithMaxAttempts sets how many times a request to the files or batch API
// is tried on a transient failure (default [DefaultMaxAttempts]); 1
// disables retries. base is the first backoff, doubled at each attempt
// (default a second).
func WithMaxAttempts(n int, base time.Duration) Option {
	return func(o *options) {
		if n < 1 || base <= 0 {
			o.fail("WithMaxAttempts(%d, %v): need at least 1 attempt and a positive backoff", n, base)
			return
		}
		o.maxAttempts, o.backoff = n, base
	}
}

// WithName sets the model name the input lines carry (an Azure batch
// deployment), instead of the one the provider would send.
func WithName(name string) Option {
	return func(o *options) { o.name = name }
}

// WithFileExpiry asks the provider to delete the input files d after their
// upload. Azure accepts 14 to 30 days and holds at most 500 files without
// an expiry per resource, 10,000 with one.
func WithFileExpiry(d time.Duration) Option {
	return func(o *options) {
		if d < 0 {
			o.fail("WithFileExpiry(%v): need a positive duration, or 0 for none", d)
			return
		}
		o.fileExpiry = d
	}
}

// WithOutputExpiry asks the provider to delete the output and error files
// d after the job's creation (Azure: 14 to 30 days).
func WithOutputExpiry(d time.Duration) Option {
	return func(o *options) {
		if d < 0 {
			o.fail("WithOutputExpiry(%v): need a positive duration, or 0 for none", d)
			return
		}
		o.outputExpiry = d
	}
}

// WithQuotaWait makes Submit wait, with exponential backoff from a minute,
// up to d in all for room in the enqueued-token quota when the provider
// refuses a job because the quota is full (Azure's token_limit_exceeded),
// instead of failing at once with [llm.ErrQuotaExceeded] (the default).
func WithQuotaWait(d time.Duration) Option {
	return func(o *options) {
		if d < 0 {
			o.fail("WithQuotaWait(%v): need a positive duration, or 0 to fail fast", d)
			return
		}
		o.quotaWait = d
	}
}

// WithFileLimits lowers the lines and bytes of one input file below the
// provider's limits (0 keeps the provider's), for smaller jobs that start
// and finish sooner.
func WithFileLimits(maxLines int, maxBytes int64) Option {
	return func(o *options) {
		if maxLines < 0 || maxBytes < 0 {
			o.fail("WithFileLimits(%d, %d): need positive limits, or 0 for the provider's", maxLines, maxBytes)
			return
		}
		o.maxLines, o.maxBytes = maxLines, maxBytes
	}
}

// WithSpoolDir sets where Submit builds the input files before uploading
// them (default [os.TempDir]). Each takes up to the provider's file size
// (200 MB on Azure), two at a time; they are deleted once uploaded. The
// custom_ids of each file (a few bytes per input) stay there, for
// [Client.Collect] to map results back without downloading the input
// files, until [Client.Clean]. The names start with ".deluge-batch-".
func WithSpoolDir(dir string) Option {
	return func(o *options) { o.spoolDir = dir }
}

// WithJournal calls f with the State whenever it changes, and always
// before a request that changes the provider's state (an upload, a job's
// creation) is sent: f persists it (see [State]). An error from f stops the
// call that made the change. f is called from one goroutine at a time.
func WithJournal(f func(*State) error) Option {
	return func(o *options) { o.journal = f }
}

// WithLogger sends retries, resumed steps and found orphans to l (default
// [slog.Default]).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

func (c *Client) logger() *slog.Logger {
	if c.o.logger != nil {
		return c.o.logger
	}
	return slog.Default()
}

// service returns the batch service of a model ID ("" is the client's
// primary model).
func (c *Client) service(modelID string) (Service, registry.Model, error) {
	if c.o.err != nil {
		return nil, registry.Model{}, c.o.err
	}
	p, m, err := c.llm.ModelProvider(modelID)
	if err != nil {
		return nil, registry.Model{}, err
	}
	key := serviceKey{m.ID, c.o.name}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.services[key]; ok {
		return s, m, nil
	}
	bp, ok := p.(Provider)
	if !ok {
		return nil, m, &llm.Error{Code: llm.CodeConfiguration, Provider: m.Provider, Model: m.ID, Err: ErrNoBatchAPI,
			Message: fmt.Sprintf("provider %q has no batch API (it does not implement batch.Provider): send model %s's prompts with llm.Client.Process (deluge run) instead", cmp.Or(m.Provider, "?"), m.ID)}
	}
	s, err := bp.BatchService(m, c.o.name)
	if err != nil {
		return nil, m, err
	}
	c.services[key] = s
	return s, m, nil
}

// Check reports, without network I/O, whether the client can run batch
// jobs for a model (a model ID; "" is the client's primary model): nil,
// or the error [Client.Submit] would stop with before sending anything —
// a provider without a batch API ([ErrNoBatchAPI]), a model or
// configuration its batch API cannot serve (an embeddings model: Azure's
// batch jobs take none; a Claude deployment; an endpoint with regions),
// an invalid option. Per-request problems (a Responses API request on an
// api-version that predates it) show when Submit builds the lines.
func (c *Client) Check(model string) error {
	_, _, err := c.service(model)
	return err
}

// limits returns the file limits for s: the provider's, lowered by
// WithFileLimits.
func (c *Client) limits(s Service) Limits {
	l := s.Limits()
	if c.o.maxLines > 0 && (l.MaxLines <= 0 || c.o.maxLines < l.MaxLines) {
		l.MaxLines = c.o.maxLines
	}
	if c.o.maxBytes > 0 && (l.MaxBytes <= 0 || c.o.maxBytes < l.MaxBytes) {
		l.MaxBytes = c.o.maxBytes
	}
	if l.MaxResultLineBytes <= 0 {
		l.MaxResultLineBytes = 64 << 20
	}
	return l
}

func (c *Client) spoolDir() string {
	if c.o.spoolDir != "" {
		return c.o.spoolDir
	}
	return os.TempDir()
}

// idsPath is the file holding the custom_ids of part n of st, in order:
// Collect maps results back with it, without downloading the input file.
// Submit writes it in the spool directory; Clean removes it.
func (c *Client) idsPath(st *State, n int) string {
	return filepath.Join(c.spoolDir(), fmt.Sprintf(".deluge-batch-%s-%d.ids", st.ID, n))
}

// Clean removes the files a submission keeps on disk (in the spool
// directory, [WithSpoolDir]) to map results back to their inputs: the
// custom_ids of each input file, some bytes per input. Call it once every
// result was collected; Collect then downloads each input file from the
// provider instead. Files on the provider are left alone.
func (c *Client) Clean(st *State) error {
	var first error
	for _, p := range st.Parts {
		if err := os.Remove(c.idsPath(st, p.N)); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = err
		}
	}
	return first
}

// errStateVersion is returned for a State written by a newer version.
var errStateVersion = errors.New("batch: the state was written by a newer version of deluge")

func checkState(st *State) error {
	switch {
	case st == nil:
		return errors.New("batch: nil State: start a submission with NewState")
	case st.Version > StateVersion:
		return fmt.Errorf("%w (state version %d, this one reads up to %d)", errStateVersion, st.Version, StateVersion)
	case st.ID == "":
		return errors.New("batch: the State has no ID: start a submission with NewState")
	}
	return nil
}
