package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/deluge-go/deluge/batch"
	"github.com/deluge-go/deluge/llm"
)

type batchSubmitFlags struct {
	model, input, output       string
	provider, deployment       string
	system                     string
	maxTokens                  int
	temperature                float64
	jsonMode                   bool
	fileLines                  int
	expiresAfter, outputExpiry time.Duration
	quotaWait                  time.Duration
	wait                       bool
	tracking                   batchTracking
}

const batchSubmitExample = `  export AZURE_OPENAI_ENDPOINT=https://my-resource.openai.azure.com AZURE_OPENAI_API_KEY=...
  deluge batch submit -m azure-gpt-4o-mini --deployment gpt-4o-mini-batch -i prompts.jsonl -o results.jsonl
  deluge batch submit -m azure-gpt-4o -i prompts.jsonl -o results.jsonl --max-tokens 300 --wait
  deluge batch submit -m azure-gpt-4o -i prompts.jsonl -o results.jsonl --expires-after 336h --quota-wait 6h`

func newBatchSubmitCmd(a *app) *cobra.Command {
	var f batchSubmitFlags
	cmd := &cobra.Command{
		Use:   "submit -m MODEL -i prompts.jsonl -o results.jsonl [--wait]",
		Short: "Upload prompts as batch jobs (resumable; --wait to wait and fetch)",
		Long: `Build the batch input files from a JSONL file of prompts (the input of
'deluge run'), upload them and create one batch job per file. Files are split
at the provider's limits (Azure: 100,000 lines, 200 MB) and per model.

IDs already done in the output file are left out. The state file
(results.jsonl.batch) is written before anything is uploaded: if submit
stops (Ctrl-C, a kill, a full quota), run the same command again; it uploads
and creates only what is missing, with the options of the first run.

With --wait it then polls the jobs (every --poll, a minute by default),
showing their progress, and fetches the results when they end.`,
		Example: batchSubmitExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBatchSubmit(cmd.Context(), a, cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.model, "model", "m", "", "model ID (see 'deluge models'); input lines may override it with \"model\"")
	fl.StringVarP(&f.input, "input", "i", "", "input JSONL file (a file: a resumed submission reads it again)")
	fl.StringVarP(&f.output, "output", "o", "", "output JSONL file; the state file goes next to it")
	fl.StringVar(&f.provider, "provider", "", "serve the model through another provider (same base model)")
	fl.StringVar(&f.deployment, "deployment", "", "the batch deployment the lines name (Azure: a Global Batch deployment); default AZURE_BATCH_DEPLOYMENT_<MODEL ID>, else the model's deployment")
	fl.IntVar(&f.maxTokens, "max-tokens", 0, "maximum completion tokens per prompt")
	fl.Float64Var(&f.temperature, "temperature", 0, "sampling temperature, 0 to 2")
	fl.BoolVar(&f.jsonMode, "json", false, "ask the model for a JSON object (JSON mode)")
	fl.StringVar(&f.system, "system", "", "system message prepended to every prompt that has none")
	fl.IntVar(&f.fileLines, "file-lines", 0, "at most this many prompts per input file (default: the provider's limit)")
	fl.DurationVar(&f.expiresAfter, "expires-after", 0, "delete the input files this long after upload (Azure: 336h to 720h; raises the file limit from 500 to 10,000)")
	fl.DurationVar(&f.outputExpiry, "output-expires-after", 0, "delete the output files this long after the job's creation (Azure: 336h to 720h)")
	fl.DurationVar(&f.quotaWait, "quota-wait", 0, "when the enqueued-token quota is full, wait up to this long for room instead of stopping")
	fl.BoolVar(&f.wait, "wait", false, "wait for the jobs, showing progress, then fetch the results")
	f.tracking.register(cmd)
	return cmd
}

// options are the request-shaping options the flags ask for.
func (f *batchSubmitFlags) options(cmd *cobra.Command) (batchOptions, error) {
	o := batchOptions{Model: f.model, Provider: f.provider, Deployment: f.deployment, JSON: f.jsonMode, System: f.system, FileLines: f.fileLines}
	set := cmd.Flags().Changed
	if set("max-tokens") {
		if f.maxTokens < 1 {
			return o, usageErrorf("--max-tokens %d: must be at least 1", f.maxTokens)
		}
		o.MaxTokens = f.maxTokens
	}
	if set("temperature") {
		if f.temperature < 0 || f.temperature > 2 || math.IsNaN(f.temperature) {
			return o, usageErrorf("--temperature %v: must be from 0 to 2", f.temperature)
		}
		t := f.temperature
		o.Temperature = &t
	}
	if f.fileLines < 0 {
		return o, usageErrorf("--file-lines %d: must be positive", f.fileLines)
	}
	return o, nil
}

// sameOptions reports the first option given explicitly that differs from
// the submission's.
func (f *batchSubmitFlags) conflict(cmd *cobra.Command, got, want batchOptions) string {
	set := cmd.Flags().Changed
	switch {
	case set("model") && got.Model != want.Model:
		return fmt.Sprintf("-m %s (the submission's model is %s)", got.Model, want.Model)
	case set("provider") && got.Provider != want.Provider:
		return "--provider"
	case set("deployment") && got.Deployment != want.Deployment:
		return fmt.Sprintf("--deployment %s (the submission's is %q)", got.Deployment, want.Deployment)
	case set("max-tokens") && got.MaxTokens != want.MaxTokens:
		return "--max-tokens"
	case set("temperature") && (want.Temperature == nil || *got.Temperature != *want.Temperature):
		return "--temperature"
	case set("json") && got.JSON != want.JSON:
		return "--json"
	case set("system") && got.System != want.System:
		return "--system"
	case set("file-lines") && got.FileLines != want.FileLines:
		return "--file-lines"
	}
	return ""
}

func runBatchSubmit(ctx context.Context, a *app, cmd *cobra.Command, f *batchSubmitFlags) error {
	if err := f.tracking.check(); err != nil {
		return err
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"expires-after", f.expiresAfter}, {"output-expires-after", f.outputExpiry}, {"quota-wait", f.quotaWait}} {
		if d.v < 0 {
			return usageErrorf("--%s %v: must be positive", d.name, d.v)
		}
	}
	opts, err := f.options(cmd)
	if err != nil {
		return err
	}
	extra := []batch.Option{batch.WithFileExpiry(f.expiresAfter), batch.WithOutputExpiry(f.outputExpiry), batch.WithQuotaWait(f.quotaWait),
		batch.WithPollInterval(f.tracking.poll), batch.WithMaxPollInterval(f.tracking.maxPoll)}
	s, err := openBatchSession(a, f.output)
	if err != nil {
		return err
	}
	defer s.close()
	u := a.ui

	switch st := s.state; {
	case st == nil || st.allFetched() || nothingSent(st.Submission):
		if opts.Model == "" {
			return usageErrorf("batch submit needs a model: -m MODEL (see 'deluge models')")
		}
		if f.input == "" || f.input == "-" {
			return usageErrorf("batch submit needs an input file: -i prompts.jsonl (a resumed submission reads it again, so not stdin)")
		}
		if err := checkNotSameFile(f.input, f.output); err != nil {
			return usageError(err)
		}
		abs, err := filepath.Abs(f.input)
		if err != nil {
			return usageError(err)
		}
		if _, err := os.Stat(abs); err != nil {
			return usageErrorf("cannot read input %s: %v", f.input, unwrapPathError(err))
		}
		if st != nil && !nothingSent(st.Submission) {
			u.infof("the previous submission's results are all in %s: starting a new one", f.output)
		}
		s.state = &batchFile{Version: batchStateVersion, Input: abs, Options: opts, OutputOffset: s.ix.size, Submission: batch.NewState()}
		// A model or configuration the batch API cannot take (an
		// embeddings model, a provider without batch jobs) is refused
		// before anything is written.
		if err := s.clients(extra...); err != nil {
			return err
		}
		if err := s.bc.Check(""); err != nil {
			return batchError(err)
		}
		if len(s.ix.done) > 0 {
			u.infof("%s IDs already done in %s will be left out", groupDigits(len(s.ix.done)), f.output)
		}
		// On record before anything is uploaded.
		if err := s.save(); err != nil {
			return usageError(err)
		}
	case !st.Submission.Submitted():
		if c := f.conflict(cmd, opts, st.Options); c != "" {
			return usageErrorf("%s has a submission in progress (%s) with other options: %s differs; rerun without it to resume, or remove %s to start over",
				f.output, s.path, c, s.path)
		}
		if f.input != "" {
			if abs, err := filepath.Abs(f.input); err == nil && abs != st.Input {
				return usageErrorf("%s has a submission in progress for input %s, not %s: rerun with -i %s to resume it", f.output, st.Input, f.input, st.Input)
			}
		}
		u.infof("resuming the submission in %s (%d of its files uploaded)", s.path, countUploaded(st.Submission))
	default:
		u.infof("already submitted: %s, state in %s", jobList(st.Submission), s.path)
		if !f.wait {
			u.infof("check it with 'deluge batch status -o %s', fetch with 'deluge batch fetch -o %s'", f.output, f.output)
			return nil
		}
	}

	if s.bc == nil {
		if err := s.clients(extra...); err != nil {
			return err
		}
	}
	in := watchInterrupts(ctx, a.env, 0, func(n int, sig os.Signal) {
		u.warnf("%v: stopping; rerun the same command to go on (nothing is uploaded or created twice)", sig)
	})
	defer in.stop()

	if !s.state.Submission.Submitted() {
		if err := s.submit(in.dispatch); err != nil {
			if in.interrupted() {
				return silentExit(exitInterrupted)
			}
			return err
		}
	}
	if !f.wait {
		return nil
	}
	if err := s.wait(in.dispatch, f.tracking); err != nil {
		if in.interrupted() {
			u.warnf("stopped waiting: the jobs keep running; fetch their results with 'deluge batch fetch -o %s'", f.output)
			return silentExit(exitInterrupted)
		}
		return err
	}
	return s.fetchAndReport(in.dispatch)
}

// nothingSent reports whether a submission sent nothing that could be on
// the provider: a new submission may replace it.
func nothingSent(st *batch.State) bool {
	for _, p := range st.Parts {
		if p.Stage != batch.StageBuilt {
			return false
		}
	}
	return true
}

func countUploaded(st *batch.State) int {
	n := 0
	for _, p := range st.Parts {
		if p.FileID != "" {
			n++
		}
	}
	return n
}

// submit runs (or resumes) the submission.
func (s *batchSession) submit(ctx context.Context) error {
	u := s.a.ui
	b := s.state
	var (
		in      io.Reader
		readErr error
		cancel  context.CancelCauseFunc
	)
	ctx, cancel = context.WithCancelCause(ctx)
	defer cancel(nil)
	needInput := !b.Submission.Complete || !b.LinesComplete || !allUploaded(b.Submission)
	var jobs iter.Seq2[string, llm.Job]
	if needInput {
		f, err := os.Open(b.Input)
		if err != nil {
			return usageErrorf("cannot read input %s: %v (the submission needs it to go on)", b.Input, unwrapPathError(err))
		}
		defer f.Close()
		in = f
		done := s.ix
		if b.OutputOffset != s.ix.size {
			if done, err = indexUpTo(s.out, b.OutputOffset); err != nil {
				return usageErrorf("reading %s: %v", s.output, err)
			}
		}
		jobs = s.jobs(in, done, func(err error) { readErr = err; cancel(err) })
		if b.Submission.Complete && allUploaded(b.Submission) {
			// The library will not read the input again, but the lines
			// of the prompts were not all recorded: read it for them.
			for range jobs {
			}
			jobs = nil
		}
	}
	start := time.Now()
	err := s.bc.Submit(ctx, b.Submission, jobs)
	if serr := s.save(); err == nil && serr != nil {
		err = serr
	}
	if readErr != nil {
		return usageErrorf("reading %s: %v; rerun to go on", b.Input, readErr)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return batchError(fmt.Errorf("%w\nThe submission's state is in %s: rerun the same command to go on", err, s.path))
	}
	st := b.Submission
	lines := st.Lines()
	u.infof("submitted %s prompts in %d files in %s: %s", groupDigits(lines), len(st.Parts), time.Since(start).Round(time.Millisecond), jobList(st))
	// The inputs the library refused (an option the API does not take, a
	// request too large for a file): the malformed lines were warned
	// about as they were read.
	const maxShown = 10
	for i, rj := range st.Rejected {
		if i == maxShown {
			u.warnf("… and %s more", groupDigits(len(st.Rejected)-maxShown))
			break
		}
		u.warnf("line %d: %s", b.Lines.line(rj.Index), rj.Message)
	}
	if n := len(b.Malformed) + len(st.Rejected); n > 0 {
		u.warnf("%s input lines were not submitted (see above); fetch writes them as errors", groupDigits(n))
	}
	u.infof("state in %s; check with 'deluge batch status -o %s', fetch with 'deluge batch fetch -o %s'", s.path, s.output, s.output)
	return nil
}

func allUploaded(st *batch.State) bool {
	for _, p := range st.Parts {
		if p.FileID == "" {
			return false
		}
	}
	return true
}

// jobs reads the input as 'deluge run' does: IDs done before the
// submission started are left out, malformed lines and lines with an
// unknown model are recorded (and warned about), repeated IDs skipped.
// It records the input line of every prompt it yields. A read error
// calls fail and ends the sequence.
func (s *batchSession) jobs(in io.Reader, done *resumeIndex, fail func(error)) iter.Seq2[string, llm.Job] {
	u := s.a.ui
	b := s.state
	return func(yield func(string, llm.Job) bool) {
		s.mu.Lock()
		b.Lines, b.LinesComplete, b.Malformed, b.Duplicates = nil, false, nil, 0
		s.mu.Unlock()
		src := newPromptSource(in, b.Options.System, done)
		src.hashIDs() // memory: a submission may hold millions of prompts
		models := map[string]error{}
		for k := 0; ; {
			p, disp, first, err := src.Next()
			if errors.Is(err, io.EOF) {
				s.mu.Lock()
				b.LinesComplete = true
				s.mu.Unlock()
				return
			}
			if err != nil {
				fail(err)
				return
			}
			switch disp {
			case dispDone:
				continue
			case dispDuplicate:
				u.warnf("line %d: id %q already appeared on line %d: skipped", p.Line, p.ID, first)
				s.mu.Lock()
				b.Duplicates++
				s.mu.Unlock()
				continue
			case dispMalformed:
				u.warnf("line %d: %v", p.Line, p.Err)
				s.malformed(p.Line, p.ID, "", fmt.Sprintf("line %d: %v", p.Line, p.Err))
				continue
			}
			if p.Model != "" {
				merr, seen := models[p.Model]
				if !seen {
					_, merr = lookupModel(p.Model, b.Options.Provider)
					models[p.Model] = merr
				}
				if merr != nil {
					u.warnf("line %d: %v", p.Line, merr)
					s.malformed(p.Line, p.ID, p.Model, fmt.Sprintf("line %d: %v", p.Line, merr))
					continue
				}
			}
			job := llm.Job{Conversation: p.Conv, Model: p.Model}
			if p.MaxTokens > 0 {
				job.Options = append(job.Options, llm.WithMaxNewTokens(p.MaxTokens))
			}
			if p.Temperature != nil {
				job.Options = append(job.Options, llm.WithTemperature(*p.Temperature))
			}
			s.mu.Lock()
			b.Lines.add(k, p.Line)
			s.mu.Unlock()
			k++
			if !yield(p.ID, job) {
				return
			}
		}
	}
}

func (s *batchSession) malformed(line int, id, model, msg string) {
	s.mu.Lock()
	s.state.Malformed = append(s.state.Malformed, malformedLine{Line: line, ID: id, Model: model, Message: msg})
	s.mu.Unlock()
}
