package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

const batchLong = `Run prompts through the provider's batch API (Azure OpenAI Global Batch and
Data Zone Batch deployments): half the price of 'deluge run', on the
provider's fleet, within 24 hours, against a quota of its own.

  deluge batch submit -m MODEL -i prompts.jsonl -o results.jsonl [--wait]
  deluge batch status -o results.jsonl
  deluge batch fetch  -o results.jsonl
  deluge batch cancel -o results.jsonl
  deluge batch list   [-m MODEL]

Input and results are those of 'deluge run': the same JSONL lines, so a
failed batch line can be sent again with 'deluge run' (or another batch
submit) on the same output, which skips the IDs already done.

submit writes a state file next to the output (results.jsonl.batch) before
it uploads anything; every other subcommand reads it. A submit that is
killed at any point and run again uploads no file and creates no job twice;
fetch writes each result once, however often it runs.

On Azure, the lines must name a Global Batch (or Data Zone Batch)
deployment: give it with --deployment, or AZURE_BATCH_DEPLOYMENT_<MODEL ID>.
Models served only by the Responses API go in Responses API lines
(/v1/responses), in files and jobs of their own. Embeddings models have no
batch jobs on Azure: use 'deluge embed'. See docs/batch.md.`

func newBatchCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "batch",
		Short: "Run prompts through the provider's batch API, at half price",
		Long:  batchLong,
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newBatchSubmitCmd(a), newBatchStatusCmd(a), newBatchFetchCmd(a), newBatchCancelCmd(a), newBatchListCmd(a))
	return cmd
}

// batchTracking are the flags of the subcommands that poll.
type batchTracking struct {
	poll    time.Duration
	maxPoll time.Duration
}

func (f *batchTracking) register(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.poll, "poll", batch.DefaultPollInterval, "how often to ask for the jobs' state while waiting (Microsoft recommends at least a minute)")
	cmd.Flags().DurationVar(&f.maxPoll, "max-poll", batch.DefaultMaxPollInterval, "the longest wait between two polls, as the interval grows while nothing changes")
}

func (f *batchTracking) check() error {
	if f.poll <= 0 || f.maxPoll < f.poll {
		return usageErrorf("--poll %v, --max-poll %v: need 0 < poll <= max-poll", f.poll, f.maxPoll)
	}
	return nil
}

// batchSession is the state of one batch subcommand on one output file:
// the output, opened and locked (so that no other deluge writes it
// meanwhile), the state file, and the clients.
type batchSession struct {
	a      *app
	output string
	path   string // the state file
	out    *os.File
	ix     *resumeIndex
	state  *batchFile
	llm    *llm.Client
	bc     *batch.Client
	// mu guards state: the library journals from its uploader while the
	// input is read.
	mu sync.Mutex
	// wrote counts the lines this command wrote.
	wrote int
}

// openBatchSession opens and locks the output of a batch subcommand and
// reads its state file (nil when there is none).
func openBatchSession(a *app, output string) (*batchSession, error) {
	if output == "" || output == "-" {
		return nil, usageErrorf("batch needs an output file: -o results.jsonl (its state file goes next to it)")
	}
	f, ix, err := openOutput(output)
	if err != nil {
		return nil, usageError(err)
	}
	s := &batchSession{a: a, output: output, path: statePath(output), out: f, ix: ix}
	// A process killed while saving the state leaves its temporary file;
	// the output's lock says no other one is saving now.
	if stale, _ := filepath.Glob(filepath.Join(filepath.Dir(s.path), "."+filepath.Base(s.path)+".tmp-*")); len(stale) > 0 {
		for _, p := range stale {
			os.Remove(p)
		}
	}
	if ix.repaired != "" {
		a.ui.warnf("%s: %s", output, ix.repaired)
	}
	st, err := loadBatchFile(s.path)
	if err != nil {
		f.Close()
		return nil, usageError(err)
	}
	s.state = st
	return s, nil
}

func (s *batchSession) close() {
	if s.out != nil {
		s.out.Close()
		s.out = nil
	}
}

// openSubmission is openBatchSession for a subcommand that works on a
// submission: it fails when the output has none, and builds the clients
// with opts.
func openSubmission(a *app, output string, opts ...batch.Option) (*batchSession, error) {
	s, err := openBatchSession(a, output)
	if err != nil {
		return nil, err
	}
	if err := s.requireState(); err != nil {
		s.close()
		return nil, err
	}
	if err := s.clients(opts...); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// requireState fails when the output has no submission.
func (s *batchSession) requireState() error {
	if s.state == nil {
		return usageErrorf("no batch submission for %s (no %s): submit one with 'deluge batch submit -m MODEL -i prompts.jsonl -o %s'", s.output, s.path, s.output)
	}
	return nil
}

// save writes the state file.
func (s *batchSession) save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.save(s.path)
}

// clients builds the llm and batch clients of the submission's options.
func (s *batchSession) clients(extra ...batch.Option) error {
	o := s.state.Options
	m, err := lookupModel(o.Model, o.Provider)
	if err != nil {
		return usageError(err)
	}
	if err := checkProviders([]registry.Model{m}); err != nil {
		return usageError(err)
	}
	opts := []llm.ClientOption{llm.WithLogger(s.a.ui.logger)}
	if o.MaxTokens > 0 {
		opts = append(opts, llm.WithMaxNewTokens(o.MaxTokens))
	}
	if o.Temperature != nil {
		opts = append(opts, llm.WithTemperature(*o.Temperature))
	}
	if o.JSON {
		opts = append(opts, llm.WithJSONMode())
	}
	if o.Provider != "" {
		opts = append(opts, llm.WithProvider(o.Provider))
	}
	c, err := llm.NewClient(o.Model, opts...)
	if err != nil {
		return usageError(err)
	}
	s.llm = c
	bopts := []batch.Option{
		batch.WithName(o.Deployment),
		batch.WithSpoolDir(filepath.Dir(s.output)),
		batch.WithLogger(s.a.ui.logger),
		batch.WithJournal(func(*batch.State) error { return s.save() }),
	}
	if o.FileLines > 0 {
		bopts = append(bopts, batch.WithFileLimits(o.FileLines, 0))
	}
	s.bc = batch.New(c, append(bopts, extra...)...)
	return nil
}

// batchError turns a library error into the command's: configuration
// problems exit 2, the rest 1.
func batchError(err error) error {
	switch llm.CodeOf(err) {
	case llm.CodeConfiguration, llm.CodeAuthentication, llm.CodePermissionDenied, llm.CodeNotFound:
		return usageError(err)
	}
	if errors.Is(err, batch.ErrInputChanged) {
		return usageError(err)
	}
	return &exitError{code: exitFailures, err: err}
}

// jobList names the jobs of a submission for messages.
func jobList(st *batch.State) string {
	var ids []string
	for _, p := range st.Parts {
		if p.JobID != "" {
			ids = append(ids, p.JobID)
		}
	}
	switch len(ids) {
	case 0:
		return "no job yet"
	case 1:
		return "job " + ids[0]
	case 2, 3:
		return fmt.Sprintf("jobs %s", joinComma(ids))
	}
	return fmt.Sprintf("%d jobs (%s … %s)", len(ids), ids[0], ids[len(ids)-1])
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}
